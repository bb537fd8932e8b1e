"""The SQL of the PostgreSQL state store: locks, four-eyes operations, audit,
meta, dedup and key rotation.

By role, the rest is in ``postgres_consent_sql`` (subjects, consent,
windows), ``postgres_send_sql`` (sends, outbox, leases, dead letters) and
``postgres_status_sql`` (delivery statuses).

Statements are constants, so asyncpg prepares each once per connection and
reuses it from its statement cache. Where one store operation touches
several tables, data-modifying CTEs make it one statement: atomic, and one
round trip. Semantics follow the SQLite modules of the same roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.stores.base import AuditRecord
from sidecar.stores.shared import OPERATION_COLUMNS

Row = Any  # asyncpg.Record: untyped

# Advisory-lock keys (64-bit); a subject's lock is in ``postgres_consent_sql``.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wa-sidecar/migrations', 0))"
AUDIT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wa-sidecar/audit', 0))"

# --------------------------------------------------------------------------- operations

PUT_OPERATION = (
    f"INSERT INTO operations ({OPERATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
GET_OPERATION = f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1"
# $1 id, $2 approver, $3 now. A pending, unexpired operation of someone else
# becomes approved; one approved by $2 already is a retry and is returned as
# it is. A concurrent approver waits for the first one's commit, then
# re-checks the WHERE on the approved row and matches nothing: one winner.
APPROVE_OPERATION = f"""
UPDATE operations SET state = 'approved', approved_by = $2
WHERE id = $1
  AND ((state = 'pending' AND expires_at > $3 AND requested_by <> $2)
       OR (state = 'approved' AND approved_by = $2))
RETURNING {OPERATION_COLUMNS}
"""
COMPLETE_OPERATION = (
    "UPDATE operations SET state = 'completed', result = $2, payload = ''::bytea"
    " WHERE id = $1 AND state = 'approved'"
)
# Approved operations stay: one that never completed is evidence of a crash.
PURGE_OPERATIONS = "DELETE FROM operations WHERE expires_at < $1 AND state <> 'approved'"

# --------------------------------------------------------------------------- audit, meta

_AUDIT_COLUMNS = "seq, time, actor, action, subject_index, detail_json, prev_hash, hash"
AUDIT_HEAD = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
INSERT_AUDIT = f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
AUDIT_ENTRIES = f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"
AUDIT_ENTRIES_OF = (
    f"SELECT {_AUDIT_COLUMNS} FROM audit"
    " WHERE subject_index = $3 AND subject_index <> '' AND seq > $1 ORDER BY seq LIMIT $2"
)
GET_META = "SELECT value FROM meta WHERE key = $1"
SET_META = (
    "INSERT INTO meta (key, value) VALUES ($1, $2)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

# --------------------------------------------------------------------------- dedup

# Duplicates within one call are removed before: a statement may not update
# one row twice. An expired key is claimed again by overwriting its expiry;
# a live one is left alone and not returned. A concurrent claimer waits for
# the first one's commit and then sees a live key, so exactly one wins.
CLAIM = (
    "INSERT INTO dedup AS d (key, expires_at) SELECT unnest($1::text[]), $2"
    " ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE d.expires_at <= $3 RETURNING key"
)
PURGE_EXPIRED = "DELETE FROM dedup WHERE expires_at <= $1"

# --------------------------------------------------------------------------- key rotation

# kind → (table, id column, blob column); names are constants, never input.
ENCRYPTED_COLUMNS: Mapping[str, tuple[str, str, str]] = {
    "subject_dek": ("subjects", "id", "wrapped_dek"),
    "dead_letter": ("dead_letters", "id", "request_ct"),
    "send_request": ("sends", "key", "request_ct"),
    "operation_payload": ("operations", "id", "payload"),
}
ENCRYPTED_ROWS = {
    kind: f"SELECT {key}, {blob} FROM {table}"
    f" WHERE {key} > $1 AND octet_length({blob}) > 0 ORDER BY {key} LIMIT $2"
    for kind, (table, key, blob) in ENCRYPTED_COLUMNS.items()
}
REPLACE_ENCRYPTED = {
    kind: f"UPDATE {table} SET {blob} = $3 WHERE {key} = $1 AND {blob} = $2"
    for kind, (table, key, blob) in ENCRYPTED_COLUMNS.items()
}

# --------------------------------------------------------------------------- rows → records


def audit_from_row(row: Row) -> AuditRecord:
    return AuditRecord(*row)
