"""A drain that starts while a Watch stream is writing still reaches that
stream: it reports NOT_SERVING before it ends (the load balancer must see it)."""

from __future__ import annotations

import asyncio

import pytest
from grpc_health.v1 import health_pb2

from sidecar.api.health import HealthService

pytestmark = pytest.mark.unit

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class SlowWire:
    """A stream context whose first write waits until the test lets it finish."""

    def __init__(self) -> None:
        self.written: list[int] = []
        self.first_write_started = asyncio.Event()
        self.release = asyncio.Event()

    async def write(self, reply: health_pb2.HealthCheckResponse) -> None:
        self.written.append(reply.status)
        if len(self.written) == 1:
            self.first_write_started.set()
            await self.release.wait()


async def test_a_drain_during_a_write_is_still_reported_before_the_stream_ends() -> None:
    health = HealthService()
    await health.set("", SERVING)
    wire = SlowWire()
    watch = asyncio.create_task(health.Watch(health_pb2.HealthCheckRequest(service=""), wire))
    await wire.first_write_started.wait()
    await health.drain()  # while SERVING is still being written
    wire.release.set()
    await asyncio.wait_for(watch, timeout=5)
    assert wire.written == [SERVING, NOT_SERVING]


async def test_a_watch_that_starts_after_the_drain_gets_not_serving_and_ends() -> None:
    health = HealthService()
    await health.set("", SERVING)
    await health.drain()
    wire = SlowWire()
    wire.release.set()
    await asyncio.wait_for(health.Watch(health_pb2.HealthCheckRequest(service=""), wire), 5)
    assert wire.written == [NOT_SERVING]
