"""PostgreSQL versioned migrations, applied by ``PostgresStateStore.open``.

Migrations are the files ``migrations/postgres/NNNN_name.sql``, applied in
order of ``NNNN``. ``schema_version`` holds every applied number. All pending
files are applied in one transaction that first takes a transaction-scoped
advisory lock, so replicas starting at once queue up behind the first: it
migrates, the others find nothing left to do. DDL is transactional in
PostgreSQL, so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

from typing import Any

from sidecar.errors import StoreUnavailable
from sidecar.stores import postgres_sql as sql
from sidecar.stores.shared import bundled_migrations


def migrations() -> list[tuple[int, str]]:
    """(version, script) of every bundled postgres migration, in order."""
    return bundled_migrations("postgres")


LATEST_VERSION = migrations()[-1][0]


async def migrate(conn: Any) -> int:
    """Apply pending migrations on ``conn`` (an ``asyncpg.Connection``);
    returns the schema version."""
    async with conn.transaction():
        await conn.execute(sql.MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if current > LATEST_VERSION:
            raise StoreUnavailable(
                f"PostgreSQL schema version {current} is newer than this release ({LATEST_VERSION})"
            )
        for version, script in migrations():
            if version > current:
                # No arguments: the simple query protocol runs a whole script.
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
                current = version
    return current
