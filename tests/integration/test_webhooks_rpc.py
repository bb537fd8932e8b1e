"""VerifyService over real gRPC: samples, duplicates, opt-out before the answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc, verify_pb2
from sidecar.simulator.webhooks import status_item
from sidecar.testing import (
    DEV_VERIFY_TOKEN,
    Embedded,
    SidecarProcess,
    inbound_text,
    signature,
    webhook_body,
)

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
WEBHOOK_SAMPLES = sorted(
    p for p in SAMPLES.glob("*.json") if p.name != "signature_test_vectors.json"
)
USER = "16505551234"
USER_E164 = "+16505551234"


def _request(body: bytes, sig: str | None = None, **kw: object) -> verify_pb2.WebhookRequest:
    return verify_pb2.WebhookRequest(
        body=body, signature=signature(body) if sig is None else sig, remote_ip="127.0.0.1", **kw
    )


def _marketing_check(to: str = USER_E164) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


@pytest.mark.parametrize("sample", WEBHOOK_SAMPLES, ids=lambda p: p.stem)
async def test_every_sample_verifies_and_parses(sidecar: Embedded, sample: Path) -> None:
    body = sample.read_bytes()
    result = await sidecar.verify.VerifyWebhook(_request(body))
    assert result.valid, result.detail
    assert len(result.events) >= 1


async def test_reserialised_body_fails_the_signature(sidecar: Embedded) -> None:
    raw = (SAMPLES / "inbound_text_message.json").read_bytes()
    reserialised = json.dumps(json.loads(raw)).encode()
    result = await sidecar.verify.VerifyWebhook(_request(reserialised, signature(raw)))
    assert not result.valid
    assert result.reason == verify_pb2.REJECTION_BAD_SIGNATURE


@pytest.mark.parametrize(
    ("sig", "reason"),
    [
        ("", verify_pb2.REJECTION_MISSING_SIGNATURE),
        ("sha256=zz", verify_pb2.REJECTION_MALFORMED_SIGNATURE),
        ("sha1=" + "a" * 40, verify_pb2.REJECTION_UNSUPPORTED_SIGNATURE),
        ("sha256=" + "0" * 64, verify_pb2.REJECTION_BAD_SIGNATURE),
    ],
)
async def test_signature_problems_have_distinct_reasons(
    sidecar: Embedded, sig: str, reason: int
) -> None:
    result = await sidecar.verify.VerifyWebhook(_request(b'{"object":"x"}', sig))
    assert (result.valid, result.reason) == (False, reason)


async def test_oversized_body_is_answered_too_large_not_by_the_transport(
    sidecar: Embedded,
) -> None:
    body = b" " * (3 * 1024 * 1024 + 1)
    result = await sidecar.verify.VerifyWebhook(_request(body, "sha256=" + "0" * 64))
    assert result.reason == verify_pb2.REJECTION_TOO_LARGE


@pytest.mark.parametrize("body", [b"\xff\xfe garbage", b"[]", b'{"object":"page"}', b"{" * 5000])
async def test_malformed_signed_payloads_are_answers_not_errors(
    sidecar: Embedded, body: bytes
) -> None:
    result = await sidecar.verify.VerifyWebhook(_request(body))
    assert result.reason == verify_pb2.REJECTION_MALFORMED_PAYLOAD


async def test_replay_is_a_duplicate_and_applies_nothing_twice(sidecar: Embedded) -> None:
    body = inbound_text(USER, "hello")
    first = await sidecar.verify.VerifyWebhook(_request(body))
    second = await sidecar.verify.VerifyWebhook(_request(body))
    assert first.valid and not first.duplicate and len(first.events) == 1
    assert second.valid and second.duplicate and not second.events
    assert second.duplicate_events == 1


async def test_stop_opts_out_before_the_answer(sidecar: Embedded) -> None:
    assert (await sidecar.send.Check(_marketing_check())).reason == common_pb2.REASON_NO_CONSENT
    result = await sidecar.verify.VerifyWebhook(_request(inbound_text(USER, "STOP")))
    assert result.events[0].message.opt_out
    decision = await sidecar.send.Check(_marketing_check())
    assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)


async def test_stop_survives_a_restart(tmp_path: Path, simulator: object) -> None:
    url = simulator.url  # type: ignore[attr-defined]
    async with SidecarProcess(tmp_path, graph_url=url) as proc:
        from sidecar.api._gen.wasidecar.v1 import verify_pb2_grpc

        result = await verify_pb2_grpc.VerifyServiceStub(proc.channel).VerifyWebhook(
            _request(inbound_text(USER, "Stop. Thank you"))
        )
        assert result.events[0].message.opt_out
        proc.kill()  # kill -9 right after the answer
    async with SidecarProcess(tmp_path, proc.env, graph_url=url) as again:
        decision = await send_pb2_grpc.SendServiceStub(again.channel).Check(_marketing_check())
        assert decision.reason == common_pb2.REASON_OPTED_OUT


async def test_concurrent_replays_on_two_processes_apply_once(
    tmp_path: Path, simulator: object
) -> None:
    from sidecar.api._gen.wasidecar.v1 import verify_pb2_grpc

    url = simulator.url  # type: ignore[attr-defined]
    async with SidecarProcess(tmp_path, graph_url=url) as a:
        shared = {"WA_SIDECAR_STATE_URL": a.env["WA_SIDECAR_STATE_URL"]}
        async with SidecarProcess(tmp_path, shared, graph_url=url) as b:
            bodies = [inbound_text(USER, f"hi {i}", wamid=f"wamid.race{i}") for i in range(20)]
            stubs = [verify_pb2_grpc.VerifyServiceStub(p.channel) for p in (a, b)]
            results = await asyncio.gather(
                *(stub.VerifyWebhook(_request(body)) for body in bodies for stub in stubs)
            )
            new = sum(len(r.events) for r in results)
            assert all(r.valid for r in results)
            assert new == len(bodies)


async def test_status_failed_131050_records_a_marketing_opt_out(sidecar: Embedded) -> None:
    item = status_item(
        "wamid.out1",
        "failed",
        USER,
        1749416383,
        errors=[{"code": 131050, "title": "Unable to deliver", "message": "stopped"}],
    )
    result = await sidecar.verify.VerifyWebhook(_request(webhook_body(item, kind="statuses")))
    assert result.events[0].status.opt_out
    decision = await sidecar.send.Check(_marketing_check())
    assert decision.reason == common_pb2.REASON_OPTED_OUT


async def test_user_preferences_stop_then_resume(sidecar: Embedded) -> None:
    stop = (SAMPLES / "user_preferences_stop_CONSTRUCTED.json").read_bytes()
    resume = (SAMPLES / "user_preferences_resume.json").read_bytes()
    wa_id = json.loads(stop)["entry"][0]["changes"][0]["value"]["user_preferences"][0]["wa_id"]
    number = "+" + wa_id
    result = await sidecar.verify.VerifyWebhook(_request(stop))
    assert result.events[0].preference.opt_out
    assert (
        await sidecar.send.Check(_marketing_check(number))
    ).reason == common_pb2.REASON_OPTED_OUT
    result = await sidecar.verify.VerifyWebhook(_request(resume))
    assert result.events[0].preference.opt_in
    # Resume lifts the suppression; a marketing send still needs a recorded opt-in.
    assert (
        await sidecar.send.Check(_marketing_check(number))
    ).reason == common_pb2.REASON_NO_CONSENT


async def test_subscription_handshake(sidecar: Embedded) -> None:
    ok = await sidecar.verify.VerifySubscription(
        verify_pb2.SubscriptionRequest(
            mode="subscribe", verify_token=DEV_VERIFY_TOKEN, challenge="42"
        )
    )
    assert (ok.ok, ok.challenge) == (True, "42")
    for mode, token in (("subscribe", "wrong"), ("unsubscribe", DEV_VERIFY_TOKEN)):
        bad = await sidecar.verify.VerifySubscription(
            verify_pb2.SubscriptionRequest(mode=mode, verify_token=token, challenge="42")
        )
        assert (bad.ok, bad.challenge) == (False, "")


async def test_every_batched_event_is_returned(sidecar: Embedded) -> None:
    from sidecar.simulator.webhooks import inbound_message_item

    items = [
        inbound_message_item(f"wamid.b{i}", USER, 1749416383, text=f"m{i}") for i in range(1000)
    ]
    result = await sidecar.verify.VerifyWebhook(_request(webhook_body(*items, sender=USER)))
    assert result.valid and len(result.events) == 1000


async def test_invalid_rpc_fields_never_answer_internal(sidecar: Embedded) -> None:
    for request in (
        verify_pb2.WebhookRequest(),
        verify_pb2.WebhookRequest(body=b"x", signature="\x00" * 10000, remote_ip="not an ip"),
        verify_pb2.WebhookRequest(body=b"{}", headers={"X-Forwarded-For": "1.1.1.1, zz"}),
    ):
        try:
            result = await sidecar.verify.VerifyWebhook(request)
        except grpc.aio.AioRpcError as exc:  # pragma: no cover - the assertion explains
            pytest.fail(f"RPC error {exc.code()} for {request!r}")
        assert not result.valid
