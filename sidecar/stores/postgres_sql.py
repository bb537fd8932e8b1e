"""The SQL of the PostgreSQL state store, and rows → records.

Statements are constants, so asyncpg prepares each once per connection and
reuses it from its statement cache. Where one store operation touches
several tables, data-modifying CTEs make it one statement: atomic, and one
round trip. Semantics follow ``sqlite_sql``/``sqlite_send_sql``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.stores.base import (
    AuditRecord,
    ConsentAction,
    ConsentRecord,
    DeadLetterRecord,
    SendRecord,
    SendState,
    Subject,
)
from sidecar.stores.shared import OPERATION_COLUMNS

Row = Any  # asyncpg.Record: untyped

_ACTIONS = {a.value: a for a in ConsentAction}
_STATES = {s.value: s for s in SendState}

# Advisory-lock keys (64-bit); subjects lock on hashtextextended(blind_index, 0).
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wa-sidecar/migrations', 0))"
AUDIT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wa-sidecar/audit', 0))"
SUBJECT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"

# --------------------------------------------------------------------------- subjects

SUBJECT_SELECT = "SELECT id, blind_index, number_ct, wrapped_dek, created_at FROM subjects"
SUBJECTS_BY_INDEX = SUBJECT_SELECT + " WHERE blind_index = $1"
SUBJECT_BY_ID = SUBJECT_SELECT + " WHERE id = $1"
INSERT_SUBJECT = (
    "INSERT INTO subjects (id, blind_index, number_ct, wrapped_dek, created_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)

# One statement: every CTE sees the rows as they were before it, so statuses
# and dead letters still find the sends they hang off.
DELETE_SUBJECT = """
WITH sent AS (
    DELETE FROM sends WHERE subject_id = $1 AND subject_id <> '' RETURNING key, message_id
), st AS (
    DELETE FROM statuses WHERE message_id IN (SELECT message_id FROM sent WHERE message_id <> '')
    RETURNING 1
), dl AS (
    DELETE FROM dead_letters WHERE key IN (SELECT key FROM sent) RETURNING 1
), win AS (
    DELETE FROM windows WHERE subject_id = $1 RETURNING 1
), cur AS (
    DELETE FROM consent_current WHERE subject_id = $1 RETURNING 1
), ev AS (
    DELETE FROM consent_events WHERE subject_id = $1 RETURNING 1
), subj AS (
    DELETE FROM subjects WHERE id = $1 RETURNING 1
)
SELECT (SELECT count(*) FROM st), (SELECT count(*) FROM dl), (SELECT count(*) FROM sent),
       (SELECT count(*) FROM win), (SELECT count(*) FROM cur), (SELECT count(*) FROM ev),
       (SELECT count(*) FROM subj)
"""
DELETE_SUBJECT_KINDS = (
    "statuses",
    "dead_letters",
    "sends",
    "windows",
    "consent_state",
    "consent",
    "subject",
)

# --------------------------------------------------------------------------- consent

# $1 id, $2 subject, $3 category, $4 action, $5 recorded_at, $6 actor, $7 proof,
# $8 event_key, $9 suppression index, $10 lift suppression, $11 by the user.
# The newer event becomes current, a REVOKE also on a tie; a GRANT lifts
# suppression only if it became current, so a late old GRANT cannot undo a
# newer opt-out, and only the app's entry: the user's own opt-out stands. A
# user's REVOKE marks an existing app's entry as the user's.
APPEND_CONSENT = """
WITH ev AS (
    INSERT INTO consent_events
        (id, subject_id, category, action, recorded_at, actor, proof_ct, event_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT DO NOTHING
    RETURNING 1
), cur AS (
    INSERT INTO consent_current AS c (subject_id, category, action, recorded_at)
    SELECT $2, $3, $4, $5 FROM ev
    ON CONFLICT (subject_id, category) DO UPDATE
    SET action = excluded.action, recorded_at = excluded.recorded_at
    WHERE excluded.recorded_at > c.recorded_at
       OR (excluded.recorded_at = c.recorded_at AND excluded.action = 'revoke')
    RETURNING 1
), sup AS (
    INSERT INTO suppression AS s (suppression_index, category, created_at, by_user)
    SELECT $9, $3, $5, $11 FROM ev WHERE $4 = 'revoke' AND $9 <> ''
    ON CONFLICT (suppression_index, category) DO UPDATE SET by_user = true
    WHERE excluded.by_user AND NOT s.by_user
    RETURNING 1
), lift AS (
    DELETE FROM suppression
    WHERE suppression_index = $9 AND category = $3 AND NOT by_user
      AND $10 AND $4 = 'grant' AND $9 <> '' AND EXISTS (SELECT 1 FROM cur)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ev)
"""
CONSENT_HISTORY = (
    "SELECT id, subject_id, category, action, recorded_at, actor, proof_ct, event_key"
    " FROM consent_events WHERE subject_id = $1 ORDER BY recorded_at, arrival"
)
SNAPSHOT = (
    "SELECT false, category, '' FROM suppression WHERE suppression_index = $1"
    " UNION ALL SELECT true, category, action FROM consent_current WHERE subject_id = $2"
)
SUPPRESS = (
    "INSERT INTO suppression (suppression_index, category, created_at)"
    " SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING"
)
UNSUPPRESS = "DELETE FROM suppression WHERE suppression_index = $1 AND category = ANY($2::text[])"

# --------------------------------------------------------------------------- windows

TOUCH_WINDOW = (
    "INSERT INTO windows AS w (subject_id, phone_number_id, last_inbound) VALUES ($1, $2, $3)"
    " ON CONFLICT (subject_id, phone_number_id) DO UPDATE"
    " SET last_inbound = greatest(w.last_inbound, excluded.last_inbound)"
)
LAST_INBOUND = "SELECT last_inbound FROM windows WHERE subject_id = $1 AND phone_number_id = $2"

# --------------------------------------------------------------------------- sends

SEND_COLUMNS = (
    "key, fingerprint, state, owner, phone_number_id, category, subject_id, to_masked,"
    " outcome, message_id, response, delivery_status, created_at, updated_at, request_ct"
)
SEND_SELECT = f"SELECT {SEND_COLUMNS} FROM sends"
GET_SEND = SEND_SELECT + " WHERE key = $1"
SENDS_BY_KEYS = SEND_SELECT + " WHERE key = ANY($1::text[])"
SENDS_BY_SUBJECT = SEND_SELECT + " WHERE subject_id = $1 AND subject_id <> '' ORDER BY key"
_SEND_VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15"
_SEND_ARRAYS = (
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::text[], $10::text[], $11::bytea[], $12::text[], $13::float8[],"
    " $14::float8[], $15::bytea[]"
)
# One round trip: the insert, and the row that was already there (the main
# query's snapshot predates the CTE's insert, so a fresh key joins nothing).
BEGIN_SEND = f"""
WITH ins AS (
    INSERT INTO sends ({SEND_COLUMNS}) VALUES ({_SEND_VALUES})
    ON CONFLICT (key) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ins), {", ".join("s." + c.strip() for c in SEND_COLUMNS.split(","))}
FROM (SELECT 1) AS one LEFT JOIN sends AS s ON s.key = $1
"""
INSERT_SENDS = (
    f"INSERT INTO sends ({SEND_COLUMNS}) SELECT * FROM unnest({_SEND_ARRAYS})"
    " ON CONFLICT (key) DO NOTHING RETURNING key"
)
_SEND_TYPED = (
    "$1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,"
    " $9::text, $10::text, $11::bytea, $12::text, $13::float8, $14::float8, $15::bytea"
)
_SUPPRESSED_16 = (
    "EXISTS (SELECT 1 FROM suppression WHERE suppression_index = $16 AND category = $6)"
)
# begin_send with a suppression index: the insert is refused in the same
# statement when the recipient is suppressed for the record's category; the
# third column says so (the caller then stores the refusal).
BEGIN_SEND_UNLESS_SUPPRESSED = f"""
WITH ins AS (
    INSERT INTO sends ({SEND_COLUMNS}) SELECT {_SEND_TYPED} WHERE NOT {_SUPPRESSED_16}
    ON CONFLICT (key) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ins), {_SUPPRESSED_16},
       {", ".join("s." + c.strip() for c in SEND_COLUMNS.split(","))}
FROM (SELECT 1) AS one LEFT JOIN sends AS s ON s.key = $1
"""
_MINE = "key = $1 AND owner = $2 AND state IN ('reserved', 'in_flight')"
FINISH_SEND = (
    "UPDATE sends SET state = 'done', outcome = $3, message_id = $4, response = $5,"
    f" updated_at = $6 WHERE {_MINE}"
)
FINISH_SENDS = (
    "UPDATE sends AS s SET state = 'done', outcome = r.outcome, message_id = r.message_id,"
    " response = r.response, updated_at = $6"
    " FROM unnest($1::text[], $3::text[], $4::text[], $5::bytea[])"
    " AS r (key, outcome, message_id, response)"
    " WHERE s.key = r.key AND s.owner = $2 AND s.state IN ('reserved', 'in_flight')"
)
# $1 key, $2 owner, $3 suppression index, $4 refusal, $5 now, $6 outcome "rejected".
# Both CTEs see the row as it was; their conditions exclude each other.
START_SEND = """
WITH go AS (
    UPDATE sends SET state = 'in_flight', updated_at = $5
    WHERE key = $1 AND owner = $2 AND state = 'reserved' AND NOT EXISTS
        (SELECT 1 FROM suppression WHERE suppression_index = $3 AND category = sends.category)
    RETURNING 1
), refused AS (
    UPDATE sends SET state = 'done', outcome = $6, response = $4, updated_at = $5
    WHERE key = $1 AND owner = $2 AND state = 'reserved' AND EXISTS
        (SELECT 1 FROM suppression WHERE suppression_index = $3 AND category = sends.category)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM go), EXISTS (SELECT 1 FROM refused)
"""
RELEASE_SEND = f"""
WITH back AS (
    UPDATE sends SET state = 'queued', owner = ''
    WHERE {_MINE} AND octet_length(request_ct) > 0
    RETURNING 1
)
DELETE FROM sends WHERE {_MINE} AND octet_length(request_ct) = 0
"""
ABANDON_SEND = (
    "UPDATE sends SET owner = '', updated_at = $3"
    " WHERE key = $1 AND owner = $2 AND state = 'in_flight'"
)
_LAPSED = (
    "NOT EXISTS (SELECT 1 FROM owner_leases AS l WHERE l.owner = sends.owner AND l.expires_at > {})"
)
LIST_IN_DOUBT = (
    SEND_SELECT + " WHERE key > $1 AND (state = 'in_doubt' OR (state = 'in_flight'"
    f" AND owner <> $2 AND {_LAPSED.format('$4')})) ORDER BY key LIMIT $3"
)
RESOLVE_IN_DOUBT = (
    "UPDATE sends SET state = 'done', outcome = $3,"
    " message_id = CASE WHEN $4 = '' THEN message_id ELSE $4 END, response = $5, updated_at = $6,"
    " request_ct = CASE WHEN state = 'in_doubt' THEN ''::bytea ELSE request_ct END"
    " WHERE key = $1 AND (state = 'in_doubt'"
    f" OR (state = 'in_flight' AND owner <> $2 AND {_LAPSED.format('$6')}))"
)
# $1 key, $2 owner, $3 outcome "in_doubt", $4 response, $5 request_ct, $6 now.
HOLD_IN_DOUBT = (
    "UPDATE sends SET state = 'in_doubt', owner = '', outcome = $3, response = $4,"
    " request_ct = $5, updated_at = $6 WHERE key = $1 AND state = 'in_flight' AND owner = $2"
)
LIST_RESENDABLE = (
    SEND_SELECT + " WHERE state = 'in_doubt' AND updated_at <= $1 AND request_ct <> ''::bytea"
    " ORDER BY updated_at, key LIMIT $2"
)
CLAIM_RESEND = (
    "UPDATE sends SET state = 'in_flight', owner = $2, request_ct = ''::bytea, updated_at = $3"
    " WHERE key = $1 AND state = 'in_doubt' AND request_ct <> ''::bytea"
)
RENEW_LEASE = (
    "INSERT INTO owner_leases (owner, expires_at) VALUES ($1, $2)"
    " ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at"
)
RELEASE_LEASE = "DELETE FROM owner_leases WHERE owner = $1"
LEASE_EXPIRY = "SELECT expires_at FROM owner_leases WHERE owner = $1"
# Statuses arrive out of order; the delivery status only moves forward.
_RANK = (
    "CASE {} WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3"
    " WHEN 'failed' THEN 4 ELSE 0 END"
)
_ADVANCE_STATUS = (
    f"CASE WHEN {_RANK.format('$1::text')} >= {_RANK.format('delivery_status')}"
    " THEN $1 ELSE delivery_status END"
)
# $1 status, $2 message id, $3 outcome "sent", $4 now, $5 key. Every SET
# expression sees the row as it was, so both CASEs test the old state.
RESOLVE_BY_CALLBACK = (
    f"UPDATE sends SET delivery_status = {_ADVANCE_STATUS},"
    " message_id = CASE WHEN message_id = '' THEN $2 ELSE message_id END,"
    " outcome = CASE WHEN state IN ('in_flight', 'in_doubt') THEN $3 ELSE outcome END,"
    " response = CASE WHEN state = 'in_doubt' THEN ''::bytea ELSE response END,"
    " request_ct = CASE WHEN state = 'in_doubt' THEN ''::bytea ELSE request_ct END,"
    " state = CASE WHEN state IN ('in_flight', 'in_doubt') THEN 'done' ELSE state END,"
    " updated_at = $4 WHERE key = $5"
)
# $1 status, $2 message id, $3 timestamp, $4 phone number id, $5 error, $6 category.
RECORD_STATUS = f"""
WITH st AS (
    INSERT INTO statuses (message_id, status, timestamp, phone_number_id, error_code, category)
    VALUES ($2, $1, $3, $4, $5, $6)
    ON CONFLICT (message_id, status) DO NOTHING
)
UPDATE sends SET delivery_status = {_ADVANCE_STATUS} WHERE message_id = $2 AND message_id <> ''
"""
# A delivery's statuses in one statement; RETURNING names the pairs recorded
# first (ON CONFLICT DO NOTHING also skips a pair repeated within the arrays).
INSERT_STATUSES = """
INSERT INTO statuses (message_id, status, timestamp, phone_number_id, error_code, category)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::integer[], $6::text[])
ON CONFLICT (message_id, status) DO NOTHING
RETURNING message_id, status
"""
# $1 status, $2 message id.
ADVANCE_BY_MESSAGE = (
    f"UPDATE sends SET delivery_status = {_ADVANCE_STATUS} WHERE message_id = $2"
    " AND message_id <> ''"
)
STATUS_COUNTS = (
    "SELECT status, count(*) FROM statuses WHERE timestamp >= $1::float8 GROUP BY status"
)
# Only finished sends go: queued and in-flight ones are work or evidence.
PURGE_CHUNK = """
WITH s AS (
    DELETE FROM sends WHERE key IN
        (SELECT key FROM sends WHERE created_at < $1 AND state = 'done' LIMIT $2)
    RETURNING 1
), st AS (
    DELETE FROM statuses WHERE id IN
        (SELECT id FROM statuses WHERE timestamp < $1 LIMIT $2)
    RETURNING 1
)
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM st)
"""

# --------------------------------------------------------------------------- outbox

# SKIP LOCKED: concurrent claimers pass over each other's rows instead of
# waiting, and a row taken meanwhile fails the re-check of state = 'queued'.
CLAIM_QUEUED = f"""
WITH queued AS (
    SELECT key, created_at FROM sends WHERE state = 'queued' ORDER BY created_at, key LIMIT $3
    FOR UPDATE SKIP LOCKED
), lapsed AS (
    SELECT key, created_at FROM sends
    WHERE state = 'reserved' AND owner <> $1 AND {_LAPSED.format("$2")}
    ORDER BY created_at, key LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE sends SET state = 'reserved', owner = $1, updated_at = $2
WHERE key IN (
    SELECT key FROM (SELECT * FROM queued UNION ALL SELECT * FROM lapsed) AS both_
    ORDER BY created_at, key LIMIT $3
)
RETURNING {SEND_COLUMNS}
"""

# --------------------------------------------------------------------------- dead letters

_DEAD_COLUMNS = (
    "id, key, phone_number_id, category, to_masked, error_json, attempts, created_at, request_ct"
)
PUT_DEAD_LETTER = (
    f"INSERT INTO dead_letters ({_DEAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (id) DO NOTHING"
)
LIST_DEAD_LETTERS = f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE id > $1 ORDER BY id LIMIT $2"
TAKE_DEAD_LETTER = f"DELETE FROM dead_letters WHERE id = $1 RETURNING {_DEAD_COLUMNS}"

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
WINDOWS_OF = "SELECT phone_number_id, last_inbound FROM windows WHERE subject_id = $1"

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


def subject_from_row(row: Row) -> Subject:
    return Subject(*row)


def consent_from_row(row: Row) -> ConsentRecord:
    return ConsentRecord(row[0], row[1], row[2], _ACTIONS[row[3]], *tuple(row)[4:])


def send_from_row(row: Row, offset: int = 0) -> SendRecord:
    values = tuple(row)[offset:]
    return SendRecord(values[0], values[1], _STATES[values[2]], *values[3:])


def dead_letter_from_row(row: Row) -> DeadLetterRecord:
    return DeadLetterRecord(*row)


def audit_from_row(row: Row) -> AuditRecord:
    return AuditRecord(*row)


def snapshot_parts(rows: list[Row]) -> tuple[frozenset[str], dict[str, ConsentAction]]:
    suppressed: set[str] = set()
    current: dict[str, ConsentAction] = {}
    for is_current, category, action in rows:
        if is_current:
            current[category] = _ACTIONS[action]
        else:
            suppressed.add(category)
    return frozenset(suppressed), current
