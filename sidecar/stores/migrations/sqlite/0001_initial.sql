-- Initial state schema. Times are Unix seconds (REAL); enums are their values.
-- Personal data is only ever ciphertext (BLOB) or a keyed blind index (TEXT).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE subjects (
    id          TEXT PRIMARY KEY,
    blind_index TEXT NOT NULL,
    number_ct   BLOB NOT NULL,
    wrapped_dek BLOB NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX subjects_by_index ON subjects (blind_index);

CREATE TABLE consent_events (
    id          TEXT PRIMARY KEY,
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    category    TEXT NOT NULL,
    action      TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    actor       TEXT NOT NULL,
    proof_ct    BLOB NOT NULL,
    event_key   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consent_events_by_subject ON consent_events (subject_id, recorded_at);
CREATE UNIQUE INDEX consent_events_by_event_key ON consent_events (event_key)
    WHERE event_key != '';

-- The winning event per (subject, category): last by recorded_at, REVOKE on ties.
CREATE TABLE consent_current (
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    category    TEXT NOT NULL,
    action      TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (subject_id, category)
) WITHOUT ROWID;

-- Keyed by the suppression index, not the subject: it survives erasure.
CREATE TABLE suppression (
    suppression_index TEXT NOT NULL,
    category          TEXT NOT NULL,
    created_at        REAL NOT NULL,
    PRIMARY KEY (suppression_index, category)
) WITHOUT ROWID;

CREATE TABLE windows (
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    phone_number_id TEXT NOT NULL,
    last_inbound    REAL NOT NULL,
    PRIMARY KEY (subject_id, phone_number_id)
) WITHOUT ROWID;

-- Idempotency records that double as message records and the outbox.
CREATE TABLE sends (
    key             TEXT PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL,
    owner           TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    category        TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    to_masked       TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    response        BLOB NOT NULL,
    delivery_status TEXT NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    request_ct      BLOB NOT NULL
);
CREATE INDEX sends_by_message_id ON sends (message_id) WHERE message_id != '';
CREATE INDEX sends_by_created_at ON sends (created_at);
CREATE INDEX sends_by_subject ON sends (subject_id) WHERE subject_id != '';
-- Partial indexes stay small: only the rows that recovery and the outbox scan.
CREATE INDEX sends_in_flight ON sends (key) WHERE state = 'in_flight';
CREATE INDEX sends_queued ON sends (created_at, key) WHERE state = 'queued';

CREATE TABLE statuses (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    timestamp       INTEGER NOT NULL,
    phone_number_id TEXT NOT NULL,
    error_code      INTEGER NOT NULL,
    category        TEXT NOT NULL
);
CREATE INDEX statuses_by_time ON statuses (timestamp);
-- One row per (message, status): Meta re-delivers webhooks, KPIs count each once.
CREATE UNIQUE INDEX statuses_once ON statuses (message_id, status);

CREATE TABLE dead_letters (
    id              TEXT PRIMARY KEY,
    key             TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    category        TEXT NOT NULL,
    to_masked       TEXT NOT NULL,
    error_json      TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    request_ct      BLOB NOT NULL
);
CREATE INDEX dead_letters_by_key ON dead_letters (key);

-- seq is contiguous from 1 (assigned by the writer, not AUTOINCREMENT) so
-- that a gap means a deleted entry.
CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY,
    time          REAL NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject_index TEXT NOT NULL,
    detail_json   TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject_index, seq) WHERE subject_index != '';

CREATE TABLE dedup (
    key        TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedup_by_expiry ON dedup (expires_at);
