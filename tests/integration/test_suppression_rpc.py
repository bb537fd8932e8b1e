"""Only the user lifts the user's own opt-out (SPEC §4.4), over real gRPC.

A STOP keyword, Meta's ``user_preferences`` stop or a 131050 failure puts
the number on the suppression list as the user's entry. An app's ``Grant``
afterwards is recorded as proof but answers ``suppression_stands`` and
``Check`` keeps refusing; the user's START or Meta's ``resume`` lifts it.
An app's own ``Revoke`` is still lifted by its later ``Grant``. Without
caller auth there is no second principal, so ``OverrideSuppression`` is
refused (the four-eyes path is in ``test_access_rpc.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, verify_pb2
from sidecar.simulator.webhooks import status_item
from sidecar.testing import Embedded, inbound_text, signature, webhook_body

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
NUMBER, WA_ID = "+16505551234", "16505551234"  # the user_preferences samples' wa_id
MARKETING = common_pb2.CATEGORY_MARKETING
UTILITY = common_pb2.CATEGORY_UTILITY


def grant(*cats: int) -> consent_pb2.GrantRequest:
    return consent_pb2.GrantRequest(
        phone_number=NUMBER,
        categories=list(cats or (MARKETING,)),
        source="web-form",
        notice_version="v3",
        jurisdiction=consent_pb2.JURISDICTION_GDPR,
        evidence="form-123",
    )


def check(category: int = MARKETING) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=NUMBER,
        category=category,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


async def deliver(sidecar: Embedded, body: bytes) -> verify_pb2.WebhookResult:
    result = await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert result.valid, result.detail
    return result


def failed_131050(wamid: str = "wamid.out1") -> bytes:
    item = status_item(
        wamid,
        "failed",
        WA_ID,
        1749416383,
        errors=[{"code": 131050, "title": "Unable to deliver", "message": "stopped"}],
    )
    return webhook_body(item, kind="statuses")


def preference(value: str) -> bytes:
    """Meta's user_preferences sample for ``value`` ("stop" or "resume")."""
    name = (
        "user_preferences_stop_CONSTRUCTED.json"
        if value == "stop"
        else f"user_preferences_{value}.json"
    )
    body = (SAMPLES / name).read_bytes()
    pref = json.loads(body)["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    assert (pref["wa_id"], pref["value"]) == (WA_ID, value)
    return body


USER_OPT_OUTS = {
    "stop keyword": lambda: inbound_text(WA_ID, "STOP"),
    "user_preferences stop": lambda: preference("stop"),
    "131050 failure": failed_131050,
}


def category_status(state: consent_pb2.ConsentState, category: int) -> int:
    [found] = [c for c in state.categories if c.category == category]
    return found.status


async def refused_as_opted_out(sidecar: Embedded, category: int = MARKETING) -> bool:
    decision = await sidecar.send.Check(check(category))
    return (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)


@pytest.mark.parametrize("opt_out", list(USER_OPT_OUTS))
async def test_an_apps_grant_after_the_users_opt_out_is_recorded_but_the_suppression_stands(
    sidecar: Embedded, opt_out: str
) -> None:
    await sidecar.consent.Grant(grant())
    await deliver(sidecar, USER_OPT_OUTS[opt_out]())
    assert await refused_as_opted_out(sidecar)

    answer = await sidecar.consent.Grant(grant())
    assert answer.suppression_stands
    assert answer.suppression_detail.startswith("MARKETING: the user opted out")
    assert "OverrideSuppression" in answer.suppression_detail
    assert category_status(answer, MARKETING) == consent_pb2.CONSENT_STATUS_REVOKED
    # The grant is proof on record: the newest entry of the history.
    assert answer.history[-1].action == consent_pb2.CONSENT_ACTION_GRANT
    assert answer.history[-1].proof.source == "web-form"
    assert await refused_as_opted_out(sidecar)
    got = await sidecar.consent.Get(consent_pb2.GetRequest(phone_number=NUMBER))
    assert category_status(got, MARKETING) == consent_pb2.CONSENT_STATUS_REVOKED

    audit = await sidecar.consent.ListAudit(consent_pb2.ListAuditRequest(phone_number=NUMBER))
    last = json.loads(audit.entries[-1].detail_json)
    assert audit.entries[-1].action == "consent.grant"
    assert last["suppression_stands"] == ["marketing"]


async def test_only_the_categories_the_user_stopped_stand(sidecar: Embedded) -> None:
    """Meta's stop covers marketing only: a utility grant beside it is plain."""
    await deliver(sidecar, preference("stop"))
    answer = await sidecar.consent.Grant(grant(MARKETING, UTILITY))
    assert answer.suppression_stands
    assert answer.suppression_detail.startswith("MARKETING:")
    assert "UTILITY" not in answer.suppression_detail
    assert category_status(answer, UTILITY) == consent_pb2.CONSENT_STATUS_GRANTED
    assert (await sidecar.send.Check(check(UTILITY))).allowed
    assert await refused_as_opted_out(sidecar)


async def test_start_from_the_user_lifts_it_and_the_recorded_grant_then_counts(
    sidecar: Embedded,
) -> None:
    await deliver(sidecar, inbound_text(WA_ID, "STOP"))
    assert (await sidecar.consent.Grant(grant())).suppression_stands
    result = await deliver(sidecar, inbound_text(WA_ID, "START"))
    assert result.events[0].message.opt_in
    assert (await sidecar.send.Check(check())).allowed
    again = await sidecar.consent.Grant(grant())
    assert not again.suppression_stands and not again.suppression_detail


async def test_metas_resume_lifts_a_user_preferences_stop(sidecar: Embedded) -> None:
    await deliver(sidecar, preference("stop"))
    assert (await sidecar.consent.Grant(grant())).suppression_stands
    assert await refused_as_opted_out(sidecar)
    result = await deliver(sidecar, preference("resume"))
    assert result.events[0].preference.opt_in
    assert (await sidecar.send.Check(check())).allowed


async def test_an_apps_own_revoke_is_still_lifted_by_its_grant(sidecar: Embedded) -> None:
    await sidecar.consent.Grant(grant())
    revoked = await sidecar.consent.Revoke(
        consent_pb2.RevokeRequest(
            phone_number=NUMBER, categories=[MARKETING], source="crm", reason="asked by phone"
        )
    )
    assert revoked.suppressed
    assert await refused_as_opted_out(sidecar)
    answer = await sidecar.consent.Grant(grant())
    assert not answer.suppression_stands and not answer.suppressed
    assert (await sidecar.send.Check(check())).allowed


async def test_an_app_revoke_after_the_users_stop_does_not_make_it_the_apps(
    sidecar: Embedded,
) -> None:
    await deliver(sidecar, inbound_text(WA_ID, "STOP"))
    await sidecar.consent.Revoke(
        consent_pb2.RevokeRequest(phone_number=NUMBER, categories=[MARKETING], source="crm")
    )
    assert (await sidecar.consent.Grant(grant())).suppression_stands
    assert await refused_as_opted_out(sidecar)


async def test_without_caller_auth_an_override_is_refused_and_changes_nothing(
    sidecar: Embedded,
) -> None:
    await deliver(sidecar, inbound_text(WA_ID, "STOP"))
    await sidecar.consent.Grant(grant())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.OverrideSuppression(
            consent_pb2.OverrideSuppressionRequest(
                phone_number=NUMBER, categories=[MARKETING], reason="asked by phone"
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "WA_SIDECAR_AUTH_FILE" in (err.value.details() or "")
    assert await refused_as_opted_out(sidecar)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (consent_pb2.OverrideSuppressionRequest(phone_number=NUMBER), "reason"),
        (consent_pb2.OverrideSuppressionRequest(phone_number="+1", reason="r"), "phone_number"),
        (
            consent_pb2.OverrideSuppressionRequest(phone_number=NUMBER, categories=[9], reason="r"),
            "categories",
        ),
    ],
    ids=["reason", "phone_number", "categories"],
)
async def test_a_bad_override_request_is_invalid_argument_naming_the_field(
    sidecar: Embedded, request_: consent_pb2.OverrideSuppressionRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.OverrideSuppression(request_)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith(f"{field}:")
