"""Webhook source controls over gRPC, and the optional HTTP ingress + StreamEvents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, verify_pb2
from sidecar.simulator import SimulatorHandle
from sidecar.testing import (
    DEV_VERIFY_TOKEN,
    Embedded,
    inbound_text,
    signature,
    start_embedded,
)

pytestmark = pytest.mark.integration

USER = "16505551234"
MARKETING = send_pb2.SendRequest(
    to="+" + USER,
    category=common_pb2.CATEGORY_MARKETING,
    template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
)


async def _embedded(tmp: Path, sim: SimulatorHandle, **env: str) -> AsyncIterator[Embedded]:
    embedded, stop, task = await start_embedded(tmp, sim.url, **env)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


@pytest.fixture
async def guarded(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    async for e in _embedded(
        tmp_path,
        simulator,
        WA_SIDECAR_WEBHOOK_ALLOW_CIDRS="10.0.0.0/8,2001:db8::/32",
        WA_SIDECAR_WEBHOOK_TRUSTED_PROXIES="192.168.0.0/16",
        WA_SIDECAR_WEBHOOK_RATE_LIMIT="5/minute",
    ):
        yield e


@pytest.fixture
async def ingress(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    async for e in _embedded(tmp_path, simulator, WA_SIDECAR_WEBHOOK_INGRESS="true"):
        yield e


def _req(body: bytes, ip: str, xff: str = "") -> verify_pb2.WebhookRequest:
    headers = {"x-forwarded-for": xff} if xff else {}
    return verify_pb2.WebhookRequest(
        body=body, signature=signature(body), remote_ip=ip, headers=headers
    )


async def test_allowlist_refuses_other_sources(guarded: Embedded) -> None:
    body = inbound_text(USER, "hi")
    refused = await guarded.verify.VerifyWebhook(_req(body, "127.0.0.1"))
    assert refused.reason == verify_pb2.REJECTION_IP_NOT_ALLOWED
    assert (await guarded.verify.VerifyWebhook(_req(body, "10.1.2.3"))).valid
    assert (await guarded.verify.VerifyWebhook(_req(body, "2001:db8::7"))).valid


async def test_forwarded_for_is_believed_only_from_trusted_proxies(guarded: Embedded) -> None:
    body = inbound_text(USER, "hi")
    via_proxy = await guarded.verify.VerifyWebhook(_req(body, "192.168.1.1", "10.9.9.9"))
    assert via_proxy.valid
    spoofed = await guarded.verify.VerifyWebhook(_req(body, "8.8.8.8", "10.9.9.9"))
    assert spoofed.reason == verify_pb2.REJECTION_IP_NOT_ALLOWED


async def test_a_padded_forwarded_for_cannot_push_our_proxys_hop_out(guarded: Embedded) -> None:
    body = inbound_text(USER, "hi")
    # The client pads its own header so that its forged hop ends exactly where a
    # long value used to be cut; our proxy then appended the real client.
    forged = "10.9.9.9"
    padding = "1.1.1.1, " * 2000
    client_part = padding[: 8192 - len(forged) - 2].rstrip(", ") + ", " + forged
    client_part = client_part.rjust(8192, " ")
    assert len(client_part) == 8192
    refused = await guarded.verify.VerifyWebhook(
        _req(body, "192.168.1.1", client_part + ", 8.8.8.8")
    )
    assert refused.reason == verify_pb2.REJECTION_IP_NOT_ALLOWED
    # Two spellings of the header name are two lines of one list.
    request = verify_pb2.WebhookRequest(
        body=body,
        signature=signature(body),
        remote_ip="192.168.1.1",
        headers={"X-Forwarded-For": "10.9.9.9", "x-forwarded-for": "10.1.1.1"},
    )
    assert (await guarded.verify.VerifyWebhook(request)).valid


async def test_per_source_rate_limit(guarded: Embedded) -> None:
    results = [
        await guarded.verify.VerifyWebhook(_req(inbound_text(USER, f"m{i}"), "10.0.0.5"))
        for i in range(6)
    ]
    assert [r.valid for r in results] == [True] * 5 + [False]
    assert results[-1].reason == verify_pb2.REJECTION_RATE_LIMITED
    other = await guarded.verify.VerifyWebhook(_req(inbound_text(USER, "x"), "10.0.0.6"))
    assert other.valid


async def test_stream_events_needs_the_ingress(sidecar: Embedded) -> None:
    call = sidecar.verify.StreamEvents(verify_pb2.StreamEventsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in call:
            pass
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_ingress_handshake(ingress: Embedded) -> None:
    url = f"http://{ingress.settings.admin_addr}/webhook"
    async with aiohttp.ClientSession() as http:
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": DEV_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        }
        async with http.get(url, params=params) as r:
            assert (r.status, await r.text()) == (200, "1158201444")
        async with http.get(url, params={**params, "hub.verify_token": "nope"}) as r:
            assert r.status == 403


async def test_ingress_refuses_without_a_subscriber_and_applies_nothing(ingress: Embedded) -> None:
    url = f"http://{ingress.settings.admin_addr}/webhook"
    body = inbound_text(USER, "STOP")
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"X-Hub-Signature-256": signature(body)}) as r,
    ):
        assert r.status == 503
    assert (await ingress.send.Check(MARKETING)).reason == common_pb2.REASON_NO_CONSENT


async def test_ingress_hands_verified_events_to_the_app(ingress: Embedded) -> None:
    url = f"http://{ingress.settings.admin_addr}/webhook"
    call = ingress.verify.StreamEvents(verify_pb2.StreamEventsRequest())
    first = asyncio.ensure_future(call.read())
    body = inbound_text(USER, "STOP")
    await asyncio.wait_for(ingress.runtime.events.wait_for_subscriber(), 10)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers={"X-Hub-Signature-256": signature(body)}) as r:
            assert r.status == 200
        async with http.post(
            url, data=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
        ) as r:
            assert r.status == 401
    event = await asyncio.wait_for(first, 10)
    assert event.message.opt_out
    assert event.message.from_number == USER
    call.cancel()
    assert (await ingress.send.Check(MARKETING)).reason == common_pb2.REASON_OPTED_OUT


async def test_the_body_cap_decides_over_grpc_not_the_transport(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    # gRPC refuses messages over 4 MiB by default; a larger cap must be honoured.
    cap = 6 * 1024 * 1024
    async for e in _embedded(tmp_path, simulator, WA_SIDECAR_WEBHOOK_MAX_BODY=str(cap)):
        within = b" " * (5 * 1024 * 1024) + b"{}"
        result = await e.verify.VerifyWebhook(_req(within, "127.0.0.1"))
        assert result.reason == verify_pb2.REJECTION_MALFORMED_PAYLOAD  # read, verified, parsed
        beyond = b" " * (cap + 1)
        result = await e.verify.VerifyWebhook(_req(beyond, "127.0.0.1"))
        assert result.reason == verify_pb2.REJECTION_TOO_LARGE
