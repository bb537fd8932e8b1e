"""Fixtures for integration tests: the simulator, an embedded sidecar, a real process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.api._gen.wasidecar.v1 import consent_pb2_grpc, send_pb2_grpc, verify_pb2_grpc
from sidecar.app import Runtime, serve
from sidecar.config import Settings, load_settings
from sidecar.testing import APP_ID, DEV_APP_SECRET, DEV_TOKEN, base_env
from sidecar.whatsapp.simulator import SimulatorHandle, SimulatorSettings, start_simulator


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({DEV_TOKEN}),
            app_secret=DEV_APP_SECRET.encode(),
            app_id=APP_ID,
            client_secret=DEV_APP_SECRET,
            pair_limit_enabled=False,
        )
    )
    try:
        yield handle
    finally:
        await handle.close()


@dataclass
class Embedded:
    """A sidecar running in the test's event loop, reached over real gRPC."""

    settings: Settings
    runtime: Runtime
    channel: grpc.aio.Channel

    @property
    def send(self) -> send_pb2_grpc.SendServiceStub:
        return send_pb2_grpc.SendServiceStub(self.channel)

    @property
    def verify(self) -> verify_pb2_grpc.VerifyServiceStub:
        return verify_pb2_grpc.VerifyServiceStub(self.channel)

    @property
    def consent(self) -> consent_pb2_grpc.ConsentServiceStub:
        return consent_pb2_grpc.ConsentServiceStub(self.channel)


async def start_embedded(
    tmp: Path, graph_url: str, **env: str
) -> tuple[Embedded, asyncio.Event, asyncio.Task[int]]:
    settings = load_settings(environ={**base_env(tmp, graph_url), **env})
    stop = asyncio.Event()
    started: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop=stop, on_ready=started.set_result))
    done, _ = await asyncio.wait({task, started}, timeout=20, return_when="FIRST_COMPLETED")
    if started not in done:
        stop.set()
        raise RuntimeError(
            f"embedded sidecar did not start: {task.exception() if task.done() else 'timeout'}"
        )
    channel = grpc.aio.insecure_channel(settings.grpc_addr)
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    return Embedded(settings, started.result(), channel), stop, task


@pytest.fixture
async def sidecar(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    embedded, stop, task = await start_embedded(tmp_path, simulator.url)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0
