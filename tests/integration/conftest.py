"""Fixtures for integration tests: the simulator, an embedded sidecar, a real process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.otlp import Receiver, otlp_receiver

from sidecar.simulator import SimulatorHandle, SimulatorSettings, start_simulator
from sidecar.testing import APP_ID, DEV_APP_SECRET, DEV_TOKEN, Embedded, start_embedded


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


@pytest.fixture
async def sidecar(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    embedded, stop, task = await start_embedded(tmp_path, simulator.url)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    """A real OTLP/gRPC trace receiver and its port."""
    async with otlp_receiver() as found:
        yield found
