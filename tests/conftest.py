"""Shared fixtures. Store fixtures are parametrised over backends: the same
contract tests run on each (STYLE §4); add a backend by adding a param here."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecar.stores.base import DedupStore, QuotaStore, StateStore
from sidecar.stores.memory import MemoryDedupStore, MemoryQuotaStore
from sidecar.stores.sqlite import SqliteStateStore


class FakeClock:
    """A clock tests move by hand: ``clock.advance(1.5)``."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class StateBackend:
    """A state store plus what only tests may do to its backing database.

    ``raw(sql, params)`` runs SQL around the store (``?`` placeholders), as an
    attacker with database access would; ``reopen()`` closes the store and
    opens a new one on the same data; ``replica()`` opens another store on the
    same data beside it (another process or pod).
    """

    store: StateStore
    raw: Callable[[str, Sequence[object]], Awaitable[None]]
    reopen: Callable[[], Awaitable[StateStore]]
    replica: Callable[[], Awaitable[StateStore]]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
async def state_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StateBackend]:
    assert request.param == "sqlite"
    path = tmp_path / "state.db"
    opened: list[StateStore] = []

    async def open_store() -> StateStore:
        store = SqliteStateStore(path)
        await store.open()
        opened.append(store)
        return store

    async def raw(sql: str, params: Sequence[object]) -> None:
        with sqlite3.connect(path) as db:
            db.execute(sql, tuple(params))
        db.close()

    async def reopen() -> StateStore:
        await opened[-1].close()
        return await open_store()

    yield StateBackend(await open_store(), raw, reopen, open_store)
    for store in opened:
        await store.close()


@pytest.fixture
def state_store(state_backend: StateBackend) -> StateStore:
    return state_backend.store


@pytest.fixture(params=["sqlite", "memory"])
async def dedup_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DedupStore]:
    if request.param == "memory":
        yield MemoryDedupStore()
        return
    state = SqliteStateStore(tmp_path / "dedup.db")
    await state.open()
    yield state.dedup()
    await state.close()


@pytest.fixture(params=["memory"])
async def quota_store(
    request: pytest.FixtureRequest, fake_clock: FakeClock
) -> AsyncIterator[QuotaStore]:
    """Quota backends read time from ``fake_clock`` (a shared backend needs a
    test hook for this, since in production it uses its own clock)."""
    assert request.param == "memory"
    store = MemoryQuotaStore(clock=fake_clock)
    yield store
    await store.close()
