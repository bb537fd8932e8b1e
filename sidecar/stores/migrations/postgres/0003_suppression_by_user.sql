-- Who created a suppression entry: the user (keyword, opt-out button, Meta's
-- user_preferences stop, error 131050) or the app (Revoke). An app's Grant
-- lifts only an app's entry. Entries older than this column count as the
-- user's: an upgrade must never undo a STOP.

ALTER TABLE suppression ADD COLUMN by_user boolean NOT NULL DEFAULT true;
