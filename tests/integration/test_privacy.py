"""Privacy at rest and through the data-subject rights: no phone number in
the database files, export after erasure, erasure of an unknown subject, and
an acknowledged revoke surviving kill -9."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.testing import (
    Embedded,
    SidecarProcess,
    inbound_text,
    signature,
    start_embedded,
    webhook_body,
)

pytestmark = pytest.mark.integration

MARKETING = common_pb2.CATEGORY_MARKETING
US = "+14155552671"
UK = "+442079460123"
DE = "+4915123456789"
IN = "+919876543210"


def forms(e164: str) -> list[bytes]:
    """How a number could appear: E.164, bare digits (also the wa_id form of
    these numbers), and digits without the country code's leading part."""
    digits = e164.lstrip("+")
    return [e164.encode(), digits.encode(), digits[1:].encode(), digits[-10:].encode()]


def template(to: str, key: str = "", category: int = MARKETING) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=category,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


def grant(number: str, *cats: int) -> consent_pb2.GrantRequest:
    return consent_pb2.GrantRequest(
        phone_number=number,
        categories=list(cats or (MARKETING,)),
        source="web-form",
        notice_version="v1",
        evidence=f"checkbox ticked on signup ({number[:3]})",
    )


def webhook(body: bytes) -> verify_pb2.WebhookRequest:
    return verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")


def found_in_files(db: Path, numbers: list[str]) -> list[str]:
    """``"<file>: <form>"`` for every form of every number in the SQLite files."""
    hits = []
    for path in sorted(db.parent.glob(db.name + "*")):
        if path.suffix == ".key":
            continue
        raw = path.read_bytes()
        for number in numbers:
            hits += [f"{path.name}: {form.decode()}" for form in forms(number) if form in raw]
    return hits


async def real_traffic(sidecar: Embedded, simulator: SimulatorHandle) -> None:
    """Grants, sends, inbound messages, statuses, a STOP and a dead letter."""
    for number in (US, UK, DE):
        await sidecar.consent.Grant(grant(number, MARKETING, common_pb2.CATEGORY_UTILITY))
    await sidecar.consent.Revoke(
        consent_pb2.RevokeRequest(
            phone_number=DE, categories=[common_pb2.CATEGORY_UTILITY], source="crm"
        )
    )
    for number in (US, UK, DE):
        result = await sidecar.verify.VerifyWebhook(webhook(inbound_text(number[1:], "hi there")))
        assert result.valid and result.events
    sent = await sidecar.send.Send(template(US, "p-1"))
    assert sent.outcome == send_pb2.OUTCOME_SENT
    free = send_pb2.SendRequest(
        idempotency_key="p-2",
        to=UK,
        category=common_pb2.CATEGORY_SERVICE,
        text=send_pb2.TextBody(body="your order shipped"),
    )
    assert (await sidecar.send.Send(free)).outcome == send_pb2.OUTCOME_SENT
    for status in ("sent", "delivered", "read"):
        body = webhook_body(
            status_item(
                sent.message_id, status, US[1:], int(time.time()), biz_opaque_callback_data="p-1"
            ),
            kind="statuses",
        )
        assert (await sidecar.verify.VerifyWebhook(webhook(body))).valid
    simulator.state.add_fault(FaultRule(code=131016, count=4))
    dead = await sidecar.send.Send(template(DE, "p-3"))
    assert dead.outcome == send_pb2.OUTCOME_DEAD_LETTERED
    stop = await sidecar.verify.VerifyWebhook(webhook(inbound_text(US[1:], "STOP")))
    assert stop.events[0].message.opt_out
    assert (await sidecar.send.Check(template(US))).reason == common_pb2.REASON_OPTED_OUT


async def test_no_phone_number_in_the_database_or_its_wal(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    sidecar, stop, task = await start_embedded(tmp_path, simulator.url)
    db = Path(sidecar.settings.state_url.removeprefix("sqlite:///"))
    try:
        await real_traffic(sidecar, simulator)
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the WAL is really scanned
        assert found_in_files(db, [US, UK, DE]) == []
        # The scan can see a number if one is there (a sanity check of the scan).
        await sidecar.send.Send(template(UK, f"marker-{UK}"))
        assert found_in_files(db, [UK])
    finally:
        await sidecar.channel.close()
        stop.set()
        assert await task == 0
    # After shutdown the WAL is checkpointed into the main file.
    assert found_in_files(db, [US, DE]) == []


async def test_export_after_erase_has_no_personal_data_but_shows_the_suppression(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await real_traffic(sidecar, simulator)
    before = await sidecar.consent.ExportSubject(consent_pb2.ExportSubjectRequest(phone_number=US))
    assert before.consent.history and before.messages and before.last_inbound

    erased = await sidecar.consent.EraseSubject(
        consent_pb2.EraseSubjectRequest(phone_number=US, reason="GDPR art. 17 request #4")
    )
    assert erased.status == consent_pb2.OPERATION_STATUS_COMPLETED
    receipt = erased.receipt
    assert not receipt.nothing_found and receipt.suppression_kept and receipt.digest
    assert receipt.subject_index == before.subject_index
    erased_kinds = dict(item.split(":") for item in receipt.erased)
    assert int(erased_kinds["subject"]) == 1 and int(erased_kinds["consent"]) >= 2
    assert int(erased_kinds["sends"]) == 1 and int(erased_kinds["windows"]) == 1

    after = await sidecar.consent.ExportSubject(consent_pb2.ExportSubjectRequest(phone_number=US))
    assert not after.consent.history
    assert not after.messages and not after.last_inbound
    assert after.suppressed and after.consent.suppressed
    assert {c.status for c in after.consent.categories} == {consent_pb2.CONSENT_STATUS_REVOKED}
    assert all(not c.HasField("proof") for c in after.consent.categories)
    document = json.loads(after.export_json)
    assert document["history"] == [] and document["messages"] == []
    assert document["suppressed"] == ["authentication", "marketing", "service", "utility"]
    text = after.SerializeToString()
    assert not [f for f in forms(US) if f in text]
    # What remains in the audit trail names the subject by blind index only.
    assert [a.action for a in after.audit][-1] == "subject.erase"
    assert {a.subject_index for a in after.audit} == {before.subject_index}

    decision = await sidecar.send.Check(template(US))
    assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)
    received = simulator.state.stats.received
    refused = await sidecar.send.Send(template(US, "after-erase"))
    assert refused.outcome == send_pb2.OUTCOME_REJECTED
    assert simulator.state.stats.received == received
    # Others are untouched.
    assert (await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=UK))).history, (
        "erasing one subject removed another's history"
    )


async def test_erasing_a_subject_who_never_opted_out_keeps_no_suppression(
    sidecar: Embedded,
) -> None:
    await sidecar.consent.Grant(grant(UK))
    erased = await sidecar.consent.EraseSubject(consent_pb2.EraseSubjectRequest(phone_number=UK))
    assert not erased.receipt.suppression_kept
    state = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=UK))
    assert not state.history and not state.suppressed
    assert (await sidecar.send.Check(template(UK))).reason == common_pb2.REASON_NO_CONSENT


async def test_erasing_an_unknown_subject_is_a_clean_nothing_found_receipt(
    sidecar: Embedded,
) -> None:
    erased = await sidecar.consent.EraseSubject(
        consent_pb2.EraseSubjectRequest(phone_number=IN, reason="request by email")
    )
    assert erased.status == consent_pb2.OPERATION_STATUS_COMPLETED
    receipt = erased.receipt
    assert receipt.nothing_found
    assert list(receipt.erased) == [] and not receipt.suppression_kept
    assert receipt.digest and receipt.erased_at.seconds > 0 and receipt.erased_by == "local"
    audit = await sidecar.consent.ListAudit(consent_pb2.ListAuditRequest(phone_number=IN))
    [entry] = audit.entries
    assert entry.action == "subject.erase" and entry.subject_index == receipt.subject_index
    assert json.loads(entry.detail_json)["digest"] == receipt.digest
    # Nothing was created by asking.
    export = await sidecar.consent.ExportSubject(consent_pb2.ExportSubjectRequest(phone_number=IN))
    assert not export.consent.history and not export.suppressed


async def test_a_revoke_acknowledged_before_kill_9_is_in_force_after_restart(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    first = SidecarProcess(tmp_path, graph_url=simulator.url)
    async with first:
        consent = consent_pb2_grpc.ConsentServiceStub(first.channel)
        await consent.Grant(grant(US))
        assert (await send_pb2_grpc.SendServiceStub(first.channel).Check(template(US))).allowed
        revoked = await consent.Revoke(
            consent_pb2.RevokeRequest(phone_number=US, categories=[MARKETING], source="crm")
        )
        assert revoked.suppressed
        first.kill()  # no drain, no checkpoint, no close
        assert first.proc is not None and first.proc.returncode == -9

    second = SidecarProcess(tmp_path, graph_url=simulator.url)
    async with second:
        state = await consent_pb2_grpc.ConsentServiceStub(second.channel).Get(
            consent_pb2.GetRequest(phone_number=US)
        )
        [marketing] = [c for c in state.categories if c.category == MARKETING]
        assert marketing.status == consent_pb2.CONSENT_STATUS_REVOKED
        assert marketing.proof.source == "crm"
        send = send_pb2_grpc.SendServiceStub(second.channel)
        decision = await send.Check(template(US))
        assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)
        received = simulator.state.stats.received
        assert (await send.Send(template(US, "after-crash"))).outcome == send_pb2.OUTCOME_REJECTED
        assert simulator.state.stats.received == received


def preference_stop(wa_id: str) -> bytes:
    body = json.loads(
        (
            Path(__file__).parents[1]
            / "fixtures"
            / "samples"
            / "user_preferences_stop_CONSTRUCTED.json"
        )
        .read_text()
        .replace("16505551234", wa_id)
    )
    return json.dumps(body).encode()


async def test_a_marketing_stop_from_user_preferences_leaves_no_number_at_rest(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    sidecar, stop, task = await start_embedded(tmp_path, simulator.url)
    db = Path(sidecar.settings.state_url.removeprefix("sqlite:///"))
    try:
        await sidecar.consent.Grant(grant(IN))
        result = await sidecar.verify.VerifyWebhook(webhook(preference_stop(IN[1:])))
        assert result.valid and result.events
        assert (await sidecar.send.Check(template(IN))).reason == common_pb2.REASON_OPTED_OUT
        assert found_in_files(db, [IN]) == []
    finally:
        await sidecar.channel.close()
        stop.set()
        assert await task == 0
