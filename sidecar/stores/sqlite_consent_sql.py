"""The SQL of subjects, consent, suppression and service windows on SQLite
(see ``sqlite_sql`` for how these functions run), and ``prepare_send``, the
one read of the Send hot path."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sidecar.stores.base import (
    ConsentAction,
    ConsentRecord,
    ConsentSnapshot,
    SendContext,
    Subject,
    SubjectData,
)
from sidecar.stores.sqlite_send_sql import SEND_SELECT, get_send, send_from_row

_ACTIONS = {a.value: a for a in ConsentAction}

# --------------------------------------------------------------------------- subjects

_SUBJECT = "SELECT id, blind_index, number_ct, wrapped_dek, created_at FROM subjects"


def subjects_by_index(db: sqlite3.Connection, blind_index: str) -> list[Subject]:
    return [
        Subject(*row) for row in db.execute(_SUBJECT + " WHERE blind_index = ?", (blind_index,))
    ]


def insert_subject_unless(
    db: sqlite3.Connection, subject: Subject, checked: frozenset[str]
) -> list[Subject] | None:
    """Insert ``subject`` unless its blind index gained candidates outside
    ``checked``; then return those for the caller to compare (in a write
    transaction, this is the serialisation point of ``create_subject``)."""
    fresh = [s for s in subjects_by_index(db, subject.blind_index) if s.id not in checked]
    if fresh:
        return fresh
    db.execute(
        "INSERT INTO subjects (id, blind_index, number_ct, wrapped_dek, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            subject.id,
            subject.blind_index,
            subject.number_ct,
            subject.wrapped_dek,
            subject.created_at,
        ),
    )
    return None


def delete_subject(db: sqlite3.Connection, subject_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, sql in (
        (
            "statuses",
            "DELETE FROM statuses WHERE message_id IN (SELECT message_id FROM sends"
            " WHERE subject_id = ?1 AND subject_id != '' AND message_id != '')",
        ),
        (
            "dead_letters",
            "DELETE FROM dead_letters WHERE key IN"
            " (SELECT key FROM sends WHERE subject_id = ?1 AND subject_id != '')",
        ),
        ("sends", "DELETE FROM sends WHERE subject_id = ?1 AND subject_id != ''"),
        ("windows", "DELETE FROM windows WHERE subject_id = ?1"),
        ("sessions", "DELETE FROM sessions WHERE subject_id = ?1"),
        ("consent_state", "DELETE FROM consent_current WHERE subject_id = ?1"),
        ("consent", "DELETE FROM consent_events WHERE subject_id = ?1"),
        ("subject", "DELETE FROM subjects WHERE id = ?1"),
    ):
        counts[kind] = db.execute(sql, (subject_id,)).rowcount
    return counts


def subject_data(db: sqlite3.Connection, subject_id: str, suppression_index: str) -> SubjectData:
    """Read in one transaction, so the parts agree with each other."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        row = db.execute(_SUBJECT + " WHERE id = ?", (subject_id,)).fetchone()
        windows = db.execute(
            "SELECT phone_number_id, last_inbound FROM windows WHERE subject_id = ?", (subject_id,)
        )
        return SubjectData(
            subject=Subject(*row) if row else None,
            consent=consent_history(db, subject_id),
            windows=dict(windows.fetchall()),
            sends=[
                send_from_row(r)
                for r in db.execute(SEND_SELECT + " WHERE subject_id = ?", (subject_id,))
            ],
            suppressed=snapshot(db, None, suppression_index).suppressed,
        )
    finally:
        if own:
            db.execute("COMMIT")


# --------------------------------------------------------------------------- consent

_INSERT_EVENT = (
    "INSERT INTO consent_events"
    " (id, subject_id, category, action, recorded_at, actor, proof_ct, event_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# The newer event wins; on a tie only a REVOKE replaces (so REVOKE wins ties).
_UPSERT_CURRENT = (
    "INSERT INTO consent_current (subject_id, category, action, recorded_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (subject_id, category) DO UPDATE"
    " SET action = excluded.action, recorded_at = excluded.recorded_at"
    " WHERE excluded.recorded_at > consent_current.recorded_at"
    " OR (excluded.recorded_at = consent_current.recorded_at AND excluded.action = 'revoke')"
)
# A user's opt-out marks the entry as the user's, also when the app's came first.
_SUPPRESS = (
    "INSERT INTO suppression (suppression_index, category, created_at, by_user)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (suppression_index, category) DO UPDATE"
    " SET by_user = 1 WHERE excluded.by_user = 1 AND suppression.by_user = 0"
)


def append_consent(
    db: sqlite3.Connection,
    record: ConsentRecord,
    suppression_index: str,
    lift_suppression: bool,
    by_user: bool = True,
) -> bool:
    """See ``ConsentStore.append_consent``; run inside ``write``.

    A GRANT lifts suppression only when it also became the current state, so
    a late-arriving old GRANT cannot undo a newer opt-out, and only an
    entry the app created: the user's own opt-out stands.
    """
    inserted = db.execute(
        _INSERT_EVENT,
        (
            record.id,
            record.subject_id,
            record.category,
            record.action.value,
            record.recorded_at,
            record.actor,
            record.proof_ct,
            record.event_key,
        ),
    ).rowcount
    if not inserted:
        return False
    current = db.execute(
        _UPSERT_CURRENT,
        (record.subject_id, record.category, record.action.value, record.recorded_at),
    ).rowcount
    if not suppression_index:
        return True
    if record.action is ConsentAction.REVOKE:
        db.execute(
            _SUPPRESS, (suppression_index, record.category, record.recorded_at, int(by_user))
        )
    elif lift_suppression and current:
        db.execute(
            "DELETE FROM suppression WHERE suppression_index = ? AND category = ? AND by_user = 0",
            (suppression_index, record.category),
        )
    return True


def consent_history(db: sqlite3.Connection, subject_id: str) -> list[ConsentRecord]:
    rows = db.execute(
        "SELECT id, subject_id, category, action, recorded_at, actor, proof_ct, event_key"
        " FROM consent_events WHERE subject_id = ? ORDER BY recorded_at, rowid",
        (subject_id,),
    )
    return [ConsentRecord(r[0], r[1], r[2], _ACTIONS[r[3]], *r[4:]) for r in rows]


_SNAPSHOT = (
    "SELECT 0, category, '' FROM suppression WHERE suppression_index = ?"
    " UNION ALL SELECT 1, category, action FROM consent_current WHERE subject_id = ?"
)


def snapshot(
    db: sqlite3.Connection, subject_id: str | None, suppression_index: str
) -> ConsentSnapshot:
    suppressed: set[str] = set()
    current: dict[str, ConsentAction] = {}
    for is_current, category, action in db.execute(_SNAPSHOT, (suppression_index, subject_id)):
        if is_current:
            current[category] = _ACTIONS[action]
        else:
            suppressed.add(category)
    return ConsentSnapshot(frozenset(suppressed), current)


def prepare_send(
    db: sqlite3.Connection,
    key: str | None,
    subject_id: str | None,
    blind_index: str | None,
    suppression_index: str,
) -> SendContext:
    return SendContext(
        get_send(db, key) if key is not None else None,
        subjects_by_index(db, blind_index) if blind_index is not None else [],
        snapshot(db, subject_id, suppression_index),
    )


def suppress(
    db: sqlite3.Connection, suppression_index: str, categories: Sequence[str], now: float
) -> None:
    db.executemany(_SUPPRESS, [(suppression_index, c, now, 1) for c in categories])


def unsuppress(db: sqlite3.Connection, suppression_index: str, categories: Sequence[str]) -> None:
    db.executemany(
        "DELETE FROM suppression WHERE suppression_index = ? AND category = ?",
        [(suppression_index, c) for c in categories],
    )


# --------------------------------------------------------------------------- windows


def touch_window(db: sqlite3.Connection, phone_number_id: str, subject_id: str, at: float) -> None:
    db.execute(
        "INSERT INTO windows (subject_id, phone_number_id, last_inbound) VALUES (?, ?, ?)"
        " ON CONFLICT (subject_id, phone_number_id) DO UPDATE"
        " SET last_inbound = max(last_inbound, excluded.last_inbound)",
        (subject_id, phone_number_id, at),
    )


def last_inbound(db: sqlite3.Connection, phone_number_id: str, subject_id: str) -> float | None:
    row = db.execute(
        "SELECT last_inbound FROM windows WHERE subject_id = ? AND phone_number_id = ?",
        (subject_id, phone_number_id),
    ).fetchone()
    return float(row[0]) if row else None
