"""The SQL of sends, the outbox, owner leases and dead letters (see ``sqlite_sql``);
delivery statuses are in ``sqlite_status_sql``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sidecar.stores.base import (
    OUTCOME_IN_DOUBT,
    OUTCOME_REJECTED,
    DeadLetterRecord,
    SendRecord,
    SendState,
    StartVerdict,
)
from sidecar.stores.shared import send_values

Row = Any  # sqlite3 rows are untyped tuples

_STATES = {s.value: s for s in SendState}

SEND_COLUMNS = (
    "key, fingerprint, state, owner, phone_number_id, category, subject_id, to_masked,"
    " outcome, message_id, response, delivery_status, created_at, updated_at, request_ct"
)
SEND_SELECT = f"SELECT {SEND_COLUMNS} FROM sends"
_INSERT_SEND = (
    f"INSERT INTO sends ({SEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (key) DO NOTHING"
)


def send_from_row(row: Row) -> SendRecord:
    return SendRecord(row[0], row[1], _STATES[row[2]], *row[3:])


def get_send(db: sqlite3.Connection, key: str) -> SendRecord | None:
    row = db.execute(SEND_SELECT + " WHERE key = ?", (key,)).fetchone()
    return send_from_row(row) if row else None


_INSERT_UNLESS_SUPPRESSED = (
    f"INSERT INTO sends ({SEND_COLUMNS})"
    " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
    " WHERE NOT EXISTS (SELECT 1 FROM suppression WHERE suppression_index = ? AND category = ?)"
    " ON CONFLICT (key) DO NOTHING"
)
# A lease alive at ``now`` (the named parameter) for the row's owner.
_LEASED = (
    "EXISTS (SELECT 1 FROM owner_leases AS l WHERE l.owner = sends.owner AND l.expires_at > :now)"
)


def begin_send(
    db: sqlite3.Connection, record: SendRecord, suppression_index: str = "", refusal: bytes = b""
) -> SendRecord | None:
    """One autocommitted INSERT (refused by the suppression list in the same
    statement); a second statement only when the key exists or was refused."""
    if not suppression_index:
        if db.execute(_INSERT_SEND, send_values(record)).rowcount:
            return None
        return get_send(db, record.key)
    values = (*send_values(record), suppression_index, record.category)
    if db.execute(_INSERT_UNLESS_SUPPRESSED, values).rowcount:
        return None
    existing = get_send(db, record.key)
    if existing is not None:
        return existing
    refused = replace(record, state=SendState.DONE, outcome=OUTCOME_REJECTED, response=refusal)
    if db.execute(_INSERT_SEND, send_values(refused)).rowcount:
        return refused
    return get_send(db, record.key)


def begin_sends(
    db: sqlite3.Connection, records: Sequence[SendRecord], state: SendState | None = None
) -> list[SendRecord | None]:
    """Run inside ``write``; ``state`` overrides the records' state (outbox)."""
    keys = json.dumps([r.key for r in records])
    existing = {
        row[0]: send_from_row(row)
        for row in db.execute(
            SEND_SELECT + " WHERE key IN (SELECT value FROM json_each(?))", (keys,)
        )
    }
    results: list[SendRecord | None] = []
    fresh: list[tuple[object, ...]] = []
    for record in records:
        if record.key in existing:
            results.append(existing[record.key])
            continue
        # A key repeated within the batch meets the copy inserted just before.
        existing[record.key] = record if state is None else replace(record, state=state)
        fresh.append(send_values(record, state))
        results.append(None)
    db.executemany(_INSERT_SEND, fresh)
    return results


_FINISH = (
    "UPDATE sends SET state = 'done', outcome = ?, message_id = ?, response = ?, updated_at = ?"
    " WHERE key = ? AND owner = ? AND state IN ('reserved', 'in_flight')"
)


def finish_send(  # mirrors SendStore.finish_send
    db: sqlite3.Connection,
    key: str,
    owner: str,
    outcome: str,
    message_id: str,
    response: bytes,
    now: float,
) -> bool:
    return db.execute(_FINISH, (outcome, message_id, response, now, key, owner)).rowcount > 0


def finish_sends(
    db: sqlite3.Connection,
    results: Sequence[tuple[str, str, str, bytes]],
    owner: str,
    now: float,
) -> None:
    db.executemany(_FINISH, [(o, m, r, now, k, owner) for k, o, m, r in results])


def start_send(  # mirrors SendStore.start_send
    db: sqlite3.Connection,
    key: str,
    owner: str,
    suppression_index: str,
    refusal: bytes,
    now: float,
) -> StartVerdict:
    params = {"key": key, "owner": owner, "index": suppression_index, "now": now}
    went = db.execute(
        "UPDATE sends SET state = 'in_flight', updated_at = :now"
        " WHERE key = :key AND owner = :owner AND state = 'reserved' AND NOT EXISTS"
        " (SELECT 1 FROM suppression WHERE suppression_index = :index"
        " AND category = sends.category)",
        params,
    ).rowcount
    if went:
        return StartVerdict.GO
    refused = db.execute(
        "UPDATE sends SET state = 'done', outcome = :outcome, response = :refusal,"
        " updated_at = :now WHERE key = :key AND owner = :owner AND state = 'reserved'",
        {**params, "outcome": OUTCOME_REJECTED, "refusal": refusal},
    ).rowcount
    return StartVerdict.SUPPRESSED if refused else StartVerdict.LOST


def release_send(db: sqlite3.Connection, key: str, owner: str) -> None:
    """Run inside ``write``."""
    mine = "key = ? AND owner = ? AND state IN ('reserved', 'in_flight')"
    db.execute(
        f"UPDATE sends SET state = 'queued', owner = '' WHERE {mine} AND request_ct != x''",
        (key, owner),
    )
    db.execute(f"DELETE FROM sends WHERE {mine} AND request_ct = x''", (key, owner))


def abandon_send(db: sqlite3.Connection, key: str, owner: str, now: float) -> None:
    db.execute(
        "UPDATE sends SET owner = '', updated_at = ?"
        " WHERE key = ? AND owner = ? AND state = 'in_flight'",
        (now, key, owner),
    )


def list_in_doubt(
    db: sqlite3.Connection, owner: str, limit: int, after_key: str, now: float
) -> list[SendRecord]:
    rows = db.execute(
        SEND_SELECT + " WHERE key > :after AND (state = 'in_doubt' OR (state = 'in_flight'"
        f" AND owner != :owner AND NOT {_LEASED})) ORDER BY key LIMIT :limit",
        {"after": after_key, "owner": owner, "now": now, "limit": limit},
    )
    return [send_from_row(r) for r in rows]


def hold_in_doubt(  # mirrors SendStore.hold_in_doubt
    db: sqlite3.Connection, key: str, owner: str, response: bytes, request_ct: bytes, now: float
) -> bool:
    cursor = db.execute(
        "UPDATE sends SET state = 'in_doubt', owner = '', outcome = ?, response = ?,"
        " request_ct = ?, updated_at = ? WHERE key = ? AND state = 'in_flight' AND owner = ?",
        (OUTCOME_IN_DOUBT, response, request_ct, now, key, owner),
    )
    return cursor.rowcount > 0


def list_resendable(db: sqlite3.Connection, before: float, limit: int) -> list[SendRecord]:
    rows = db.execute(
        SEND_SELECT + " WHERE state = 'in_doubt' AND updated_at <= ? AND request_ct != x''"
        " ORDER BY updated_at, key LIMIT ?",
        (before, limit),
    )
    return [send_from_row(r) for r in rows]


def claim_resend(db: sqlite3.Connection, key: str, owner: str, now: float) -> bool:
    cursor = db.execute(
        "UPDATE sends SET state = 'in_flight', owner = ?, request_ct = x'', updated_at = ?"
        " WHERE key = ? AND state = 'in_doubt' AND request_ct != x''",
        (owner, now, key),
    )
    return cursor.rowcount > 0


def resolve_in_doubt(  # mirrors SendStore.resolve_in_doubt
    db: sqlite3.Connection,
    key: str,
    owner: str,
    outcome: str,
    message_id: str,
    response: bytes,
    now: float,
) -> bool:
    cursor = db.execute(
        "UPDATE sends SET state = 'done', outcome = :outcome,"
        " message_id = CASE WHEN :message_id = '' THEN message_id ELSE :message_id END,"
        " response = :response, updated_at = :now,"
        " request_ct = CASE WHEN state = 'in_doubt' THEN x'' ELSE request_ct END"
        " WHERE key = :key AND (state = 'in_doubt'"
        f" OR (state = 'in_flight' AND owner != :owner AND NOT {_LEASED}))",
        {
            "outcome": outcome,
            "message_id": message_id,
            "response": response,
            "now": now,
            "key": key,
            "owner": owner,
        },
    )
    return cursor.rowcount > 0


# --------------------------------------------------------------------------- leases


def renew_lease(db: sqlite3.Connection, owner: str, expires_at: float) -> None:
    db.execute(
        "INSERT INTO owner_leases (owner, expires_at) VALUES (?, ?)"
        " ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at",
        (owner, expires_at),
    )


def release_lease(db: sqlite3.Connection, owner: str) -> None:
    db.execute("DELETE FROM owner_leases WHERE owner = ?", (owner,))


def lease_expiry(db: sqlite3.Connection, owner: str) -> float | None:
    row = db.execute("SELECT expires_at FROM owner_leases WHERE owner = ?", (owner,)).fetchone()
    return None if row is None else float(row[0])


# --------------------------------------------------------------------------- outbox


def claim_queued(db: sqlite3.Connection, owner: str, limit: int, now: float) -> list[SendRecord]:
    """Run inside ``write``: the write lock makes claims of two workers disjoint.
    Each arm reads its own partial index (queued; reserved, few)."""
    rows = db.execute(
        "UPDATE sends SET state = 'reserved', owner = :owner, updated_at = :now WHERE key IN"
        " (SELECT key FROM (SELECT key, created_at FROM"
        " (SELECT key, created_at FROM sends WHERE state = 'queued'"
        "  ORDER BY created_at, key LIMIT :limit)"
        " UNION ALL SELECT key, created_at FROM"
        " (SELECT key, created_at FROM sends WHERE state = 'reserved' AND owner != :owner"
        f"  AND NOT {_LEASED} ORDER BY created_at, key LIMIT :limit))"
        " ORDER BY created_at, key LIMIT :limit)"
        f" RETURNING {SEND_COLUMNS}",
        {"owner": owner, "now": now, "limit": limit},
    ).fetchall()
    # RETURNING has no defined order.
    return sorted((send_from_row(r) for r in rows), key=lambda s: (s.created_at, s.key))


# --------------------------------------------------------------------------- dead letters

_DEAD_COLUMNS = (
    "id, key, phone_number_id, category, to_masked, error_json, attempts, created_at, request_ct"
)


def put_dead_letter(db: sqlite3.Connection, r: DeadLetterRecord) -> None:
    db.execute(
        f"INSERT INTO dead_letters ({_DEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (
            r.id,
            r.key,
            r.phone_number_id,
            r.category,
            r.to_masked,
            r.error_json,
            r.attempts,
            r.created_at,
            r.request_ct,
        ),
    )


def list_dead_letters(db: sqlite3.Connection, limit: int, after_id: str) -> list[DeadLetterRecord]:
    rows = db.execute(
        f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [DeadLetterRecord(*r) for r in rows]


def take_dead_letter(db: sqlite3.Connection, dead_letter_id: str) -> DeadLetterRecord | None:
    """Run inside ``write`` (RETURNING rows are read before the commit)."""
    rows = db.execute(
        f"DELETE FROM dead_letters WHERE id = ? RETURNING {_DEAD_COLUMNS}", (dead_letter_id,)
    ).fetchall()
    return DeadLetterRecord(*rows[0]) if rows else None
