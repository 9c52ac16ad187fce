-- What a push does besides PATCHing the Auth0 account, kept when the item
-- is recorded again and gone with it:
-- lift_login_blocks: lift the account's brute-force blocks
-- (`DELETE /api/v2/user-blocks/{id}`), set when the user is unblocked;
-- delete_account: delete the account (`DELETE /api/v2/users/{id}`) if it is
-- still linked to nobody, set when a user is deleted with an account Nexus
-- created (identities.provisioned).
-- Kept side by side with ../sqlite/0013_push_account_actions.sql: change both together.

ALTER TABLE push_outbox ADD COLUMN lift_login_blocks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE push_outbox ADD COLUMN delete_account INTEGER NOT NULL DEFAULT 0;
-- Whether Nexus created the Auth0 account (a database account it
-- provisioned); accounts linked before this was recorded count as not.
ALTER TABLE identities ADD COLUMN provisioned INTEGER NOT NULL DEFAULT 0;
