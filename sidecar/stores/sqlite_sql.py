"""The SQL of the SQLite state store: plain functions over a ``sqlite3.Connection``.

This module holds the write transaction, audit, four-eyes operations, key
rotation, meta and dedup. By role, the rest is in ``sqlite_consent_sql``
(subjects, consent, windows), ``sqlite_send_sql`` (sends, outbox, leases,
dead letters) and ``sqlite_status_sql`` (delivery statuses).

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
from sidecar.stores.base import AuditRecord, OperationRecord
from sidecar.stores.shared import OPERATION_COLUMNS, operation_from_row, operation_params

P = ParamSpec("P")
T = TypeVar("T")


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
