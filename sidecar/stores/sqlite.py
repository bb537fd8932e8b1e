"""The embedded durable backend: ``StateStore`` and ``DedupStore`` on one SQLite file.

Each method is one function of the ``sqlite_*_sql`` modules run whole
on the connection's worker thread (``sqlite_link``): one thread hop, shared
with whatever else queued up meanwhile. Multi-row writes use
``BEGIN IMMEDIATE``, which also serialises them against other processes on
the same file (they wait up to ``BUSY_TIMEOUT_MS``).

Every method that writes has committed when it returns; with WAL and
``synchronous=NORMAL`` that survives kill -9 (see ``sqlite_schema``).
``sqlite3``/``OS`` failures become ``StoreUnavailable``; constraint and
misuse errors are bugs and propagate unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from sidecar.stores import sqlite_consent_sql as consent_sql
from sidecar.stores import sqlite_engagement_sql as engagement
from sidecar.stores import sqlite_send_sql as sends
from sidecar.stores import sqlite_sql as sql
from sidecar.stores import sqlite_status_sql as status_sql
from sidecar.stores.base import (
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
from sidecar.stores.sqlite_link import Link

_PURGE_CHUNK = 5000  # rows per transaction, so a large purge never holds the lock long


def _ping(db: sqlite3.Connection) -> None:
    db.execute("SELECT 1").fetchone()


class SqliteStateStore:
    """``StateStore`` on one SQLite file (``sqlite:///path.db``).

        state = SqliteStateStore("/var/lib/wa-sidecar/state.db")
        await state.open()                      # PRAGMAs + migrations
        dedup = state.dedup()                   # same file, same thread
        await state.begin_send(record)
        await state.close()

    ``":memory:"`` works for tests (one connection, gone on close).
    """

    def __init__(self, path: str | Path) -> None:
        self._link = Link(path)

    def dedup(self) -> SqliteDedupStore:
        """The ``DedupStore`` on this store's connection (closed with it)."""
        return SqliteDedupStore(self._link)

    async def open(self) -> None:
        await self._link.open()

    async def ping(self) -> None:
        await self._link.run(_ping)

    async def close(self) -> None:
        await self._link.close()

    # ----------------------------------------------------------------------- subjects

    async def subjects_by_index(self, blind_index: str) -> list[Subject]:
        return await self._link.run(consent_sql.subjects_by_index, blind_index)

    async def create_subject(self, subject: Subject, same: Callable[[Subject], bool]) -> Subject:
        """See ``SubjectStore.create_subject``. ``same`` runs on the event loop,
        never inside the transaction: we compare the candidates, then insert
        only if no new candidate appeared meanwhile, else compare those too."""
        candidates = await self.subjects_by_index(subject.blind_index)
        checked: set[str] = set()
        while True:
            for candidate in candidates:
                if candidate.id not in checked:
                    if same(candidate):
                        return candidate
                    checked.add(candidate.id)
            fresh = await self._link.write(
                consent_sql.insert_subject_unless, subject, frozenset(checked)
            )
            if fresh is None:
                return subject
            candidates = fresh

    async def delete_subject(self, subject_id: str) -> dict[str, int]:
        """Counts per kind: subject, consent, consent_state, windows, sessions, sends,
        dead_letters, statuses. Suppression rows stay (keyed by suppression index)."""
        return await self._link.write(consent_sql.delete_subject, subject_id)

    async def subject_data(self, subject_id: str, suppression_index: str = "") -> SubjectData:
        return await self._link.run(consent_sql.subject_data, subject_id, suppression_index)

    # ----------------------------------------------------------------------- consent

    async def append_consent(
        self,
        record: ConsentRecord,
        suppression_index: str,
        *,
        lift_suppression: bool,
        by_user: bool = True,
    ) -> bool:
        return await self._link.write(
            consent_sql.append_consent, record, suppression_index, lift_suppression, by_user
        )

    async def consent_history(self, subject_id: str) -> list[ConsentRecord]:
        return await self._link.run(consent_sql.consent_history, subject_id)

    async def snapshot(self, subject_id: str | None, suppression_index: str) -> ConsentSnapshot:
        return await self._link.run(consent_sql.snapshot, subject_id, suppression_index)

    async def prepare_send(
        self,
        key: str | None,
        subject_id: str | None,
        blind_index: str | None,
        suppression_index: str,
    ) -> SendContext:
        """One operation on the worker thread: no task per read."""
        return await self._link.run(
            consent_sql.prepare_send, key, subject_id, blind_index, suppression_index
        )

    async def suppress(self, suppression_index: str, categories: Sequence[str], now: float) -> None:
        await self._link.write(consent_sql.suppress, suppression_index, categories, now)

    async def unsuppress(self, suppression_index: str, categories: Sequence[str]) -> None:
        await self._link.write(consent_sql.unsuppress, suppression_index, categories)

    # ----------------------------------------------------------------------- windows

    async def touch_window(self, phone_number_id: str, subject_id: str, at: float) -> None:
        await self._link.run(consent_sql.touch_window, phone_number_id, subject_id, at)

    async def last_inbound(self, phone_number_id: str, subject_id: str) -> float | None:
        return await self._link.run(consent_sql.last_inbound, phone_number_id, subject_id)

    # ----------------------------------------------------------------------- sends

    async def begin_send(
        self, record: SendRecord, suppression_index: str = "", refusal: bytes = b""
    ) -> SendRecord | None:
        return await self._link.run(sends.begin_send, record, suppression_index, refusal)

    async def begin_sends(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        return await self._link.write(sends.begin_sends, records)

    async def finish_send(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        return await self._link.run(
            sends.finish_send, key, owner, outcome, message_id, response, now
        )

    async def finish_sends(
        self, results: Sequence[tuple[str, str, str, bytes]], owner: str, now: float
    ) -> None:
        await self._link.write(sends.finish_sends, results, owner, now)

    async def start_send(
        self, key: str, owner: str, suppression_index: str, refusal: bytes, now: float
    ) -> StartVerdict:
        return await self._link.run(sends.start_send, key, owner, suppression_index, refusal, now)

    async def release_send(self, key: str, owner: str) -> None:
        await self._link.write(sends.release_send, key, owner)

    async def abandon_send(self, key: str, owner: str, now: float) -> None:
        await self._link.run(sends.abandon_send, key, owner, now)

    async def renew_lease(self, owner: str, expires_at: float) -> None:
        await self._link.run(sends.renew_lease, owner, expires_at)

    async def release_lease(self, owner: str) -> None:
        await self._link.run(sends.release_lease, owner)

    async def lease_expiry(self, owner: str) -> float | None:
        return await self._link.run(sends.lease_expiry, owner)

    async def get_send(self, key: str) -> SendRecord | None:
        return await self._link.run(sends.get_send, key)

    async def list_in_doubt(
        self, owner: str, limit: int, after_key: str = "", *, now: float
    ) -> list[SendRecord]:
        return await self._link.run(sends.list_in_doubt, owner, limit, after_key, now)

    async def resolve_in_doubt(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        return await self._link.write(
            sends.resolve_in_doubt, key, owner, outcome, message_id, response, now
        )

    async def resolve_by_callback(
        self, key: str, message_id: str, delivery_status: str, now: float
    ) -> bool:
        return await self._link.run(
            status_sql.resolve_by_callback, key, message_id, delivery_status, now
        )

    async def hold_in_doubt(
        self, key: str, owner: str, response: bytes, request_ct: bytes, now: float
    ) -> bool:
        return await self._link.run(sends.hold_in_doubt, key, owner, response, request_ct, now)

    async def list_resendable(self, before: float, limit: int) -> list[SendRecord]:
        return await self._link.run(sends.list_resendable, before, limit)

    async def claim_resend(self, key: str, owner: str, now: float) -> bool:
        return await self._link.run(sends.claim_resend, key, owner, now)

    async def record_status(self, status: StatusRecord) -> None:
        await self._link.write(status_sql.record_status, status)

    async def record_statuses(
        self,
        statuses: Sequence[StatusRecord],
        callbacks: Sequence[tuple[str, str, str]],
        now: float,
    ) -> list[bool]:
        return await self._link.write(status_sql.record_statuses, statuses, callbacks, now)

    async def status_counts(self, since: float) -> dict[str, int]:
        return await self._link.run(status_sql.status_counts, since)

    async def purge_sends(self, older_than: float) -> int:
        """Delete finished sends (and statuses) created before ``older_than``,
        a chunk per transaction; queued and in-flight records are kept."""
        total = 0
        while True:
            done, statuses = await self._link.write(
                status_sql.purge_sends_chunk, older_than, _PURGE_CHUNK
            )
            total += done
            if done < _PURGE_CHUNK and statuses < _PURGE_CHUNK:
                return total

    # ----------------------------------------------------------------------- engagement

    async def record_template_status(
        self, event_key: str, template_id: str, event: str, category: str, at: float
    ) -> None:
        await self._link.run(
            engagement.record_template_status, event_key, template_id, event, category, at
        )

    async def template_counts(self, since: float) -> dict[tuple[str, str], int]:
        return await self._link.run(engagement.template_counts, since)

    async def record_inbound(
        self, phone_number_id: str, subject_id: str, at: float, window: float
    ) -> bool:
        return await self._link.write(
            engagement.record_inbound, phone_number_id, subject_id, at, window
        )

    async def finish_sent(
        self, key: str, owner: str, message_id: str, response: bytes, at: float, window: float
    ) -> tuple[bool, float | None]:
        return await self._link.run(
            engagement.finish_sent, key, owner, message_id, response, at, window
        )

    async def session_times(self, since: float) -> list[tuple[float, float | None]]:
        return await self._link.run(engagement.session_times, since)

    async def purge_engagement(self, older_than: float) -> int:
        return await self._link.write(engagement.purge_engagement, older_than)

    # ----------------------------------------------------------------------- dead letters

    async def put_dead_letter(self, record: DeadLetterRecord) -> None:
        await self._link.run(sends.put_dead_letter, record)

    async def list_dead_letters(self, limit: int, after_id: str = "") -> list[DeadLetterRecord]:
        return await self._link.run(sends.list_dead_letters, limit, after_id)

    async def take_dead_letter(self, dead_letter_id: str) -> DeadLetterRecord | None:
        return await self._link.write(sends.take_dead_letter, dead_letter_id)

    # ----------------------------------------------------------------------- outbox

    async def enqueue(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        return await self._link.write(sends.begin_sends, records, SendState.QUEUED)

    async def claim_queued(self, owner: str, limit: int, now: float) -> list[SendRecord]:
        return await self._link.write(sends.claim_queued, owner, limit, now)

    # ----------------------------------------------------------------------- operations

    async def put_operation(self, record: OperationRecord) -> None:
        await self._link.run(sql.put_operation, record)

    async def get_operation(self, operation_id: str) -> OperationRecord | None:
        return await self._link.run(sql.get_operation, operation_id)

    async def approve_operation(
        self, operation_id: str, approver: str, now: float
    ) -> OperationRecord | None:
        """One UPDATE … RETURNING; the hop's ``BEGIN IMMEDIATE`` serialises
        it against every other writer, in this process or another."""
        return await self._link.run(sql.approve_operation, operation_id, approver, now)

    async def complete_operation(self, operation_id: str, result: bytes) -> None:
        await self._link.run(sql.complete_operation, operation_id, result)

    async def purge_operations(self, older_than: float) -> int:
        return await self._link.run(sql.purge_operations, older_than)

    # ----------------------------------------------------------------------- key rotation

    async def encrypted_rows(self, kind: str, after_id: str, limit: int) -> list[tuple[str, bytes]]:
        return await self._link.run(sql.encrypted_rows, kind, after_id, limit)

    async def replace_encrypted(self, kind: str, row_id: str, old: bytes, new: bytes) -> bool:
        return await self._link.run(sql.replace_encrypted, kind, row_id, old, new)

    # ----------------------------------------------------------------------- audit, meta

    async def append_audit(
        self, time: float, actor: str, action: str, subject_index: str, detail_json: str
    ) -> AuditRecord:
        return await self._link.write(
            sql.append_audit, time, actor, action, subject_index, detail_json
        )

    async def audit_entries(
        self, after_seq: int, limit: int, subject_index: str = ""
    ) -> list[AuditRecord]:
        return await self._link.run(sql.audit_entries, after_seq, limit, subject_index)

    async def get_meta(self, key: str) -> str | None:
        return await self._link.run(sql.get_meta, key)

    async def set_meta(self, key: str, value: str) -> None:
        await self._link.run(sql.set_meta, key, value)


class SqliteDedupStore:
    """``DedupStore`` on the state store's file: ``SqliteStateStore.dedup()``.

    Claims survive restarts, so a webhook re-delivered after a crash is still
    recognised. ``close`` is a no-op: the state store owns the connection.
    """

    def __init__(self, link: Link) -> None:
        self._link = link

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        if len(keys) == 1:  # one autocommitted statement is its own transaction
            return await self._link.run(sql.claim, keys, ttl, now)
        return await self._link.write(sql.claim, keys, ttl, now)

    async def purge_expired(self, now: float) -> int:
        return await self._link.run(sql.purge_expired, now)

    async def close(self) -> None:
        return None
