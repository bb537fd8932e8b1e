"""The SQL of the engagement role on SQLite (see ``sqlite_sql`` for how these
functions run): template status events and customer sessions."""

from __future__ import annotations

import sqlite3

from sidecar.stores.records import OUTCOME_SENT
from sidecar.stores.sqlite_consent_sql import touch_window
from sidecar.stores.sqlite_send_sql import finish_send

_SESSION_KEY = "phone_number_id = ? AND subject_id = ?"
_MARK_REPLY = """
UPDATE sessions SET first_reply_at = :at
WHERE (phone_number_id, subject_id, opened_at) = (
    SELECT s.phone_number_id, s.subject_id, s.opened_at
    FROM sends d JOIN sessions s
      ON s.phone_number_id = d.phone_number_id AND s.subject_id = d.subject_id
    WHERE d.key = :key AND d.subject_id != '' AND s.opened_at <= :at
    ORDER BY s.opened_at DESC LIMIT 1)
AND first_reply_at IS NULL AND :at < opened_at + :window
RETURNING opened_at
"""


def record_template_status(
    db: sqlite3.Connection, event_key: str, template_id: str, event: str, category: str, at: float
) -> None:
    db.execute(
        "INSERT INTO template_events (event_key, template_id, event, category, at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING",
        (event_key, template_id, event, category, at),
    )


def template_counts(db: sqlite3.Connection, since: float) -> dict[tuple[str, str], int]:
    rows = db.execute(
        "SELECT category, event, count(*) FROM template_events WHERE at >= ?"
        " GROUP BY category, event",
        (since,),
    )
    return {(category, event): n for category, event, n in rows}


def record_inbound(
    db: sqlite3.Connection, phone_number_id: str, subject_id: str, at: float, window: float
) -> bool:
    """Run inside ``write``: the window, then the session (see ``EngagementStore``)."""
    touch_window(db, phone_number_id, subject_id, at)
    key = (phone_number_id, subject_id)
    before = db.execute(
        f"SELECT opened_at, last_inbound FROM sessions WHERE {_SESSION_KEY} AND opened_at <= ?"
        " ORDER BY opened_at DESC LIMIT 1",
        (*key, at),
    ).fetchone()
    if before is not None and at < before[1] + window:
        if at > before[1]:
            db.execute(
                f"UPDATE sessions SET last_inbound = ? WHERE {_SESSION_KEY} AND opened_at = ?",
                (at, *key, before[0]),
            )
        return False
    after = db.execute(
        f"SELECT opened_at FROM sessions WHERE {_SESSION_KEY} AND opened_at > ?"
        " ORDER BY opened_at LIMIT 1",
        (*key, at),
    ).fetchone()
    if after is not None and after[0] < at + window:
        # Delivered late: the session it belongs to began with this message.
        db.execute(
            f"UPDATE sessions SET opened_at = ? WHERE {_SESSION_KEY} AND opened_at = ?",
            (at, *key, after[0]),
        )
        return False
    db.execute(
        "INSERT INTO sessions (phone_number_id, subject_id, opened_at, last_inbound)"
        " VALUES (?, ?, ?, ?)",
        (*key, at, at),
    )
    return True


def finish_sent(  # mirrors EngagementStore.finish_sent
    db: sqlite3.Connection,
    key: str,
    owner: str,
    message_id: str,
    response: bytes,
    at: float,
    window: float,
) -> tuple[bool, float | None]:
    if not finish_send(db, key, owner, OUTCOME_SENT, message_id, response, at):
        return False, None
    row = db.execute(_MARK_REPLY, {"key": key, "at": at, "window": window}).fetchone()
    return True, None if row is None else at - float(row[0])


def session_times(db: sqlite3.Connection, since: float) -> list[tuple[float, float | None]]:
    rows = db.execute(
        "SELECT opened_at, first_reply_at FROM sessions WHERE opened_at >= ? ORDER BY opened_at",
        (since,),
    )
    return [(float(opened), None if reply is None else float(reply)) for opened, reply in rows]


def purge_engagement(db: sqlite3.Connection, older_than: float) -> int:
    """Run inside ``write``."""
    sessions = db.execute("DELETE FROM sessions WHERE opened_at < ?", (older_than,)).rowcount
    events = db.execute("DELETE FROM template_events WHERE at < ?", (older_than,)).rowcount
    return sessions + events
