"""The scale-out durable backend: ``StateStore`` and ``DedupStore`` on PostgreSQL.

Every replica of a deployment points at one database. Operations are one
statement where they can be (``postgres_sql`` joins multi-table writes with
data-modifying CTEs), so the Send hot path — ``snapshot``, ``get_send``,
``begin_send``, ``finish_send`` — is one round trip each. Where a writer
must read before it writes, a transaction-scoped advisory lock serialises it
across replicas: per blind index for ``create_subject``, one lock for the
audit chain, one for migrations. The outbox is claimed with
``FOR UPDATE SKIP LOCKED``.

Connection failures, timeouts and server shutdowns become
``StoreUnavailable`` naming only the error class (never the DSN); constraint
violations and misuse are bugs and propagate unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

from sidecar.stores import postgres_sql as sql
from sidecar.stores.audit_chain import GENESIS_HASH, entry_hash
from sidecar.stores.base import (
    OUTCOME_IN_DOUBT,
    OUTCOME_REJECTED,
    OUTCOME_SENT,
    AuditRecord,
    ConsentRecord,
    ConsentSnapshot,
    DeadLetterRecord,
    OperationRecord,
    SendContext,
    SendRecord,
    SendState,
    StartVerdict,
    StatusRecord,
    Subject,
    SubjectData,
)
from sidecar.stores.postgres_link import COMMAND_TIMEOUT, POOL_SIZE, Link
from sidecar.stores.shared import (
    first_recorded,
    operation_from_row,
    operation_params,
    send_values,
)

_PURGE_CHUNK = 5000  # rows per statement, so a large purge never holds locks long


class PostgresStateStore:
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

    # ----------------------------------------------------------------------- subjects

    async def subjects_by_index(self, blind_index: str) -> list[Subject]:
        return [
            sql.subject_from_row(r)
            for r in await self._link.fetch(sql.SUBJECTS_BY_INDEX, blind_index)
        ]

    async def create_subject(self, subject: Subject, same: Callable[[Subject], bool]) -> Subject:
        """See ``SubjectStore.create_subject``. The common case (the number is
        known) is one unlocked read; otherwise the blind index's advisory lock
        is taken, the candidates are read again and compared, and the new
        subject is inserted only if none of them is the same number."""
        checked: set[str] = set()
        for candidate in await self.subjects_by_index(subject.blind_index):
            if same(candidate):
                return candidate
            checked.add(candidate.id)
        async with self._link.transaction() as conn:
            await conn.execute(sql.SUBJECT_LOCK, subject.blind_index)
            for row in await conn.fetch(sql.SUBJECTS_BY_INDEX, subject.blind_index):
                candidate = sql.subject_from_row(row)
                if candidate.id not in checked and same(candidate):
                    return candidate
            await conn.execute(
                sql.INSERT_SUBJECT,
                subject.id,
                subject.blind_index,
                subject.number_ct,
                subject.wrapped_dek,
                subject.created_at,
            )
        return subject

    async def delete_subject(self, subject_id: str) -> dict[str, int]:
        """Counts per kind: subject, consent, consent_state, windows, sends,
        dead_letters, statuses. Suppression rows stay (keyed by suppression index)."""
        row = await self._link.fetchrow(sql.DELETE_SUBJECT, subject_id)
        return dict(zip(sql.DELETE_SUBJECT_KINDS, map(int, row), strict=True))

    async def subject_data(self, subject_id: str, suppression_index: str = "") -> SubjectData:
        """Read in one repeatable-read transaction, so the parts agree."""
        async with self._link.transaction(isolation="repeatable_read", readonly=True) as conn:
            row = await conn.fetchrow(sql.SUBJECT_BY_ID, subject_id)
            consent = await conn.fetch(sql.CONSENT_HISTORY, subject_id)
            windows = await conn.fetch(sql.WINDOWS_OF, subject_id)
            sends = await conn.fetch(sql.SENDS_BY_SUBJECT, subject_id)
            parts = await conn.fetch(sql.SNAPSHOT, suppression_index, None)
        return SubjectData(
            subject=sql.subject_from_row(row) if row else None,
            consent=[sql.consent_from_row(r) for r in consent],
            windows={r[0]: r[1] for r in windows},
            sends=[sql.send_from_row(r) for r in sends],
            suppressed=sql.snapshot_parts(parts)[0],
        )

    # ----------------------------------------------------------------------- consent

    async def append_consent(
        self,
        record: ConsentRecord,
        suppression_index: str,
        *,
        lift_suppression: bool,
        by_user: bool = True,
    ) -> bool:
        return bool(
            await self._link.fetchval(
                sql.APPEND_CONSENT,
                record.id,
                record.subject_id,
                record.category,
                record.action.value,
                record.recorded_at,
                record.actor,
                record.proof_ct,
                record.event_key,
                suppression_index,
                lift_suppression,
                by_user,
            )
        )

    async def consent_history(self, subject_id: str) -> list[ConsentRecord]:
        return [
            sql.consent_from_row(r) for r in await self._link.fetch(sql.CONSENT_HISTORY, subject_id)
        ]

    async def snapshot(self, subject_id: str | None, suppression_index: str) -> ConsentSnapshot:
        rows = await self._link.fetch(sql.SNAPSHOT, suppression_index, subject_id)
        return ConsentSnapshot(*sql.snapshot_parts(rows))

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

    async def suppress(self, suppression_index: str, categories: Sequence[str], now: float) -> None:
        await self._link.execute(sql.SUPPRESS, suppression_index, list(categories), now)

    async def unsuppress(self, suppression_index: str, categories: Sequence[str]) -> None:
        await self._link.execute(sql.UNSUPPRESS, suppression_index, list(categories))

    # ----------------------------------------------------------------------- windows

    async def touch_window(self, phone_number_id: str, subject_id: str, at: float) -> None:
        await self._link.execute(sql.TOUCH_WINDOW, subject_id, phone_number_id, at)

    async def last_inbound(self, phone_number_id: str, subject_id: str) -> float | None:
        value = await self._link.fetchval(sql.LAST_INBOUND, subject_id, phone_number_id)
        return None if value is None else float(value)

    # ----------------------------------------------------------------------- sends

    async def begin_send(
        self, record: SendRecord, suppression_index: str = "", refusal: bytes = b""
    ) -> SendRecord | None:
        while True:
            if suppression_index:
                row = await self._link.fetchrow(
                    sql.BEGIN_SEND_UNLESS_SUPPRESSED, *send_values(record), suppression_index
                )
                if row[0]:
                    return None
                if row[2] is not None:
                    return sql.send_from_row(row, offset=2)
                if row[1]:  # suppressed: store the refusal under the key
                    refused = replace(
                        record, state=SendState.DONE, outcome=OUTCOME_REJECTED, response=refusal
                    )
                    record, suppression_index = refused, ""
                    if (await self._link.fetchrow(sql.BEGIN_SEND, *send_values(refused)))[0]:
                        return refused
                    continue
            else:
                row = await self._link.fetchrow(sql.BEGIN_SEND, *send_values(record))
                if row[0]:
                    return None
                if row[1] is not None:
                    return sql.send_from_row(row, offset=1)
            # A concurrent call inserted the key after this statement's
            # snapshot was taken; it has committed by now, so read it.
            existing = await self.get_send(record.key)
            if existing is not None:
                return existing

    async def begin_sends(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        return await self._insert_sends(records, None)

    async def _insert_sends(
        self, records: Sequence[SendRecord], state: SendState | None
    ) -> list[SendRecord | None]:
        """One INSERT of every new key (atomic), then one read of the keys
        that existed; a key repeated within ``records`` meets its first copy."""
        first: dict[str, SendRecord] = {}
        for record in records:
            first.setdefault(record.key, record if state is None else replace(record, state=state))
        if not first:
            return []
        # Inserting in key order makes concurrent batches lock keys in one
        # order, so two overlapping batches cannot deadlock.
        ordered = (send_values(first[key]) for key in sorted(first))
        columns = [list(c) for c in zip(*ordered, strict=True)]
        async with self._link.connection() as conn:
            inserted = {row[0] for row in await conn.fetch(sql.INSERT_SENDS, *columns)}
            taken = [key for key in first if key not in inserted]
            existing = {
                row[0]: sql.send_from_row(row)
                for row in (await conn.fetch(sql.SENDS_BY_KEYS, taken) if taken else [])
            }
        results: list[SendRecord | None] = []
        for record in records:
            if record.key in existing:
                results.append(existing[record.key])
            elif record.key in inserted:
                inserted.discard(record.key)
                results.append(None)
            else:
                results.append(first[record.key])
        return results

    async def finish_send(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        return (
            await self._link.execute(
                sql.FINISH_SEND, key, owner, outcome, message_id, response, now
            )
            > 0
        )

    async def finish_sends(
        self, results: Sequence[tuple[str, str, str, bytes]], owner: str, now: float
    ) -> None:
        if results:
            keys, outcomes, message_ids, responses = (list(c) for c in zip(*results, strict=True))
            await self._link.execute(
                sql.FINISH_SENDS, keys, owner, outcomes, message_ids, responses, now
            )

    async def start_send(
        self, key: str, owner: str, suppression_index: str, refusal: bytes, now: float
    ) -> StartVerdict:
        went, refused = await self._link.fetchrow(
            sql.START_SEND, key, owner, suppression_index, refusal, now, OUTCOME_REJECTED
        )
        if went:
            return StartVerdict.GO
        return StartVerdict.SUPPRESSED if refused else StartVerdict.LOST

    async def release_send(self, key: str, owner: str) -> None:
        await self._link.execute(sql.RELEASE_SEND, key, owner)

    async def abandon_send(self, key: str, owner: str, now: float) -> None:
        await self._link.execute(sql.ABANDON_SEND, key, owner, now)

    async def renew_lease(self, owner: str, expires_at: float) -> None:
        await self._link.execute(sql.RENEW_LEASE, owner, expires_at)

    async def release_lease(self, owner: str) -> None:
        await self._link.execute(sql.RELEASE_LEASE, owner)

    async def lease_expiry(self, owner: str) -> float | None:
        value = await self._link.fetchval(sql.LEASE_EXPIRY, owner)
        return None if value is None else float(value)

    async def get_send(self, key: str) -> SendRecord | None:
        row = await self._link.fetchrow(sql.GET_SEND, key)
        return sql.send_from_row(row) if row else None

    async def list_in_doubt(
        self, owner: str, limit: int, after_key: str = "", *, now: float
    ) -> list[SendRecord]:
        rows = await self._link.fetch(sql.LIST_IN_DOUBT, after_key, owner, limit, now)
        return [sql.send_from_row(r) for r in rows]

    async def resolve_in_doubt(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        return (
            await self._link.execute(
                sql.RESOLVE_IN_DOUBT, key, owner, outcome, message_id, response, now
            )
            > 0
        )

    async def resolve_by_callback(
        self, key: str, message_id: str, delivery_status: str, now: float
    ) -> bool:
        return (
            await self._link.execute(
                sql.RESOLVE_BY_CALLBACK, delivery_status, message_id, OUTCOME_SENT, now, key
            )
            > 0
        )

    async def hold_in_doubt(
        self, key: str, owner: str, response: bytes, request_ct: bytes, now: float
    ) -> bool:
        done = await self._link.execute(
            sql.HOLD_IN_DOUBT, key, owner, OUTCOME_IN_DOUBT, response, request_ct, now
        )
        return done > 0

    async def list_resendable(self, before: float, limit: int) -> list[SendRecord]:
        rows = await self._link.fetch(sql.LIST_RESENDABLE, before, limit)
        return [sql.send_from_row(r) for r in rows]

    async def claim_resend(self, key: str, owner: str, now: float) -> bool:
        return await self._link.execute(sql.CLAIM_RESEND, key, owner, now) > 0

    async def record_status(self, status: StatusRecord) -> None:
        await self._link.execute(
            sql.RECORD_STATUS,
            status.status,
            status.message_id,
            status.timestamp,
            status.phone_number_id,
            status.error_code,
            status.category,
        )

    async def record_statuses(
        self,
        statuses: Sequence[StatusRecord],
        callbacks: Sequence[tuple[str, str, str]],
        now: float,
    ) -> list[bool]:
        if not statuses and not callbacks:
            return []
        async with self._link.transaction() as conn:
            rows = (
                await conn.fetch(
                    sql.INSERT_STATUSES,
                    [s.message_id for s in statuses],
                    [s.status for s in statuses],
                    [s.timestamp for s in statuses],
                    [s.phone_number_id for s in statuses],
                    [s.error_code for s in statuses],
                    [s.category for s in statuses],
                )
                if statuses
                else []
            )
            inserted = {(r[0], r[1]) for r in rows}
            first = first_recorded(statuses, inserted)
            advances = [
                (s.status, s.message_id)
                for s, is_first in zip(statuses, first, strict=True)
                if is_first
            ]
            if advances:
                await conn.executemany(sql.ADVANCE_BY_MESSAGE, advances)
            resolutions = [
                (status, mid, OUTCOME_SENT, now, key)
                for key, mid, status in callbacks
                if (mid, status) in inserted
            ]
            if resolutions:
                await conn.executemany(sql.RESOLVE_BY_CALLBACK, resolutions)
        return first

    async def status_counts(self, since: float) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in await self._link.fetch(sql.STATUS_COUNTS, since)}

    async def purge_sends(self, older_than: float) -> int:
        """Delete finished sends (and statuses) created before ``older_than``,
        a chunk per statement; queued and in-flight records are kept."""
        total = 0
        while True:
            sends, statuses = await self._link.fetchrow(sql.PURGE_CHUNK, older_than, _PURGE_CHUNK)
            total += sends
            if sends < _PURGE_CHUNK and statuses < _PURGE_CHUNK:
                return int(total)

    # ----------------------------------------------------------------------- dead letters

    async def put_dead_letter(self, record: DeadLetterRecord) -> None:
        await self._link.execute(
            sql.PUT_DEAD_LETTER,
            record.id,
            record.key,
            record.phone_number_id,
            record.category,
            record.to_masked,
            record.error_json,
            record.attempts,
            record.created_at,
            record.request_ct,
        )

    async def list_dead_letters(self, limit: int, after_id: str = "") -> list[DeadLetterRecord]:
        rows = await self._link.fetch(sql.LIST_DEAD_LETTERS, after_id, limit)
        return [sql.dead_letter_from_row(r) for r in rows]

    async def take_dead_letter(self, dead_letter_id: str) -> DeadLetterRecord | None:
        row = await self._link.fetchrow(sql.TAKE_DEAD_LETTER, dead_letter_id)
        return sql.dead_letter_from_row(row) if row else None

    # ----------------------------------------------------------------------- outbox

    async def enqueue(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        return await self._insert_sends(records, SendState.QUEUED)

    async def claim_queued(self, owner: str, limit: int, now: float) -> list[SendRecord]:
        rows = await self._link.fetch(sql.CLAIM_QUEUED, owner, now, limit)
        # RETURNING has no defined order.
        return sorted((sql.send_from_row(r) for r in rows), key=lambda s: (s.created_at, s.key))

    # ----------------------------------------------------------------------- operations

    async def put_operation(self, record: OperationRecord) -> None:
        await self._link.execute(sql.PUT_OPERATION, *operation_params(record))

    async def get_operation(self, operation_id: str) -> OperationRecord | None:
        row = await self._link.fetchrow(sql.GET_OPERATION, operation_id)
        return operation_from_row(row) if row else None

    async def approve_operation(
        self, operation_id: str, approver: str, now: float
    ) -> OperationRecord | None:
        row = await self._link.fetchrow(sql.APPROVE_OPERATION, operation_id, approver, now)
        return operation_from_row(row) if row else None

    async def complete_operation(self, operation_id: str, result: bytes) -> None:
        await self._link.execute(sql.COMPLETE_OPERATION, operation_id, result)

    async def purge_operations(self, older_than: float) -> int:
        return await self._link.execute(sql.PURGE_OPERATIONS, older_than)

    # ----------------------------------------------------------------------- audit, meta

    async def append_audit(
        self, time: float, actor: str, action: str, subject_index: str, detail_json: str
    ) -> AuditRecord:
        """Under the audit advisory lock, so two writers never fork the chain."""
        async with self._link.transaction() as conn:
            await conn.execute(sql.AUDIT_LOCK)
            head = await conn.fetchrow(sql.AUDIT_HEAD)
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
            digest = entry_hash(prev, seq, time, actor, action, subject_index, detail_json)
            record = AuditRecord(seq, time, actor, action, subject_index, detail_json, prev, digest)
            await conn.execute(
                sql.INSERT_AUDIT, seq, time, actor, action, subject_index, detail_json, prev, digest
            )
        return record

    async def audit_entries(
        self, after_seq: int, limit: int, subject_index: str = ""
    ) -> list[AuditRecord]:
        if subject_index:
            rows = await self._link.fetch(sql.AUDIT_ENTRIES_OF, after_seq, limit, subject_index)
        else:
            rows = await self._link.fetch(sql.AUDIT_ENTRIES, after_seq, limit)
        return [sql.audit_from_row(r) for r in rows]

    async def get_meta(self, key: str) -> str | None:
        value = await self._link.fetchval(sql.GET_META, key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self._link.execute(sql.SET_META, key, value)

    # ----------------------------------------------------------------------- key rotation

    async def encrypted_rows(self, kind: str, after_id: str, limit: int) -> list[tuple[str, bytes]]:
        rows = await self._link.fetch(sql.ENCRYPTED_ROWS[_kind(kind)], after_id, limit)
        return [(r[0], bytes(r[1])) for r in rows]

    async def replace_encrypted(self, kind: str, row_id: str, old: bytes, new: bytes) -> bool:
        return await self._link.execute(sql.REPLACE_ENCRYPTED[_kind(kind)], row_id, old, new) == 1


def _kind(kind: str) -> str:
    if kind not in sql.ENCRYPTED_COLUMNS:
        raise ValueError(f"unknown encrypted kind {kind!r}")
    return kind


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
