"""The gRPC listeners: the API server (servicers, health, reflection) and the
optional health-only server; binding, health states, start and drain.

    servers = GrpcServers(servicers, interceptors, grpc_addr="0.0.0.0:50051",
                          health_addr="", max_body=3 << 20,
                          credentials=tls.credentials())   # bound, not started
    await servers.start()
    await servers.set_serving(True)
    ...
    await servers.drain(grace=10.0)   # NOT_SERVING, Watch streams end, calls finish
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sidecar.api._gen.wasidecar.v1 import (
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.api.consent import ConsentServicer
from sidecar.api.health import HealthService
from sidecar.api.send import SendServicer
from sidecar.api.transport import bind
from sidecar.api.verify import VerifyServicer

STORE_COMPONENTS = ("wasidecar.store.state", "wasidecar.store.quota")
SECRETS_COMPONENT = "wasidecar.secrets"
SERVICE_NAMES = (
    send_pb2.DESCRIPTOR.services_by_name["SendService"].full_name,
    verify_pb2.DESCRIPTOR.services_by_name["VerifyService"].full_name,
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name,
)


@dataclass(frozen=True, slots=True)
class Servicers:
    """One servicer per service of ``proto/wasidecar/v1``."""

    send: SendServicer
    verify: VerifyServicer
    consent: ConsentServicer


def _grpc_options(max_body: int) -> list[tuple[str, int]]:
    # The webhook size cap must decide (REJECTION_TOO_LARGE), not the transport.
    receive = max(2 * max_body, 8 * 1024 * 1024)
    return [
        ("grpc.max_receive_message_length", receive),
        ("grpc.so_reuseport", 0),  # a port clash must fail, not share silently
    ]


class GrpcServers:
    """The API server and the optional health-only one, bound on construction."""

    def __init__(
        self,
        servicers: Servicers,
        interceptors: Sequence[Any],
        *,
        grpc_addr: str,
        health_addr: str,
        max_body: int,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        self.health = HealthService()
        server = grpc.aio.server(options=_grpc_options(max_body), interceptors=interceptors)
        send_pb2_grpc.add_SendServiceServicer_to_server(servicers.send, server)
        verify_pb2_grpc.add_VerifyServiceServicer_to_server(servicers.verify, server)
        consent_pb2_grpc.add_ConsentServiceServicer_to_server(servicers.consent, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        self.port = bind(server, grpc_addr, "WA_SIDECAR_GRPC_ADDR", credentials)
        self._server = server
        self._health_server: grpc.aio.Server | None = None
        if health_addr:
            self._health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
            health_pb2_grpc.add_HealthServicer_to_server(self.health, self._health_server)
            bind(self._health_server, health_addr, "WA_SIDECAR_HEALTH_ADDR")

    async def set_serving(self, serving: bool) -> None:
        """The overall status, every service's and every store component's."""
        for name in ("", *SERVICE_NAMES, *STORE_COMPONENTS, SECRETS_COMPONENT):
            await self.health.set(name, _status(serving))

    async def set_store(self, name: str, up: bool) -> None:
        """One ``wasidecar.store.<name>`` component (the store probes call this)."""
        await self.health.set(f"wasidecar.store.{name}", _status(up))

    async def set_secrets(self, readable: bool) -> None:
        """``wasidecar.secrets``: NOT_SERVING while a secret source cannot be
        read (the last good values stay in force, so the API keeps serving)."""
        await self.health.set(SECRETS_COMPONENT, _status(readable))

    async def start(self) -> None:
        await self._server.start()
        if self._health_server is not None:
            await self._health_server.start()

    async def drain(self, grace: float) -> None:
        """NOT_SERVING everywhere, and Watch streams end (they would hold the
        drain to its full grace); calls in flight get ``grace`` seconds."""
        await self.health.drain()
        await self._server.stop(grace)
        if self._health_server is not None:
            await self._health_server.stop(0)


def _status(serving: bool) -> Any:
    return (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
