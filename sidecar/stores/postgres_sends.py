"""Sends, in-doubt resolution, owner leases, delivery statuses, dead letters and
the outbox of ``PostgresStateStore`` (its ``SendStore``, ``LeaseStore``,
``DeadLetterStore`` and ``OutboxStore`` roles)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sidecar.stores import postgres_send_sql as sql
from sidecar.stores import postgres_status_sql as status_sql
from sidecar.stores.base import (
    OUTCOME_IN_DOUBT,
    OUTCOME_REJECTED,
    OUTCOME_SENT,
    DeadLetterRecord,
    SendRecord,
    SendState,
    StartVerdict,
    StatusRecord,
)
from sidecar.stores.postgres_link import Link
from sidecar.stores.shared import first_recorded, send_values

_PURGE_CHUNK = 5000  # rows per statement, so a large purge never holds locks long


class PostgresSends:
    """The send operations; ``PostgresStateStore`` composes them."""

    _link: Link

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
                status_sql.RESOLVE_BY_CALLBACK, delivery_status, message_id, OUTCOME_SENT, now, key
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
            status_sql.RECORD_STATUS,
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
                    status_sql.INSERT_STATUSES,
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
                await conn.executemany(status_sql.ADVANCE_BY_MESSAGE, advances)
            resolutions = [
                (status, mid, OUTCOME_SENT, now, key)
                for key, mid, status in callbacks
                if (mid, status) in inserted
            ]
            if resolutions:
                await conn.executemany(status_sql.RESOLVE_BY_CALLBACK, resolutions)
        return first

    async def status_counts(self, since: float) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in await self._link.fetch(status_sql.STATUS_COUNTS, since)}

    async def purge_sends(self, older_than: float) -> int:
        """Delete finished sends (and statuses) created before ``older_than``,
        a chunk per statement; queued and in-flight records are kept."""
        total = 0
        while True:
            sends, statuses = await self._link.fetchrow(
                status_sql.PURGE_CHUNK, older_than, _PURGE_CHUNK
            )
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
