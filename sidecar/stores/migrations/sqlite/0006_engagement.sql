-- Engagement KPIs (issue 16): template review outcomes and customer sessions.
-- No phone numbers: templates are the business's; sessions name the subject
-- (a random id) and times only, and are erased with the subject.

-- One row per message_template_status_update event (its keyed dedup key).
CREATE TABLE template_events (
    event_key   TEXT PRIMARY KEY,
    template_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    category    TEXT NOT NULL,
    at          REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX template_events_by_time ON template_events (at);

-- A user-initiated session: an inbound message that found no open 24 h window.
-- last_inbound extends it; first_reply_at is the business's first send accepted
-- by Graph within 24 h of opened_at (NULL: none yet, or none in time).
CREATE TABLE sessions (
    phone_number_id TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    opened_at       REAL NOT NULL,
    last_inbound    REAL NOT NULL,
    first_reply_at  REAL,
    PRIMARY KEY (phone_number_id, subject_id, opened_at)
) WITHOUT ROWID;
CREATE INDEX sessions_by_time ON sessions (opened_at);
CREATE INDEX sessions_by_subject ON sessions (subject_id);
