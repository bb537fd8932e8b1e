"""ConsentService over real gRPC: proof and history, opt-out precedence,
validation, races on one number, audit paging and subject export."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, verify_pb2
from sidecar.api.convert import MAX_PROOF_FIELD
from sidecar.testing import Embedded, inbound_text, signature

pytestmark = pytest.mark.integration

NUMBER = "+14155552671"
WA_ID = "14155552671"
OTHER = "+442079460123"
MARKETING = common_pb2.CATEGORY_MARKETING
UTILITY = common_pb2.CATEGORY_UTILITY
GRANTED = consent_pb2.CONSENT_STATUS_GRANTED
REVOKED = consent_pb2.CONSENT_STATUS_REVOKED
UNKNOWN = consent_pb2.CONSENT_STATUS_UNKNOWN
GRANT = consent_pb2.CONSENT_ACTION_GRANT
REVOKE = consent_pb2.CONSENT_ACTION_REVOKE


def grant_request(number: str = NUMBER, *cats: int, **proof: object) -> consent_pb2.GrantRequest:
    fields: dict[str, object] = {
        "source": "web-form",
        "notice_version": "v3",
        "jurisdiction": consent_pb2.JURISDICTION_GDPR,
        "evidence": "form-123",
    }
    fields.update(proof)
    return consent_pb2.GrantRequest(
        phone_number=number,
        categories=list(cats or (MARKETING,)),
        **fields,  # type: ignore[arg-type]
    )


def revoke_request(number: str = NUMBER, *cats: int, **kw: object) -> consent_pb2.RevokeRequest:
    fields: dict[str, object] = {"source": "crm", "reason": "asked by phone"}
    fields.update(kw)
    return consent_pb2.RevokeRequest(
        phone_number=number,
        categories=list(cats),
        **fields,  # type: ignore[arg-type]
    )


def status_of(state: consent_pb2.ConsentState, category: int) -> consent_pb2.CategoryConsent:
    [found] = [c for c in state.categories if c.category == category]
    return found


def marketing_check(number: str = NUMBER) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=number,
        category=MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


async def all_audit(sidecar: Embedded, page_size: int, number: str = "") -> list[list[int]]:
    """Seqs of every ListAudit page, following next_page_token to the end."""
    pages: list[list[int]] = []
    token = ""
    while True:
        reply = await sidecar.consent.ListAudit(
            consent_pb2.ListAuditRequest(page_size=page_size, page_token=token, phone_number=number)
        )
        pages.append([e.seq for e in reply.entries])
        if not reply.next_page_token:
            return pages
        token = reply.next_page_token


# --------------------------------------------------------------------------- grant, revoke, get


async def test_grant_records_proof_and_get_returns_it(sidecar: Embedded) -> None:
    before = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    assert status_of(before, MARKETING).status == UNKNOWN
    assert not before.history

    state = await sidecar.consent.Grant(grant_request(NUMBER, MARKETING, UTILITY))
    got = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number="+1 415-555-2671"))
    assert got == state
    assert got.subject_index and WA_ID not in got.subject_index
    for category in (MARKETING, UTILITY):
        item = status_of(got, category)
        assert item.status == GRANTED
        p = item.proof
        assert (p.source, p.notice_version, p.jurisdiction, p.evidence, p.actor) == (
            "web-form",
            "v3",
            consent_pb2.JURISDICTION_GDPR,
            "form-123",
            "local",
        )
        assert p.recorded_at.seconds > 0
    assert status_of(got, common_pb2.CATEGORY_AUTHENTICATION).status == UNKNOWN
    assert sorted((e.category, e.action) for e in got.history) == [
        (MARKETING, GRANT),
        (UTILITY, GRANT),
    ]
    assert len({e.id for e in got.history}) == 2
    assert (await sidecar.send.Check(marketing_check())).allowed


async def test_opt_out_wins_over_an_older_opt_in_and_history_keeps_both(
    sidecar: Embedded,
) -> None:
    await sidecar.consent.Grant(grant_request(NUMBER, MARKETING, UTILITY))
    state = await sidecar.consent.Revoke(revoke_request(NUMBER, MARKETING))
    assert status_of(state, MARKETING).status == REVOKED
    assert status_of(state, MARKETING).proof.reason == "asked by phone"
    assert status_of(state, UTILITY).status == GRANTED  # only the named category
    assert state.suppressed
    actions = [(e.category, e.action) for e in state.history if e.category == MARKETING]
    assert actions == [(MARKETING, GRANT), (MARKETING, REVOKE)]
    [old_grant] = [e for e in state.history if e.action == GRANT and e.category == MARKETING]
    assert old_grant.proof.evidence == "form-123"  # the earlier proof is not rewritten
    decision = await sidecar.send.Check(marketing_check())
    assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)


async def test_revoke_without_categories_opts_out_of_everything(sidecar: Embedded) -> None:
    await sidecar.consent.Grant(grant_request(NUMBER, MARKETING, UTILITY))
    state = await sidecar.consent.Revoke(revoke_request(NUMBER))
    assert {c.status for c in state.categories} == {REVOKED}


async def test_a_grant_after_an_opt_out_needs_and_records_new_proof(sidecar: Embedded) -> None:
    await sidecar.consent.Grant(grant_request(NUMBER))
    await sidecar.consent.Revoke(revoke_request(NUMBER, MARKETING))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.Grant(grant_request(NUMBER, source=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "source" in (err.value.details() or "")
    still = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    assert status_of(still, MARKETING).status == REVOKED

    again = await sidecar.consent.Grant(
        grant_request(NUMBER, source="double-opt-in", notice_version="v4", evidence="sms-reply-7")
    )
    item = status_of(again, MARKETING)
    assert item.status == GRANTED
    assert (item.proof.source, item.proof.notice_version, item.proof.evidence) == (
        "double-opt-in",
        "v4",
        "sms-reply-7",
    )
    assert [e.action for e in again.history] == [GRANT, REVOKE, GRANT]
    assert [e.proof.source for e in again.history] == ["web-form", "crm", "double-opt-in"]
    assert not again.suppressed
    assert (await sidecar.send.Check(marketing_check())).allowed


# --------------------------------------------------------------------------- validation

BIG = "x" * (1024 * 1024)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (grant_request(WA_ID), "phone_number"),
        (grant_request("+1650"), "phone_number"),
        (grant_request("+999123456789"), "phone_number"),
        (grant_request("call me"), "phone_number"),
        (grant_request(""), "phone_number"),
        (consent_pb2.GrantRequest(phone_number=NUMBER, source="web"), "categories"),
        (grant_request(NUMBER, 99), "categories"),
        (grant_request(NUMBER, common_pb2.CATEGORY_UNSPECIFIED), "categories"),
        (grant_request(source=""), "source"),
        (grant_request(source="   "), "source"),
        (grant_request(source="s" * 257), "source"),
        (grant_request(evidence=BIG), "evidence"),
        (grant_request(evidence="e" * (MAX_PROOF_FIELD + 1)), "evidence"),
        (grant_request(notice_version="v" * 257), "notice_version"),
        (revoke_request(source=""), "source"),
        (revoke_request(NUMBER, 42), "categories"),
        (revoke_request(reason=BIG), "reason"),
        (revoke_request("+1 (650) 555"), "phone_number"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
async def test_bad_input_is_invalid_argument_naming_the_field_and_records_nothing(
    sidecar: Embedded, request_: consent_pb2.GrantRequest | consent_pb2.RevokeRequest, field: str
) -> None:
    call = (
        sidecar.consent.Grant
        if isinstance(request_, consent_pb2.GrantRequest)
        else sidecar.consent.Revoke
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request_)  # type: ignore[operator]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    assert details.startswith(f"{field}:"), details
    assert BIG not in details and WA_ID not in details
    state = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    assert not state.history
    assert (await sidecar.consent.ListAudit(consent_pb2.ListAuditRequest())).entries == []


async def test_evidence_up_to_the_limit_is_kept_whole(sidecar: Embedded) -> None:
    evidence = "e" * MAX_PROOF_FIELD
    state = await sidecar.consent.Grant(grant_request(evidence=evidence))
    assert status_of(state, MARKETING).proof.evidence == evidence


async def test_get_rejects_a_malformed_number(sidecar: Embedded) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.Get(consent_pb2.GetRequest(phone_number="+1"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith("phone_number:")


# --------------------------------------------------------------------------- races


async def test_concurrent_grants_and_revokes_never_lose_an_opt_out(sidecar: Embedded) -> None:
    rounds = 40

    async def change(i: int) -> None:
        if i % 2:
            await sidecar.consent.Revoke(revoke_request(NUMBER, MARKETING, source=f"r{i}"))
        else:
            await sidecar.consent.Grant(grant_request(NUMBER, MARKETING, source=f"g{i}"))

    await asyncio.gather(*(change(i) for i in range(rounds)))
    state = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    history = [e for e in state.history if e.category == MARKETING]
    assert sorted(e.proof.source for e in history) == sorted(
        f"{'r' if i % 2 else 'g'}{i}" for i in range(rounds)
    )

    def rank(e: consent_pb2.ConsentEvent) -> tuple[int, bool]:
        return e.proof.recorded_at.ToNanoseconds(), e.action == REVOKE

    newest = max(history, key=rank)
    expected = REVOKED if newest.action == REVOKE else GRANTED
    assert status_of(state, MARKETING).status == expected
    assert state.suppressed == (newest.action == REVOKE)

    # A revoke racing a burst of grants, acknowledged after all of them: it is
    # the newest event, so it must be the state.
    await asyncio.gather(*(change(2 * i) for i in range(10)))
    await sidecar.consent.Revoke(revoke_request(NUMBER, MARKETING, source="final"))
    final = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    assert status_of(final, MARKETING).status == REVOKED
    assert status_of(final, MARKETING).proof.source == "final"
    decision = await sidecar.send.Check(marketing_check())
    assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)


async def test_revokes_racing_grants_on_many_numbers_each_end_revoked(sidecar: Embedded) -> None:
    numbers = [f"+1650555{i:04d}" for i in range(1, 9)]
    await asyncio.gather(*(sidecar.consent.Grant(grant_request(n)) for n in numbers))
    await asyncio.gather(
        *(sidecar.consent.Revoke(revoke_request(n, MARKETING)) for n in numbers),
        *(sidecar.send.Check(marketing_check(n)) for n in numbers),
    )
    for n in numbers:
        decision = await sidecar.send.Check(marketing_check(n))
        assert decision.reason == common_pb2.REASON_OPTED_OUT, n


# --------------------------------------------------------------------------- audit


async def test_list_audit_pages_through_every_entry_once(sidecar: Embedded) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(1, 8)]
    for n in numbers:
        await sidecar.consent.Grant(grant_request(n))
    await sidecar.consent.Revoke(revoke_request(numbers[0], MARKETING))
    pages = await all_audit(sidecar, page_size=3)
    assert all(len(p) <= 3 for p in pages)
    assert [s for p in pages for s in p] == list(range(1, 9))
    everything = await sidecar.consent.ListAudit(consent_pb2.ListAuditRequest(page_size=100))
    assert [e.action for e in everything.entries] == ["consent.grant"] * 7 + ["consent.revoke"]
    assert not everything.next_page_token
    chain = [(e.prev_hash, e.hash) for e in everything.entries]
    assert all(prev == chain[i - 1][1] for i, (prev, _) in enumerate(chain) if i)

    mine = await all_audit(sidecar, page_size=1, number=numbers[0])
    assert [s for p in mine for s in p] == [1, 8]
    verdict = await sidecar.consent.VerifyAudit(consent_pb2.VerifyAuditRequest())
    assert (verdict.ok, verdict.entries_checked) == (True, 8)
    assert verdict.head_hash == everything.entries[-1].hash


@pytest.mark.parametrize("token", ["abc", "-1", "9" * 30])
async def test_a_page_token_we_did_not_issue_is_invalid(sidecar: Embedded, token: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.ListAudit(consent_pb2.ListAuditRequest(page_token=token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith("page_token:")


# --------------------------------------------------------------------------- export


async def test_export_holds_history_windows_messages_and_audit_by_blind_index(
    sidecar: Embedded,
) -> None:
    await sidecar.consent.Grant(grant_request(NUMBER, MARKETING, UTILITY))
    await sidecar.consent.Grant(grant_request(OTHER))  # someone else: must not appear
    body = inbound_text(WA_ID, "hello")
    applied = await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert applied.valid
    sent = await sidecar.send.Send(
        send_pb2.SendRequest(
            idempotency_key="export-1",
            to=NUMBER,
            category=MARKETING,
            template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
        )
    )
    assert sent.outcome == send_pb2.OUTCOME_SENT
    await sidecar.consent.Revoke(revoke_request(NUMBER, MARKETING))

    export = await sidecar.consent.ExportSubject(
        consent_pb2.ExportSubjectRequest(phone_number=NUMBER)
    )
    own_index = export.subject_index
    assert own_index == export.consent.subject_index
    assert export.suppressed
    assert [(e.category, e.action) for e in export.consent.history] == [
        (MARKETING, GRANT),
        (UTILITY, GRANT),
        (MARKETING, REVOKE),
    ]
    assert list(export.last_inbound) == [sidecar.settings.phone_number_id]
    assert export.last_inbound[sidecar.settings.phone_number_id].seconds > 0
    [message] = export.messages
    assert (message.idempotency_key, message.message_id, message.category) == (
        "export-1",
        sent.message_id,
        MARKETING,
    )
    assert message.outcome == "sent"
    assert [a.action for a in export.audit] == ["consent.grant", "consent.revoke"]
    for entry in export.audit:
        assert entry.subject_index == own_index
        assert WA_ID not in entry.detail_json + entry.actor + entry.subject_index

    document = json.loads(export.export_json)
    assert document["subject_index"] == own_index
    assert [h["action"] for h in document["history"]] == ["grant", "grant", "revoke"]
    assert document["history"][0]["evidence"] == "form-123"
    assert [m["idempotency_key"] for m in document["messages"]] == ["export-1"]
    assert document["suppressed"] == ["marketing"]
    assert WA_ID not in export.export_json

    # The export itself is audited, under the blind index only.
    again = await sidecar.consent.ExportSubject(
        consent_pb2.ExportSubjectRequest(phone_number=NUMBER)
    )
    assert [a.action for a in again.audit][-1] == "subject.export"
    assert again.audit[-1].subject_index == own_index


async def test_export_of_an_unknown_number_is_empty(sidecar: Embedded) -> None:
    export = await sidecar.consent.ExportSubject(
        consent_pb2.ExportSubjectRequest(phone_number=OTHER)
    )
    assert not export.consent.history
    assert not export.messages and not export.last_inbound and not export.audit
    assert not export.suppressed
