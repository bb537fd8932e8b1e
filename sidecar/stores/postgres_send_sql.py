"""The SQL of sends, the outbox, owner leases and dead letters on PostgreSQL, and
their rows → records. Semantics follow ``sqlite_send_sql``; delivery statuses
are in ``postgres_status_sql``."""

from __future__ import annotations

from typing import Any

from sidecar.stores.base import DeadLetterRecord, SendRecord, SendState

Row = Any  # asyncpg.Record: untyped

_STATES = {s.value: s for s in SendState}

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

# --------------------------------------------------------------------------- rows → records


def send_from_row(row: Row, offset: int = 0) -> SendRecord:
    values = tuple(row)[offset:]
    return SendRecord(values[0], values[1], _STATES[values[2]], *values[3:])


def dead_letter_from_row(row: Row) -> DeadLetterRecord:
    return DeadLetterRecord(*row)
