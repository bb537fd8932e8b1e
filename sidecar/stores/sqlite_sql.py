"""The SQL of the SQLite state store: plain functions over a ``sqlite3.Connection``.

This module holds subjects, consent, windows, audit, four-eyes operations,
meta and dedup;
``sqlite_send_sql`` holds sends, the outbox, statuses and dead letters.

Each function is one store operation and runs whole on the connection's
worker thread (``sqlite.py`` queues it), so it is one thread hop and no other
coroutine's statement can slip into its transaction. Functions that change
several rows are wrapped in ``write``; the link runs every hop in one
``BEGIN IMMEDIATE`` … ``COMMIT`` with a savepoint per operation (group
commit). SQL text is constant, so the ``sqlite3`` statement cache prepares
each statement once per connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from sidecar.stores.audit_chain import GENESIS_HASH, entry_hash
from sidecar.stores.base import (
    AuditRecord,
    ConsentAction,
    ConsentRecord,
    ConsentSnapshot,
    OperationRecord,
    SendContext,
    Subject,
    SubjectData,
)
from sidecar.stores.shared import OPERATION_COLUMNS, operation_from_row, operation_params
from sidecar.stores.sqlite_send_sql import SEND_SELECT, get_send, send_from_row

P = ParamSpec("P")
T = TypeVar("T")
_ACTIONS = {a.value: a for a in ConsentAction}


def write(
    db: sqlite3.Connection,
    fn: Callable[Concatenate[sqlite3.Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``fn`` in a write transaction: other processes wait, all or nothing.

    Inside the link's hop transaction (group commit) ``fn`` already runs in a
    savepoint of its own, which gives the same all-or-nothing.
    """
    nested = db.in_transaction
    if nested:
        return fn(db, *args, **kwargs)
    db.execute("BEGIN IMMEDIATE")
    try:
        result = fn(db, *args, **kwargs)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result


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


# --------------------------------------------------------------------------- audit

_AUDIT_COLUMNS = "seq, time, actor, action, subject_index, detail_json, prev_hash, hash"


def append_audit(  # mirrors AuditStore.append_audit
    db: sqlite3.Connection,
    time: float,
    actor: str,
    action: str,
    subject_index: str,
    detail_json: str,
) -> AuditRecord:
    """Run inside ``write``: reading the head and appending must not interleave."""
    head = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    digest = entry_hash(prev, seq, time, actor, action, subject_index, detail_json)
    record = AuditRecord(seq, time, actor, action, subject_index, detail_json, prev, digest)
    db.execute(
        f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, time, actor, action, subject_index, detail_json, prev, digest),
    )
    return record


def audit_entries(
    db: sqlite3.Connection, after_seq: int, limit: int, subject_index: str
) -> list[AuditRecord]:
    if subject_index:
        rows = db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit"
            " WHERE subject_index = ? AND subject_index != '' AND seq > ? ORDER BY seq LIMIT ?",
            (subject_index, after_seq, limit),
        )
    else:
        rows = db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
    return [AuditRecord(*r) for r in rows]


# --------------------------------------------------------------------------- operations

# ?1 id, ?2 approver, ?3 now. One statement: a pending, unexpired operation
# of someone else becomes approved; one approved by ?2 already is a retry and
# is returned as it is (the SET changes nothing). Writers are serialised, so
# of two approvers the second finds the row approved by the first.
_APPROVE_OPERATION = (
    "UPDATE operations SET state = 'approved', approved_by = ?2 WHERE id = ?1"
    " AND ((state = 'pending' AND expires_at > ?3 AND requested_by != ?2)"
    " OR (state = 'approved' AND approved_by = ?2))"
    f" RETURNING {OPERATION_COLUMNS}"
)


def put_operation(db: sqlite3.Connection, record: OperationRecord) -> None:
    db.execute(
        f"INSERT INTO operations ({OPERATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        operation_params(record),
    )


def get_operation(db: sqlite3.Connection, operation_id: str) -> OperationRecord | None:
    row = db.execute(
        f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = ?", (operation_id,)
    ).fetchone()
    return operation_from_row(row) if row else None


def approve_operation(
    db: sqlite3.Connection, operation_id: str, approver: str, now: float
) -> OperationRecord | None:
    # fetchall: the statement runs to its end before the hop commits.
    rows = db.execute(_APPROVE_OPERATION, (operation_id, approver, now)).fetchall()
    return operation_from_row(rows[0]) if rows else None


def complete_operation(db: sqlite3.Connection, operation_id: str, result: bytes) -> None:
    db.execute(
        "UPDATE operations SET state = 'completed', result = ?, payload = x''"
        " WHERE id = ? AND state = 'approved'",
        (result, operation_id),
    )


def purge_operations(db: sqlite3.Connection, older_than: float) -> int:
    """Approved operations stay: one that never completed is evidence of a crash."""
    return db.execute(
        "DELETE FROM operations WHERE expires_at < ? AND state != 'approved'", (older_than,)
    ).rowcount


# --------------------------------------------------------------------------- key rotation

# kind → (table, row id column, blob column); names are constants, never input.
_ENCRYPTED = {
    "subject_dek": ("subjects", "id", "wrapped_dek"),
    "dead_letter": ("dead_letters", "id", "request_ct"),
    "send_request": ("sends", "key", "request_ct"),
    "operation_payload": ("operations", "id", "payload"),
}


def _encrypted(kind: str) -> tuple[str, str, str]:
    try:
        return _ENCRYPTED[kind]
    except KeyError:
        raise ValueError(f"unknown encrypted kind {kind!r}") from None


def encrypted_rows(
    db: sqlite3.Connection, kind: str, after_id: str, limit: int
) -> list[tuple[str, bytes]]:
    table, key, blob = _encrypted(kind)
    rows = db.execute(
        f"SELECT {key}, {blob} FROM {table}"  # identifiers from _ENCRYPTED
        f" WHERE {key} > ? AND length({blob}) > 0 ORDER BY {key} LIMIT ?",
        (after_id, limit),
    )
    return [(str(r[0]), bytes(r[1])) for r in rows]


def replace_encrypted(
    db: sqlite3.Connection, kind: str, row_id: str, old: bytes, new: bytes
) -> bool:
    """One autocommitted compare-and-set: writes only if the blob is still ``old``."""
    table, key, blob = _encrypted(kind)
    return (
        db.execute(
            f"UPDATE {table} SET {blob} = ? WHERE {key} = ? AND {blob} = ?",
            (new, row_id, old),
        ).rowcount
        > 0
    )


# --------------------------------------------------------------------------- meta, dedup


def get_meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


_CLAIM = (
    "INSERT INTO dedup (key, expires_at) VALUES {} ON CONFLICT (key) DO UPDATE"
    " SET expires_at = excluded.expires_at WHERE dedup.expires_at <= ? RETURNING key"
)
_CLAIM_ROWS = 500
"""Keys per statement (two bound values each, far below SQLite's limit)."""


def claim(db: sqlite3.Connection, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
    """Run inside ``write`` when there is more than one key.

    One statement per 500 keys; ``RETURNING`` names the keys this call
    inserted or revived (an expired claim), so a key repeated within
    ``keys`` is first only at its first position.
    """
    expires = now + ttl
    won: set[str] = set()
    for start in range(0, len(keys), _CLAIM_ROWS):
        chunk = keys[start : start + _CLAIM_ROWS]
        params: list[object] = []
        for key in chunk:
            params.append(key)
            params.append(expires)
        params.append(now)
        sql = _CLAIM.format(", ".join(["(?, ?)"] * len(chunk)))
        won.update(row[0] for row in db.execute(sql, params))
    fresh: list[bool] = []
    for key in keys:
        fresh.append(key in won)
        won.discard(key)
    return fresh


def purge_expired(db: sqlite3.Connection, now: float) -> int:
    return db.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,)).rowcount
