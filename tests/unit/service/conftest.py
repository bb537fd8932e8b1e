"""Fixtures for the service layer's unit tests (see ``support/service.py``):
services built directly over SQLite in ``tmp_path``, a memory quota store, a
scripted Graph and a fake clock. No ports, no real sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.service import Draws, FakeTime, Rig


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def rand() -> Draws:
    """Full jitter at its ceiling unless a test scripts other draws."""
    return Draws(1.0)


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeTime, rand: Draws) -> AsyncIterator[Rig]:
    opened = await Rig.open(tmp_path, clock, rand)
    try:
        yield opened
    finally:
        await opened.close()
