"""The scale-out durable backend: ``StateStore`` and ``DedupStore`` on PostgreSQL.

Every replica of a deployment points at one database. Operations are one
statement where they can be (the ``postgres_*_sql`` modules join multi-table
writes with data-modifying CTEs), so the Send hot path — ``snapshot``, ``get_send``,
``begin_send``, ``finish_send`` — is one round trip each. Where a writer
must read before it writes, a transaction-scoped advisory lock serialises it
across replicas: per blind index for ``create_subject``, one lock for the
audit chain, one for migrations. The outbox is claimed with
``FOR UPDATE SKIP LOCKED``.

Connection failures, timeouts and server shutdowns become
``StoreUnavailable`` naming only the error class (never the DSN); constraint
violations and misuse are bugs and propagate unchanged.

The operations are written by role — ``postgres_consent`` (subjects,
consent, windows), ``postgres_sends`` (sends, leases, statuses, dead
letters, outbox), ``postgres_audit`` (operations, audit, key rotation),
``postgres_engagement`` (template status events, sessions) — and
composed here with the connection, the reads that span roles and meta.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sidecar.stores import postgres_consent_sql as consent_sql
from sidecar.stores import postgres_send_sql as send_sql
from sidecar.stores import postgres_sql as sql
from sidecar.stores.base import SendContext, Subject, SubjectData
from sidecar.stores.postgres_audit import PostgresAudit
from sidecar.stores.postgres_consent import PostgresConsent
from sidecar.stores.postgres_engagement import PostgresEngagement
from sidecar.stores.postgres_link import COMMAND_TIMEOUT, POOL_SIZE, Link
from sidecar.stores.postgres_sends import PostgresSends


class PostgresStateStore(PostgresConsent, PostgresSends, PostgresAudit, PostgresEngagement):
    """``StateStore`` on PostgreSQL (``postgresql://user@host/db``), shared by replicas.

    state = PostgresStateStore("postgresql://wa@db:5432/wa")
    await state.open()          # pool + migrations (once, under a lock)
    dedup = state.dedup()       # same pool
    await state.begin_send(record)
    await state.close()
    """

    def __init__(
        self, dsn: str, *, pool_size: int = POOL_SIZE, command_timeout: float = COMMAND_TIMEOUT
    ) -> None:
        self._link = Link(dsn, pool_size=pool_size, command_timeout=command_timeout)

    def dedup(self) -> PostgresDedupStore:
        """The ``DedupStore`` on this store's pool (closed with it)."""
        return PostgresDedupStore(self._link)

    async def open(self) -> None:
        """Connect and migrate; ``ValueError`` for a malformed DSN (not echoed)."""
        await self._link.open()

    async def ping(self) -> None:
        await self._link.fetchval("SELECT 1")

    async def close(self) -> None:
        await self._link.close()

    # ----------------------------------------------------------------------- reads across roles

    async def subject_data(self, subject_id: str, suppression_index: str = "") -> SubjectData:
        """Read in one repeatable-read transaction, so the parts agree."""
        async with self._link.transaction(isolation="repeatable_read", readonly=True) as conn:
            row = await conn.fetchrow(consent_sql.SUBJECT_BY_ID, subject_id)
            consent = await conn.fetch(consent_sql.CONSENT_HISTORY, subject_id)
            windows = await conn.fetch(consent_sql.WINDOWS_OF, subject_id)
            sends = await conn.fetch(send_sql.SENDS_BY_SUBJECT, subject_id)
            parts = await conn.fetch(consent_sql.SNAPSHOT, suppression_index, None)
        return SubjectData(
            subject=consent_sql.subject_from_row(row) if row else None,
            consent=[consent_sql.consent_from_row(r) for r in consent],
            windows={r[0]: r[1] for r in windows},
            sends=[send_sql.send_from_row(r) for r in sends],
            suppressed=consent_sql.snapshot_parts(parts)[0],
        )

    async def prepare_send(
        self,
        key: str | None,
        subject_id: str | None,
        blind_index: str | None,
        suppression_index: str,
    ) -> SendContext:
        """The reads run concurrently on pooled connections (one round trip)."""
        existing, candidates, snap = await asyncio.gather(
            self.get_send(key) if key is not None else _none(),
            self.subjects_by_index(blind_index) if blind_index is not None else _no_subjects(),
            self.snapshot(subject_id, suppression_index),
        )
        return SendContext(existing, candidates, snap)

    # ----------------------------------------------------------------------- meta

    async def get_meta(self, key: str) -> str | None:
        value = await self._link.fetchval(sql.GET_META, key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self._link.execute(sql.SET_META, key, value)


class PostgresDedupStore:
    """``DedupStore`` on the state store's pool: ``PostgresStateStore.dedup()``.

    Shared by every replica, so a webhook re-delivered to another pod is
    still recognised. ``close`` is a no-op: the state store owns the pool.
    """

    def __init__(self, link: Link) -> None:
        self._link = link

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        # Sorted: overlapping concurrent claims take their row locks in one order.
        rows = await self._link.fetch(sql.CLAIM, sorted(set(keys)), now + ttl, now)
        won = {row[0] for row in rows}
        results = []
        for key in keys:
            results.append(key in won)
            won.discard(key)  # a repeat within this call is not first
        return results

    async def purge_expired(self, now: float) -> int:
        return await self._link.execute(sql.PURGE_EXPIRED, now)

    async def close(self) -> None:
        return None


async def _none() -> None:
    return None


async def _no_subjects() -> list[Subject]:
    return []
