"""Subjects, consent, suppression and service windows of ``PostgresStateStore``
(its ``SubjectStore``, ``ConsentStore`` and ``WindowStore`` roles)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sidecar.stores import postgres_consent_sql as sql
from sidecar.stores.base import ConsentRecord, ConsentSnapshot, Subject
from sidecar.stores.postgres_link import Link


class PostgresConsent:
    """The subject and consent operations; ``PostgresStateStore`` composes them."""

    _link: Link

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
        """Counts per kind: subject, consent, consent_state, windows, sessions, sends,
        dead_letters, statuses. Suppression rows stay (keyed by suppression index)."""
        row = await self._link.fetchrow(sql.DELETE_SUBJECT, subject_id)
        return dict(zip(sql.DELETE_SUBJECT_KINDS, map(int, row), strict=True))

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
