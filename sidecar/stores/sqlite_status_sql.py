"""The SQL of delivery statuses on SQLite (see ``sqlite_sql`` for how these
functions run): recording them, the sends they advance or resolve (a
callback), their counts and the retention purge."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sidecar.stores.base import OUTCOME_SENT, StatusRecord
from sidecar.stores.shared import first_recorded

# Statuses arrive out of order; the delivery status only moves forward.
_RANK = (
    "CASE {} WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3"
    " WHEN 'failed' THEN 4 ELSE 0 END"
)
_ADVANCE_STATUS = (
    f"CASE WHEN {_RANK.format(':status')} >= {_RANK.format('delivery_status')}"
    " THEN :status ELSE delivery_status END"
)
_RESOLVE_BY_CALLBACK = (
    # In an UPDATE every SET expression sees the old row, so both CASEs test
    # the state before this statement.
    f"UPDATE sends SET delivery_status = {_ADVANCE_STATUS},"
    " message_id = CASE WHEN message_id = '' THEN :message_id ELSE message_id END,"
    " outcome = CASE WHEN state IN ('in_flight', 'in_doubt') THEN :sent ELSE outcome END,"
    " response = CASE WHEN state = 'in_doubt' THEN x'' ELSE response END,"
    " request_ct = CASE WHEN state = 'in_doubt' THEN x'' ELSE request_ct END,"
    " state = CASE WHEN state IN ('in_flight', 'in_doubt') THEN 'done' ELSE state END,"
    " updated_at = :now WHERE key = :key"
)
_INSERT_STATUSES = (
    "INSERT INTO statuses"
    " (message_id, status, timestamp, phone_number_id, error_code, category)"
    " VALUES {} ON CONFLICT (message_id, status) DO NOTHING RETURNING message_id, status"
)
_STATUS_ROWS = 150
"""Statuses per INSERT (six bound values each, far below SQLite's limit)."""
# "message_id != ''" lets SQLite use the partial index.
_ADVANCE_BY_MESSAGE = (
    f"UPDATE sends SET delivery_status = {_ADVANCE_STATUS}"
    " WHERE message_id = :message_id AND message_id != ''"
)


def resolve_by_callback(
    db: sqlite3.Connection, key: str, message_id: str, delivery_status: str, now: float
) -> bool:
    params = {
        "status": delivery_status,
        "message_id": message_id,
        "sent": OUTCOME_SENT,
        "now": now,
        "key": key,
    }
    return db.execute(_RESOLVE_BY_CALLBACK, params).rowcount > 0


def record_status(db: sqlite3.Connection, status: StatusRecord) -> None:
    """Run inside ``write``."""
    record_statuses(db, (status,), (), 0.0)


def status_counts(db: sqlite3.Connection, since: float) -> dict[str, int]:
    rows = db.execute(
        "SELECT status, count(*) FROM statuses WHERE timestamp >= ? GROUP BY status", (since,)
    )
    return dict(rows.fetchall())


def purge_sends_chunk(db: sqlite3.Connection, older_than: float, chunk: int) -> tuple[int, int]:
    """Delete up to ``chunk`` finished sends and statuses older than the cut-off.

    Queued and in-flight records stay: they are work or evidence, not history.
    """
    sends = db.execute(
        "DELETE FROM sends WHERE rowid IN (SELECT rowid FROM sends"
        " WHERE created_at < ? AND state = 'done' LIMIT ?)",
        (older_than, chunk),
    ).rowcount
    statuses = db.execute(
        "DELETE FROM statuses WHERE id IN (SELECT id FROM statuses WHERE timestamp < ? LIMIT ?)",
        (older_than, chunk),
    ).rowcount
    return sends, statuses


def record_statuses(
    db: sqlite3.Connection,
    statuses: Sequence[StatusRecord],
    callbacks: Sequence[tuple[str, str, str]],
    now: float,
) -> list[bool]:
    """Run inside ``write``: a delivery's statuses and callback resolutions.

    Returns, per status, whether this call recorded it first (the unique
    ``(message_id, status)`` index decides; a pair repeated within
    ``statuses`` is first only at its first position). Sends and callbacks
    move only for first-recorded statuses: a re-delivery writes nothing.
    """
    inserted: set[tuple[str, str]] = set()
    for start in range(0, len(statuses), _STATUS_ROWS):
        chunk = statuses[start : start + _STATUS_ROWS]
        params: list[object] = []
        for s in chunk:
            params.extend(
                (s.message_id, s.status, s.timestamp, s.phone_number_id, s.error_code, s.category)
            )
        sql = _INSERT_STATUSES.format(", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)))
        inserted.update((row[0], row[1]) for row in db.execute(sql, params))
    first = first_recorded(statuses, inserted)
    db.executemany(
        _ADVANCE_BY_MESSAGE,
        [
            {"status": s.status, "message_id": s.message_id}
            for s, is_first in zip(statuses, first, strict=True)
            if is_first
        ],
    )
    resolutions = [c for c in callbacks if (c[1], c[2]) in inserted]
    if resolutions:
        db.executemany(
            _RESOLVE_BY_CALLBACK,
            [
                {
                    "status": status,
                    "message_id": message_id,
                    "sent": OUTCOME_SENT,
                    "now": now,
                    "key": key,
                }
                for key, message_id, status in resolutions
            ],
        )
    return first
