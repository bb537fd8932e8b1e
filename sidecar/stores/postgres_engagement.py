"""The engagement role of ``PostgresStateStore``: template status events and
customer sessions (``stores/engagement.py``), with their SQL."""

from __future__ import annotations

from sidecar.stores.postgres_consent_sql import TOUCH_WINDOW
from sidecar.stores.postgres_link import Link, affected
from sidecar.stores.postgres_send_sql import FINISH_SEND
from sidecar.stores.records import OUTCOME_SENT

INSERT_TEMPLATE_EVENT = (
    "INSERT INTO template_events (event_key, template_id, event, category, at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_key) DO NOTHING"
)
TEMPLATE_COUNTS = (
    "SELECT category, event, count(*) FROM template_events WHERE at >= $1 GROUP BY category, event"
)
# Serialises the read-then-write of one (number, subject) across replicas.
SESSION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('session:' || $1 || ':' || $2, 0))"
_KEY = "phone_number_id = $1 AND subject_id = $2"
SESSION_BEFORE = (
    f"SELECT opened_at, last_inbound FROM sessions WHERE {_KEY} AND opened_at <= $3"
    " ORDER BY opened_at DESC LIMIT 1"
)
SESSION_AFTER = (
    f"SELECT opened_at FROM sessions WHERE {_KEY} AND opened_at > $3 ORDER BY opened_at LIMIT 1"
)
EXTEND_SESSION = f"UPDATE sessions SET last_inbound = $3 WHERE {_KEY} AND opened_at = $4"
MOVE_SESSION = f"UPDATE sessions SET opened_at = $3 WHERE {_KEY} AND opened_at = $4"
OPEN_SESSION = (
    "INSERT INTO sessions (phone_number_id, subject_id, opened_at, last_inbound)"
    " VALUES ($1, $2, $3, $3)"
)
MARK_REPLY = """
UPDATE sessions SET first_reply_at = $2
WHERE (phone_number_id, subject_id, opened_at) = (
    SELECT s.phone_number_id, s.subject_id, s.opened_at
    FROM sends d JOIN sessions s
      ON s.phone_number_id = d.phone_number_id AND s.subject_id = d.subject_id
    WHERE d.key = $1 AND d.subject_id <> '' AND s.opened_at <= $2
    ORDER BY s.opened_at DESC LIMIT 1)
AND first_reply_at IS NULL AND $2 < opened_at + $3
RETURNING opened_at
"""
SESSION_TIMES = (
    "SELECT opened_at, first_reply_at FROM sessions WHERE opened_at >= $1 ORDER BY opened_at"
)
PURGE = """
WITH s AS (DELETE FROM sessions WHERE opened_at < $1 RETURNING 1),
     t AS (DELETE FROM template_events WHERE at < $1 RETURNING 1)
SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t)
"""


class PostgresEngagement:
    """The engagement operations; ``PostgresStateStore`` composes them."""

    _link: Link

    async def record_template_status(
        self, event_key: str, template_id: str, event: str, category: str, at: float
    ) -> None:
        await self._link.execute(INSERT_TEMPLATE_EVENT, event_key, template_id, event, category, at)

    async def template_counts(self, since: float) -> dict[tuple[str, str], int]:
        rows = await self._link.fetch(TEMPLATE_COUNTS, since)
        return {(r[0], r[1]): int(r[2]) for r in rows}

    async def record_inbound(
        self, phone_number_id: str, subject_id: str, at: float, window: float
    ) -> bool:
        key = (phone_number_id, subject_id)
        async with self._link.transaction() as conn:
            await conn.execute(SESSION_LOCK, *key)
            await conn.execute(TOUCH_WINDOW, subject_id, phone_number_id, at)
            before = await conn.fetchrow(SESSION_BEFORE, *key, at)
            if before is not None and at < before[1] + window:
                if at > before[1]:
                    await conn.execute(EXTEND_SESSION, *key, at, before[0])
                return False
            after = await conn.fetchrow(SESSION_AFTER, *key, at)
            if after is not None and after[0] < at + window:
                # Delivered late: the session it belongs to began with this message.
                await conn.execute(MOVE_SESSION, *key, at, after[0])
                return False
            await conn.execute(OPEN_SESSION, *key, at)
            return True

    async def finish_sent(
        self, key: str, owner: str, message_id: str, response: bytes, at: float, window: float
    ) -> tuple[bool, float | None]:
        async with self._link.transaction() as conn:
            done = await conn.execute(
                FINISH_SEND, key, owner, OUTCOME_SENT, message_id, response, at
            )
            if not affected(done):
                return False, None
            opened = await conn.fetchval(MARK_REPLY, key, at, window)
        return True, None if opened is None else at - float(opened)

    async def session_times(self, since: float) -> list[tuple[float, float | None]]:
        rows = await self._link.fetch(SESSION_TIMES, since)
        return [(float(r[0]), None if r[1] is None else float(r[1])) for r in rows]

    async def purge_engagement(self, older_than: float) -> int:
        return int(await self._link.fetchval(PURGE, older_than))
