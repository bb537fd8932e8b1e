-- Four-eyes operations: requested by one principal, run once another approves.
-- payload and result are the caller's opaque bytes (payload is ciphertext).

CREATE TABLE operations (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    requested_by TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    state        TEXT NOT NULL,
    approved_by  TEXT NOT NULL,
    result       BLOB NOT NULL
);
CREATE INDEX operations_by_expiry ON operations (expires_at);
