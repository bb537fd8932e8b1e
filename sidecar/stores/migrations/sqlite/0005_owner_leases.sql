-- Owner leases: every sending process incarnation renews its row while it
-- lives. A send IN_FLIGHT under an owner whose lease lapsed is in doubt; a
-- RESERVED one (claimed, never sent) can be claimed again.

CREATE TABLE owner_leases (
    owner      TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX sends_reserved ON sends (created_at, key) WHERE state = 'reserved';
