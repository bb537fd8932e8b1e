"""The baseline server: grpc.aio handlers that do nothing.

``python -m bench.empty_server --port N`` serves ``VerifyService.VerifyWebhook``
(answers an empty ``WebhookResult``), ``SendService.Check`` (answers
``Decision(allowed=True)``), ``SendService.Send`` and ``SendService.SendBatch``
(answer ``OUTCOME_SENT`` with the request's key, without calling anyone) with
the same request types and server options as the sidecar, so a ratio against
it measures the sidecar's own work, and its CPU per call is what gRPC alone
costs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)


class EmptyVerify(verify_pb2_grpc.VerifyServiceServicer):
    async def VerifyWebhook(
        self, request: verify_pb2.WebhookRequest, context: Any
    ) -> verify_pb2.WebhookResult:
        return verify_pb2.WebhookResult()


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


async def serve(port: int) -> None:
    # The sidecar's transport options (sidecar.app._grpc_options).
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ]
    )
    # Only the methods the benches call; the rest answer UNIMPLEMENTED.
    verify_pb2_grpc.add_VerifyServiceServicer_to_server(EmptyVerify(), server)  # type: ignore[abstract]
    send_pb2_grpc.add_SendServiceServicer_to_server(EmptySend(), server)  # type: ignore[abstract]
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.empty_server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
