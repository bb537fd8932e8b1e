-- Initial state schema (PostgreSQL). Mirrors migrations/sqlite/0001_initial.sql:
-- times are Unix seconds (double precision), enums are their values, personal
-- data is only ever ciphertext (bytea) or a keyed blind index (text).
-- Keys that callers page through compare byte-wise (COLLATE "C"), whatever the
-- database's default collation, so paging agrees with SQLite.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE subjects (
    id          text COLLATE "C" PRIMARY KEY,
    blind_index text NOT NULL,
    number_ct   bytea NOT NULL,
    wrapped_dek bytea NOT NULL,
    created_at  double precision NOT NULL
);
CREATE INDEX subjects_by_index ON subjects (blind_index);

CREATE TABLE consent_events (
    id          text PRIMARY KEY,
    subject_id  text COLLATE "C" NOT NULL REFERENCES subjects (id),
    category    text NOT NULL,
    action      text NOT NULL,
    recorded_at double precision NOT NULL,
    actor       text NOT NULL,
    proof_ct    bytea NOT NULL,
    event_key   text NOT NULL DEFAULT '',
    -- Arrival order, to break ties in recorded_at.
    arrival     bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX consent_events_by_subject ON consent_events (subject_id, recorded_at, arrival);
CREATE UNIQUE INDEX consent_events_by_event_key ON consent_events (event_key)
    WHERE event_key <> '';

-- The winning event per (subject, category): last by recorded_at, REVOKE on ties.
CREATE TABLE consent_current (
    subject_id  text COLLATE "C" NOT NULL REFERENCES subjects (id),
    category    text NOT NULL,
    action      text NOT NULL,
    recorded_at double precision NOT NULL,
    PRIMARY KEY (subject_id, category)
);

-- Keyed by the suppression index, not the subject: it survives erasure.
CREATE TABLE suppression (
    suppression_index text NOT NULL,
    category          text NOT NULL,
    created_at        double precision NOT NULL,
    PRIMARY KEY (suppression_index, category)
);

CREATE TABLE windows (
    subject_id      text COLLATE "C" NOT NULL REFERENCES subjects (id),
    phone_number_id text NOT NULL,
    last_inbound    double precision NOT NULL,
    PRIMARY KEY (subject_id, phone_number_id)
);

-- Idempotency records that double as message records and the outbox.
CREATE TABLE sends (
    key             text COLLATE "C" PRIMARY KEY,
    fingerprint     text NOT NULL,
    state           text NOT NULL,
    owner           text NOT NULL,
    phone_number_id text NOT NULL,
    category        text NOT NULL,
    subject_id      text COLLATE "C" NOT NULL,
    to_masked       text NOT NULL,
    outcome         text NOT NULL,
    message_id      text NOT NULL,
    response        bytea NOT NULL,
    delivery_status text NOT NULL,
    created_at      double precision NOT NULL,
    updated_at      double precision NOT NULL,
    request_ct      bytea NOT NULL
);
CREATE INDEX sends_by_message_id ON sends (message_id) WHERE message_id <> '';
CREATE INDEX sends_by_subject ON sends (subject_id) WHERE subject_id <> '';
-- Partial indexes stay small: only the rows that purge, recovery and the outbox scan.
CREATE INDEX sends_done_by_created_at ON sends (created_at) WHERE state = 'done';
CREATE INDEX sends_in_flight ON sends (key) WHERE state = 'in_flight';
CREATE INDEX sends_queued ON sends (created_at, key) WHERE state = 'queued';

CREATE TABLE statuses (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      text NOT NULL,
    status          text NOT NULL,
    timestamp       bigint NOT NULL,
    phone_number_id text NOT NULL,
    error_code      integer NOT NULL,
    category        text NOT NULL
);
CREATE INDEX statuses_by_time ON statuses (timestamp);
-- One row per (message, status): Meta re-delivers webhooks, KPIs count each once.
CREATE UNIQUE INDEX statuses_once ON statuses (message_id, status);

CREATE TABLE dead_letters (
    id              text COLLATE "C" PRIMARY KEY,
    key             text COLLATE "C" NOT NULL,
    phone_number_id text NOT NULL,
    category        text NOT NULL,
    to_masked       text NOT NULL,
    error_json      text NOT NULL,
    attempts        integer NOT NULL,
    created_at      double precision NOT NULL,
    request_ct      bytea NOT NULL
);
CREATE INDEX dead_letters_by_key ON dead_letters (key);

-- seq is contiguous from 1 (assigned by the writer under an advisory lock,
-- not by a sequence) so that a gap means a deleted entry.
CREATE TABLE audit (
    seq           bigint PRIMARY KEY,
    time          double precision NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    subject_index text NOT NULL,
    detail_json   text NOT NULL,
    prev_hash     text NOT NULL,
    hash          text NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject_index, seq) WHERE subject_index <> '';

CREATE TABLE dedup (
    key        text PRIMARY KEY,
    expires_at double precision NOT NULL
);
CREATE INDEX dedup_by_expiry ON dedup (expires_at);
