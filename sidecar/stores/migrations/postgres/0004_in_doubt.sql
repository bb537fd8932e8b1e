-- Sends whose Graph call got no usable answer (PostgreSQL). Mirrors
-- migrations/sqlite/0003_in_doubt.sql.
CREATE INDEX sends_in_doubt ON sends (updated_at, key) WHERE state = 'in_doubt';
