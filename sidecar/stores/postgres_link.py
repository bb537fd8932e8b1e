"""The PostgreSQL connection pool shared by the state and dedup views.

``postgres.py`` builds the stores on top of a ``Link``: a sized asyncpg pool
with a short ``command_timeout``. asyncpg prepares each distinct statement
once per connection and keeps it in its statement cache, so the constant SQL
of the ``postgres_*_sql`` modules is parsed and planned once, then only bound and run.

Outages — refused or lost connections, timeouts (statement or pool wait),
server shutdown or cancellation, exhausted resources, a read-only primary
after failover — become ``StoreUnavailable`` naming only the error class,
never the DSN. Constraint violations and misuse are bugs and propagate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from sidecar.errors import StoreUnavailable
from sidecar.stores.postgres_schema import migrate

POOL_SIZE = 10
"""Connections per replica; an operation holds one for a round trip or a short
transaction, so ten carry thousands of operations per second."""
COMMAND_TIMEOUT = 5.0
"""Seconds a statement, or the wait for a pooled connection, may take."""
CONNECT_TIMEOUT = 5.0
"""Seconds to establish one connection."""

_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # includes TimeoutError (command_timeout, pool wait, connect)
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, cancelled statement
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a demoted primary after failover
    asyncpg.exceptions.TransactionRollbackError,  # deadlock victim: transient, retry
)


async def _nothing_to_reset(conn: Any) -> None:
    """Pool release hook, replacing asyncpg's reset query (a round trip per
    operation): we never change session state — no SET, LISTEN, cursors or
    session-level locks (advisory locks are transaction-scoped) — and asyncpg
    still rolls back a transaction left open."""


def _lost(conn: Any) -> bool:
    """Whether the server ended a connection this operation still holds.

    asyncpg detaches a pooled connection the moment it is lost, so the
    operation's proxy then reads as released (we never release it inside)."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


def affected(status: str) -> int:
    """Rows affected, from a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


class Link:
    """The pool; ``open`` also applies migrations (``postgres_schema``)."""

    def __init__(
        self, dsn: str, *, pool_size: int = POOL_SIZE, command_timeout: float = COMMAND_TIMEOUT
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._timeout = command_timeout
        self._pool: Any = None

    async def open(self) -> None:
        """Connect and migrate; ``ValueError`` for a malformed DSN (not echoed)."""
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                command_timeout=self._timeout,
                timeout=CONNECT_TIMEOUT,
                reset=_nothing_to_reset,
                # Short statements: compiling JIT code would cost more than it saves.
                server_settings={"application_name": "wa-sidecar", "jit": "off"},
            )
        except (ValueError, asyncpg.exceptions.ClientConfigurationError):
            raise ValueError("malformed PostgreSQL URL") from None
        except (*_OUTAGES, asyncpg.PostgresError) as exc:
            # Wrong password or unknown database are outages to the caller too.
            raise StoreUnavailable(f"PostgreSQL unreachable ({type(exc).__name__})") from exc
        self._pool = pool
        try:
            async with self.connection() as conn:
                await migrate(conn)
        except BaseException:
            self._pool = None
            pool.terminate()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self._timeout)
        except TimeoutError:
            pool.terminate()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled ``asyncpg.Connection``; outages inside become ``StoreUnavailable``."""
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("PostgreSQL store is not open")
        try:
            async with pool.acquire(timeout=self._timeout) as conn:
                try:
                    yield conn
                except asyncpg.InterfaceError as exc:
                    if not _lost(conn):
                        raise
                    # Used after the server ended it, or — mid-transaction — the
                    # ROLLBACK on leaving found it gone and hid the outage raised inside.
                    raise StoreUnavailable("PostgreSQL connection lost") from exc
        except _OUTAGES as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable ({type(exc).__name__})") from exc
        except asyncpg.InterfaceError as exc:
            if self._pool is None or pool.is_closing():
                raise StoreUnavailable("PostgreSQL store is closed") from exc
            raise

    @contextlib.asynccontextmanager
    async def transaction(self, **options: Any) -> AsyncIterator[Any]:
        """A connection inside ``BEGIN … COMMIT`` (options as ``Connection.transaction``)."""
        async with self.connection() as conn, conn.transaction(**options):
            yield conn

    async def fetch(self, query: str, *args: object) -> list[Any]:
        async with self.connection() as conn:
            return list(await conn.fetch(query, *args))

    async def fetchrow(self, query: str, *args: object) -> Any:
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: object) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: object) -> int:
        """Run one statement; returns the rows it affected."""
        async with self.connection() as conn:
            return affected(await conn.execute(query, *args))
