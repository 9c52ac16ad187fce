-- Console sessions of people who signed in through the console's Auth0
-- tenant: kind 'user', acting with the Nexus user's own permissions. The
-- session goes with its user or its IdP tenant.
-- Kept side by side with ../sqlite/0026_console_user_sessions.sql (which
-- rebuilds the table: SQLite adds no constraints to a table): change both
-- together.

ALTER TABLE console_sessions
    ADD COLUMN user_id TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN idp_tenant_id INTEGER REFERENCES idp_tenants (id) ON DELETE CASCADE,
    ADD CONSTRAINT ck_console_sessions_kind CHECK (kind IN ('apiKey', 'user')),
    ADD CONSTRAINT ck_console_sessions_user
        CHECK (kind <> 'user' OR (user_id IS NOT NULL AND idp_tenant_id IS NOT NULL));

CREATE INDEX ix_console_sessions_user ON console_sessions (user_id);
CREATE INDEX ix_console_sessions_idp_tenant ON console_sessions (idp_tenant_id);
