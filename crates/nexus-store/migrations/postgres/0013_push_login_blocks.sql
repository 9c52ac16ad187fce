-- Whether a push must also lift the Auth0 account's brute-force blocks
-- (`DELETE /api/v2/user-blocks/{id}`): set when the user is unblocked in
-- Nexus, kept when the item is recorded again, gone with the item.
-- Kept side by side with ../sqlite/0013_push_login_blocks.sql: change both together.

ALTER TABLE push_outbox ADD COLUMN lift_login_blocks INTEGER NOT NULL DEFAULT 0;
