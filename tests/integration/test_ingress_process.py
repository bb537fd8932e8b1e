"""The webhook ingress of a real ``wa-sidecar serve`` process, fed over raw sockets.

A raw socket decides how the bytes arrive: in many pieces with pauses between
them (as a large delivery crosses the Internet), without a Content-Length, or
with several ``X-Forwarded-For`` lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import SimulatorHandle
from sidecar.simulator.webhooks import inbound_message_item, status_item
from sidecar.testing import SidecarProcess, signature

pytestmark = pytest.mark.integration

USER = "16505551234"
OTHER = "447911123456"
CAP = 1024 * 1024


def _marketing(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to="+" + to,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


def _delivery(statuses: int, stop_from: str, *, padding: int = 700) -> bytes:
    """``statuses`` failed statuses (each with a long error text), then one STOP."""
    items = [
        status_item(
            f"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI{i:08d}",
            "failed",
            OTHER,
            1750091045,
            errors=[
                {
                    "code": 131049,
                    "title": "This message was not delivered to maintain healthy ecosystem",
                    "message": "per-user marketing limit",
                    "error_data": {"details": "x" * padding},
                }
            ],
        )
        for i in range(statuses)
    ]
    stop = inbound_message_item("wamid.stop-at-the-end", stop_from, 1750091046, text="STOP")
    meta = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": meta,
                            "statuses": items,
                        },
                    },
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": meta,
                            "contacts": [{"profile": {"name": "A"}, "wa_id": stop_from}],
                            "messages": [stop],
                        },
                    },
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


async def _post(
    addr: str,
    body: Iterable[bytes],
    headers: list[tuple[str, str]],
    *,
    pause: float = 0.0,
) -> int:
    """POST /webhook over a raw socket, writing ``body`` piece by piece; the status code."""
    host, _, port = addr.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = ["POST /webhook HTTP/1.1", f"Host: {addr}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in body:
            writer.write(piece)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    except ConnectionResetError:
        # The server may answer and close before the whole body is written.
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _chunked(body: bytes, size: int) -> list[bytes]:
    frames = [b"%x\r\n%s\r\n" % (len(p), p) for p in _pieces(body, size)]
    return [*frames, b"0\r\n\r\n"]


@contextlib.asynccontextmanager
async def _ingress(tmp: Path, sim: SimulatorHandle, **env: str) -> AsyncIterator[SidecarProcess]:
    """A sidecar process with the ingress on and an app draining StreamEvents."""
    settings = {
        "WA_SIDECAR_WEBHOOK_INGRESS": "true",
        "WA_SIDECAR_WEBHOOK_MAX_BODY": str(CAP),
        "WA_SIDECAR_WEBHOOK_RATE_LIMIT": "",
        **env,
    }
    async with SidecarProcess(tmp, settings, graph_url=sim.url) as proc:
        call = verify_pb2_grpc.VerifyServiceStub(proc.channel).StreamEvents(
            verify_pb2.StreamEventsRequest()
        )

        async def drain() -> None:
            async for _ in call:
                pass

        drainer = asyncio.ensure_future(drain())
        # The subscription is registered when the first ingress POST is not refused
        # with 503; poll that observable instead of sleeping.
        probe = b"{}"
        for _ in range(200):
            status = await _post(
                proc.env["WA_SIDECAR_ADMIN_ADDR"],
                [probe],
                [
                    ("Content-Length", str(len(probe))),
                    ("X-Hub-Signature-256", "sha256=" + "0" * 64),
                ],
            )
            if status != 503:
                break
            await asyncio.sleep(0.05)
        try:
            yield proc
        finally:
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drainer


async def test_a_large_delivery_arriving_in_pieces_is_read_whole(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    body = _delivery(600, USER)
    assert 400_000 < len(body) < CAP
    async with _ingress(tmp_path, simulator) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Check(_marketing(USER))).reason == common_pb2.REASON_NO_CONSENT
        status = await _post(
            proc.env["WA_SIDECAR_ADMIN_ADDR"],
            _pieces(body, 16 * 1024),
            [("Content-Length", str(len(body))), ("X-Hub-Signature-256", signature(body))],
            pause=0.02,
        )
        assert status == 200
        # The STOP at the very end of the body is in force.
        assert (await send.Check(_marketing(USER))).reason == common_pb2.REASON_OPTED_OUT


async def test_a_chunked_delivery_is_read_whole_and_refused_past_the_cap(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    fits = _delivery(600, USER)
    too_large = _delivery(1400, OTHER)
    assert len(too_large) > CAP
    async with _ingress(tmp_path, simulator) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        addr = proc.env["WA_SIDECAR_ADMIN_ADDR"]
        chunked = [("Transfer-Encoding", "chunked")]
        refused = await _post(
            addr,
            _chunked(too_large, 64 * 1024),
            [*chunked, ("X-Hub-Signature-256", signature(too_large))],
        )
        assert refused == 413
        assert (await send.Check(_marketing(OTHER))).reason == common_pb2.REASON_NO_CONSENT
        accepted = await _post(
            addr,
            _chunked(fits, 16 * 1024),
            [*chunked, ("X-Hub-Signature-256", signature(fits))],
            pause=0.01,
        )
        assert accepted == 200
        assert (await send.Check(_marketing(USER))).reason == common_pb2.REASON_OPTED_OUT


async def test_every_forwarded_for_line_is_read(tmp_path: Path, simulator: SimulatorHandle) -> None:
    body = _delivery(0, USER)
    env = {
        "WA_SIDECAR_WEBHOOK_ALLOW_CIDRS": "10.0.0.0/8",
        "WA_SIDECAR_WEBHOOK_TRUSTED_PROXIES": "127.0.0.0/8",
    }
    async with _ingress(tmp_path, simulator, **env) as proc:
        addr = proc.env["WA_SIDECAR_ADMIN_ADDR"]
        signed = [("Content-Length", str(len(body))), ("X-Hub-Signature-256", signature(body))]
        # The client wrote an allowed address in its own line; our proxy (the
        # loopback peer) appended the real client in a second line.
        forged = [("X-Forwarded-For", "10.9.9.9"), ("X-Forwarded-For", "203.0.113.9")]
        assert await _post(addr, [body], [*signed, *forged]) == 403
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Check(_marketing(USER))).reason == common_pb2.REASON_NO_CONSENT
        allowed = [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "10.9.9.9")]
        assert await _post(addr, [body], [*signed, *allowed]) == 200
        assert (await send.Check(_marketing(USER))).reason == common_pb2.REASON_OPTED_OUT
