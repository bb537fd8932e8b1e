"""``grpc.health.v1.Health`` for the sidecar, with a drain that ends Watch streams.

``Check`` answers the status set for a service name (NOT_FOUND for a name
never set); ``Watch`` streams a service's status whenever it changes. The
stock servicer's Watch never ends on its own, so one watching client (a load
balancer, a mesh proxy) holds SIGTERM's drain to its full grace period.
``drain()`` reports NOT_SERVING for every name, sends it to every watcher,
and then ends each Watch stream with OK; later Watch calls get NOT_SERVING
and end at once, and ``set`` is ignored from then on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

Status = Any  # health_pb2.HealthCheckResponse.ServingStatus (an int enum)

_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService(health_pb2_grpc.HealthServicer):  # type: ignore[misc]  # untyped base
    def __init__(self) -> None:
        self._status: dict[str, Status] = {}
        self._changed = asyncio.Event()  # replaced by a fresh one at every change
        self._draining = False

    async def set(self, service: str, status: Status) -> None:
        """Set one name's status (ignored once draining)."""
        if self._draining or self._status.get(service) == status:
            return
        self._status[service] = status
        self._announce()

    async def drain(self) -> None:
        """NOT_SERVING everywhere, for good; every Watch stream reports it and ends."""
        self._draining = True
        for service in self._status:
            self._status[service] = _NOT_SERVING
        self._announce()

    def _announce(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> None:
        sent = None
        while True:
            # Take the event and the drain flag before reading: a change in
            # between sets the event, and a drain that starts while a write is
            # awaited is seen on the next turn, whose status is then the final one.
            changed = self._changed
            draining = self._draining
            status = self._status.get(request.service, _UNKNOWN)
            if status != sent:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                sent = status
            if draining:
                return
            await changed.wait()
