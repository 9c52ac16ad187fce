-- The Auth0 account (its `sub`) a `user` console session signed in with:
-- each request checks it is still linked to the session's user in its IdP
-- tenant, so unlinking the account (or linking it to someone else) ends the
-- session. Sessions opened before this column existed have none and end.
-- Kept side by side with ../postgres/0027_console_session_account.sql:
-- change both together.

ALTER TABLE console_sessions ADD COLUMN azo_user_id TEXT;
