-- Four-eyes operations (PostgreSQL). Mirrors migrations/sqlite/0002_operations.sql:
-- requested by one principal, run once another approves; payload and result
-- are the caller's opaque bytes (payload is ciphertext).

CREATE TABLE operations (
    id           text PRIMARY KEY,
    kind         text NOT NULL,
    payload      bytea NOT NULL,
    requested_by text NOT NULL,
    created_at   double precision NOT NULL,
    expires_at   double precision NOT NULL,
    state        text NOT NULL,
    approved_by  text NOT NULL,
    result       bytea NOT NULL
);
CREATE INDEX operations_by_expiry ON operations (expires_at);
