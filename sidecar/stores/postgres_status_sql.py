"""The SQL of delivery statuses on PostgreSQL: recording them, the sends they
advance or resolve (a callback), their counts and the retention purge.
Semantics follow ``sqlite_status_sql``."""

from __future__ import annotations

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
