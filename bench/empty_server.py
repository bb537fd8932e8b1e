"""The baseline server: grpc.aio handlers that do nothing (or only the floor).

``python -m bench.empty_server --port N`` serves ``VerifyService.VerifyWebhook``
(answers an empty ``WebhookResult``), ``SendService.Check`` (answers
``Decision(allowed=True)``), ``SendService.Send`` and ``SendService.SendBatch``
(answer ``OUTCOME_SENT`` with the request's key, without calling anyone) with
the same request types and server options as the sidecar, so a ratio against
it measures the sidecar's own work, and its CPU per call is what gRPC alone
costs on this machine.

``--verify floor`` and ``--verify floor-durable`` replace the empty
``VerifyWebhook`` with the least any verifier must do per delivery, using
the sidecar's own code: ``floor`` checks the HMAC, parses the delivery into
typed events and answers them all; ``floor-durable`` also records the
statuses in SQLite before answering, their unique ``(wamid, status)`` index
being the dedup claim (one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on
the sidecar's schema and store link: WAL, ``synchronous=NORMAL``, group
commit on one worker thread): the smallest durable check-and-set that
deduplication, KPI records and "written before the answer" need. Their
throughput against the empty handler is the best ratio any sidecar on this
stack could reach (``bench.verify``'s ceilings).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.api.convert_events import webhook_result
from sidecar.policy.signature import SignatureVerifier
from sidecar.service.webhooks import Applied, Rejection, WebhookOutcome
from sidecar.stores.sqlite_link import Link
from sidecar.testing import DEV_APP_SECRET
from sidecar.whatsapp.webhooks import StatusUpdate, parse_delivery


class EmptyVerify(verify_pb2_grpc.VerifyServiceServicer):
    async def VerifyWebhook(
        self, request: verify_pb2.WebhookRequest, context: Any
    ) -> verify_pb2.WebhookResult:
        return verify_pb2.WebhookResult()


class FloorVerify(verify_pb2_grpc.VerifyServiceServicer):
    """HMAC, parse, answer every event as new; with a link, claim statuses first."""

    def __init__(self, link: Link | None) -> None:
        self._verifier = SignatureVerifier([DEV_APP_SECRET.encode()])
        self._link = link

    async def VerifyWebhook(
        self, request: verify_pb2.WebhookRequest, context: Any
    ) -> verify_pb2.WebhookResult:
        body = request.body
        if not self._verifier.verify(body, request.signature).ok:
            return webhook_result(WebhookOutcome(Rejection.BAD_SIGNATURE))
        events = parse_delivery(body)
        if self._link is not None:
            rows = [
                (e.id, e.status, e.timestamp, e.phone_number_id, e.pricing_category)
                for e in events
                if isinstance(e, StatusUpdate)
            ]
            await self._link.write(_record, rows)
        return webhook_result(
            WebhookOutcome(Rejection.NONE, events=tuple(Applied(e) for e in events))
        )


_RECORD = (
    "INSERT INTO statuses (message_id, status, timestamp, phone_number_id, error_code, category)"
    " VALUES {} ON CONFLICT (message_id, status) DO NOTHING RETURNING message_id"
)


def _record(db: sqlite3.Connection, rows: Sequence[tuple[str, str, int, str, str]]) -> int:
    """Record the statuses; the unique ``(message_id, status)`` index is the claim."""
    values = ", ".join(["(?, ?, ?, ?, 0, ?)"] * len(rows))
    params = [part for row in rows for part in row]
    return len(db.execute(_RECORD.format(values), params).fetchall())


_ALLOW = common_pb2.Decision(allowed=True)


class EmptySend(send_pb2_grpc.SendServiceServicer):
    async def Check(self, request: send_pb2.SendRequest, context: Any) -> common_pb2.Decision:
        return _ALLOW

    async def Send(self, request: send_pb2.SendRequest, context: Any) -> send_pb2.SendResponse:
        return _sent(request)

    async def SendBatch(
        self, request_iterator: AsyncIterator[send_pb2.SendRequest], context: Any
    ) -> AsyncIterator[send_pb2.SendResponse]:
        async for request in request_iterator:
            yield _sent(request)


def _sent(request: send_pb2.SendRequest) -> send_pb2.SendResponse:
    return send_pb2.SendResponse(
        idempotency_key=request.idempotency_key,
        outcome=send_pb2.OUTCOME_SENT,
        message_id="wamid.empty",
    )


async def serve(port: int, verify: str, db: Path | None) -> None:
    if verify == "floor-durable":
        if db is None:
            raise SystemExit("--verify floor-durable needs --db PATH")
        link = Link(db)
        await link.open()
        try:
            await _serve(port, FloorVerify(link))  # type: ignore[abstract]
        finally:
            await link.close()
    else:
        pure = verify == "floor"
        await _serve(port, FloorVerify(None) if pure else EmptyVerify())  # type: ignore[abstract]


async def _serve(port: int, verify: verify_pb2_grpc.VerifyServiceServicer) -> None:
    # The sidecar's transport options (sidecar.api.server._grpc_options).
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ]
    )
    # Only the methods the benches call; the rest answer UNIMPLEMENTED.
    verify_pb2_grpc.add_VerifyServiceServicer_to_server(verify, server)
    send_pb2_grpc.add_SendServiceServicer_to_server(EmptySend(), server)  # type: ignore[abstract]
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.empty_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--verify", choices=("empty", "floor", "floor-durable"), default="empty")
    parser.add_argument("--db", type=Path, help="the SQLite file of --verify floor-durable")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.verify, args.db))


if __name__ == "__main__":
    main()
