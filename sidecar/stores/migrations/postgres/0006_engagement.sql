-- Engagement KPIs (PostgreSQL). Mirrors migrations/sqlite/0006_engagement.sql:
-- template review outcomes and customer sessions, no phone numbers (a session
-- names the subject's random id and times only, and is erased with it).

CREATE TABLE template_events (
    event_key   text PRIMARY KEY,
    template_id text NOT NULL,
    event       text NOT NULL,
    category    text NOT NULL,
    at          double precision NOT NULL
);
CREATE INDEX template_events_by_time ON template_events (at);

CREATE TABLE sessions (
    phone_number_id text NOT NULL,
    subject_id      text NOT NULL,
    opened_at       double precision NOT NULL,
    last_inbound    double precision NOT NULL,
    first_reply_at  double precision,
    PRIMARY KEY (phone_number_id, subject_id, opened_at)
);
CREATE INDEX sessions_by_time ON sessions (opened_at);
CREATE INDEX sessions_by_subject ON sessions (subject_id);
