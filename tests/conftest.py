"""Shared fixtures. Store fixtures are parametrised over backends: the same
contract tests run on each (STYLE §4); add a backend by adding a param here."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import itertools
import os
import re
import secrets
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from sidecar.stores.base import DedupStore, QuotaStore, StateStore
from sidecar.stores.memory import MemoryDedupStore, MemoryQuotaStore
from sidecar.stores.postgres import PostgresStateStore
from sidecar.stores.redis import RedisDedupStore, RedisQuotaStore
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


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture(params=["sqlite", POSTGRES])
async def state_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StateBackend]:
    opened: list[StateStore] = []
    make: Callable[[], StateStore]
    raw: Callable[[str, Sequence[object]], Awaitable[None]]
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        await postgres_clean(url)
        make = functools.partial(PostgresStateStore, url)
        raw = functools.partial(postgres_raw, url)
    else:
        assert request.param == "sqlite"
        path = tmp_path / "state.db"
        make = functools.partial(SqliteStateStore, path)

        async def raw(sql: str, params: Sequence[object]) -> None:
            with sqlite3.connect(path) as db:
                db.execute(sql, tuple(params))
            db.close()

    async def open_store() -> StateStore:
        store = make()
        await store.open()
        opened.append(store)
        return store

    async def reopen() -> StateStore:
        await opened[-1].close()
        return await open_store()

    yield StateBackend(await open_store(), raw, reopen, open_store)
    for store in opened:
        await store.close()


@pytest.fixture
def state_store(state_backend: StateBackend) -> StateStore:
    return state_backend.store


REDIS = pytest.param("redis", marks=pytest.mark.redis)


@pytest.fixture(params=["sqlite", "memory", REDIS, POSTGRES])
async def dedup_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DedupStore]:
    if request.param == "memory":
        yield MemoryDedupStore()
        return
    if request.param == "redis":
        url, prefix = await require_redis(), new_redis_prefix()
        dedup = RedisDedupStore(url, key_prefix=prefix)
        yield dedup
        await dedup.close()
        await delete_redis_keys(url, prefix)
        return
    state: SqliteStateStore | PostgresStateStore
    if request.param == "postgres":
        pg_url: str = request.getfixturevalue("postgres_url")
        await postgres_clean(pg_url)
        state = PostgresStateStore(pg_url)
    else:
        state = SqliteStateStore(tmp_path / "dedup.db")
    await state.open()
    yield state.dedup()
    await state.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``quota_store`` runs on every backend, except for tests that move
    ``fake_clock``: Redis keeps its own time (``TIME``), so those stay memory-only."""
    if "quota_store" in metafunc.fixturenames:
        moves_clock = "fake_clock" in inspect.signature(metafunc.function).parameters
        backends = ["memory"] if moves_clock else ["memory", REDIS]
        metafunc.parametrize("quota_store", backends, indirect=True)


@pytest.fixture
async def quota_store(
    request: pytest.FixtureRequest, fake_clock: FakeClock
) -> AsyncIterator[QuotaStore]:
    """The memory backend reads time from ``fake_clock``; Redis from its own clock."""
    if request.param == "redis":
        url, prefix = await require_redis(), new_redis_prefix()
        shared = RedisQuotaStore(url, key_prefix=prefix)
        yield shared
        await shared.close()
        await delete_redis_keys(url, prefix)
        return
    assert request.param == "memory"
    store = MemoryQuotaStore(clock=fake_clock)
    yield store
    await store.close()


# --------------------------------------------------------------------------- redis

_redis_checked: dict[str, bool] = {}


@pytest.fixture
async def redis_url() -> str:
    """The test Redis (see ``require_redis``)."""
    return await require_redis()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix no other test (or concurrent test run) shares; its keys
    are deleted afterwards."""
    prefix = new_redis_prefix()
    yield prefix
    await delete_redis_keys(redis_url, prefix)


async def require_redis() -> str:
    """``WA_TEST_REDIS_URL`` (default the shared local Redis). Skips the test
    when it is unreachable, but under ``CI=true`` fails it: CI never skips silently.
    Tests must not touch keys outside their ``redis_prefix``."""
    import redis.asyncio as aioredis
    from redis import exceptions

    url = os.environ.get("WA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if url not in _redis_checked:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
            _redis_checked[url] = True
        except (exceptions.ConnectionError, exceptions.TimeoutError, OSError):
            _redis_checked[url] = False
        finally:
            await client.aclose()
    if not _redis_checked[url]:
        message = "Redis is unreachable at WA_TEST_REDIS_URL (or 127.0.0.1:6379)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true: the Redis tests must run")
        pytest.skip(message)
    return url


def new_redis_prefix() -> str:
    return f"wa-test-{uuid.uuid4().hex[:12]}:"


async def delete_redis_keys(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- PostgreSQL

POSTGRES_ADMIN_URL = os.environ.get(
    "WA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _in_thread(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a private loop (session fixtures may be set up inside one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coro).result()


async def _postgres_admin(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Callable[[], str]]:
    """Makes fresh databases ``wa_test_<hex>`` (returns their URLs); drops them
    at the end. PostgreSQL unreachable skips the test, but under ``CI=true``
    fails it: CI never passes by silently skipping the PostgreSQL backend."""
    made: list[str] = []

    def new() -> str:
        name = f"wa_test_{secrets.token_hex(6)}"
        try:
            _in_thread(_postgres_admin(f"CREATE DATABASE {name}"))
        except (OSError, asyncpg.PostgresError) as exc:
            message = f"PostgreSQL is unreachable at WA_TEST_POSTGRES_URL ({type(exc).__name__})"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + " and CI=true: the PostgreSQL tests must run")
            pytest.skip(message)
        made.append(name)
        return urlunsplit(urlsplit(POSTGRES_ADMIN_URL)._replace(path="/" + name))

    yield new
    for name in made:
        _in_thread(_postgres_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def postgres_url(postgres_databases: Callable[[], str]) -> str:
    """The session's database for store tests (tables emptied before each test)."""
    return postgres_databases()


async def postgres_clean(url: str) -> None:
    """Empty every table but ``schema_version`` (the schema stays migrated)."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(tablename) FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename <> 'schema_version'"
        )
        if tables:
            names = ", ".join(t[0] for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def postgres_raw(url: str, sql: str, params: Sequence[object]) -> None:
    """Run one statement written with ``?`` placeholders (as for SQLite)."""
    numbers = itertools.count(1)
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(re.sub(r"\?", lambda _: f"${next(numbers)}", sql), *params)
    finally:
        await conn.close()
