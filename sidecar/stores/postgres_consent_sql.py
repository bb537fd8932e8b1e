"""The SQL of subjects, consent, suppression and service windows on PostgreSQL, and
their rows → records. Semantics follow ``sqlite_consent_sql``; see ``postgres_sql``
for how statements are prepared."""

from __future__ import annotations

from typing import Any

from sidecar.stores.base import ConsentAction, ConsentRecord, Subject

Row = Any  # asyncpg.Record: untyped

_ACTIONS = {a.value: a for a in ConsentAction}

# A subject's creation locks its blind index: hashtextextended(blind_index, 0).
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
), ses AS (
    DELETE FROM sessions WHERE subject_id = $1 RETURNING 1
), cur AS (
    DELETE FROM consent_current WHERE subject_id = $1 RETURNING 1
), ev AS (
    DELETE FROM consent_events WHERE subject_id = $1 RETURNING 1
), subj AS (
    DELETE FROM subjects WHERE id = $1 RETURNING 1
)
SELECT (SELECT count(*) FROM st), (SELECT count(*) FROM dl), (SELECT count(*) FROM sent),
       (SELECT count(*) FROM win), (SELECT count(*) FROM ses), (SELECT count(*) FROM cur),
       (SELECT count(*) FROM ev), (SELECT count(*) FROM subj)
"""
DELETE_SUBJECT_KINDS = (
    "statuses",
    "dead_letters",
    "sends",
    "windows",
    "sessions",
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
WINDOWS_OF = "SELECT phone_number_id, last_inbound FROM windows WHERE subject_id = $1"

# --------------------------------------------------------------------------- rows → records


def subject_from_row(row: Row) -> Subject:
    return Subject(*row)


def consent_from_row(row: Row) -> ConsentRecord:
    return ConsentRecord(row[0], row[1], row[2], _ACTIONS[row[3]], *tuple(row)[4:])


def snapshot_parts(rows: list[Row]) -> tuple[frozenset[str], dict[str, ConsentAction]]:
    suppressed: set[str] = set()
    current: dict[str, ConsentAction] = {}
    for is_current, category, action in rows:
        if is_current:
            current[category] = _ACTIONS[action]
        else:
            suppressed.add(category)
    return frozenset(suppressed), current
