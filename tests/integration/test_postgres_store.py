"""What only the PostgreSQL backend promises: migrating once under a lock,
and outages (closed pool, a statement past its timeout) as ``StoreUnavailable``.
The shared behaviour is the contract suite (``test_store_contract.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from sidecar.errors import StoreUnavailable
from sidecar.stores.postgres import PostgresStateStore
from sidecar.stores.postgres_link import Link
from sidecar.stores.postgres_schema import LATEST_VERSION, migrations

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_replicas_opening_a_fresh_database_at_once_migrate_it_once(
    postgres_databases: Callable[[], str],
) -> None:
    url = postgres_databases()
    stores = [PostgresStateStore(url) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        await asyncio.gather(*(s.set_meta(f"m{i}", "v") for i, s in enumerate(stores)))
        assert [await stores[0].get_meta(f"m{i}") for i in range(4)] == ["v"] * 4
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    conn = await asyncpg.connect(url)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_version")]
    finally:
        await conn.close()
    assert sorted(versions) == [v for v, _ in migrations()]


async def test_a_database_migrated_by_a_newer_release_is_refused(
    postgres_databases: Callable[[], str],
) -> None:
    url = postgres_databases()
    store = PostgresStateStore(url)
    await store.open()
    await store.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", LATEST_VERSION + 1)
    finally:
        await conn.close()
    with pytest.raises(StoreUnavailable, match="newer"):
        await PostgresStateStore(url).open()


async def test_a_closed_store_is_unavailable(postgres_url: str) -> None:
    store = PostgresStateStore(postgres_url)
    await store.open()
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_a_statement_past_its_timeout_is_unavailable_and_the_pool_recovers(
    postgres_url: str,
) -> None:
    url = postgres_url
    store = PostgresStateStore(url, command_timeout=0.3)
    await store.open()
    blocker = await asyncpg.connect(url)
    try:
        # Hold the audit chain's advisory lock, as a stuck replica would.
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('wa-sidecar/audit', 0))"
        )
        with pytest.raises(StoreUnavailable) as caught:
            await store.append_audit(1.0, "a", "x", "", "{}")
        assert url not in str(caught.value)
        await holding.rollback()
        entry = await store.append_audit(2.0, "a", "x", "", "{}")
        assert entry.time == 2.0
        assert await store.audit_entries(entry.seq - 1, 10) == [entry]
    finally:
        await blocker.close()
        await store.close()


async def test_a_connection_lost_inside_a_transaction_is_unavailable_and_the_pool_recovers(
    postgres_url: str,
) -> None:
    """The server ends the connection mid-transaction (a crash, a failover):
    the statement fails, then leaving the transaction finds the connection
    closed. Both are one outage to the caller, not a bug (INTERNAL)."""
    link = Link(postgres_url)
    await link.open()
    admin = await asyncpg.connect(postgres_url)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            async with link.transaction() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                # The second argument waits (ms) until the backend has exited.
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
                await conn.fetchval("SELECT 1")
        assert postgres_url not in str(caught.value)
        assert await link.fetchval("SELECT 2") == 2
    finally:
        await admin.close()
        await link.close()
