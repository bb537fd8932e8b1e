-- Owner leases (PostgreSQL). Mirrors migrations/sqlite/0003_owner_leases.sql:
-- every sending process incarnation renews its row while it lives. A send
-- IN_FLIGHT under an owner whose lease lapsed is in doubt; a RESERVED one
-- (claimed, never sent) can be claimed again.

CREATE TABLE owner_leases (
    owner      text PRIMARY KEY,
    expires_at double precision NOT NULL
);
CREATE INDEX sends_reserved ON sends (created_at, key) WHERE state = 'reserved';
