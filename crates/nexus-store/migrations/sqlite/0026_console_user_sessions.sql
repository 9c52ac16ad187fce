-- Console sessions of people who signed in through the console's Auth0
-- tenant: kind 'user', acting with the Nexus user's own permissions. The
-- session goes with its user or its IdP tenant.
-- Kept side by side with ../postgres/0026_console_user_sessions.sql: change
-- both together. SQLite cannot add constraints to a table, so the table is
-- rebuilt (nothing references it) with the sessions it holds.

CREATE TABLE console_sessions_0026 (
    -- Names the session in the audit trail (never the token or its hash).
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    -- Who signed in: 'apiKey' (api_key_id) or 'user' (user_id, through
    -- the Auth0 tenant of idp_tenant_id).
    kind TEXT NOT NULL,
    api_key_id TEXT REFERENCES api_keys (id) ON DELETE CASCADE,
    -- Key of the HMAC that makes each form's CSRF token.
    csrf_secret TEXT NOT NULL,
    created TEXT NOT NULL,
    -- Idle expiry counts from here.
    last_seen TEXT NOT NULL,
    -- Absolute expiry: created + 12 h.
    expires_at TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    idp_tenant_id INTEGER REFERENCES idp_tenants (id) ON DELETE CASCADE,
    CHECK (kind <> 'apiKey' OR api_key_id IS NOT NULL),
    CONSTRAINT ck_console_sessions_kind CHECK (kind IN ('apiKey', 'user')),
    CONSTRAINT ck_console_sessions_user
        CHECK (kind <> 'user' OR (user_id IS NOT NULL AND idp_tenant_id IS NOT NULL))
);

INSERT INTO console_sessions_0026
    (id, token_hash, kind, api_key_id, csrf_secret, created, last_seen, expires_at)
SELECT id, token_hash, kind, api_key_id, csrf_secret, created, last_seen, expires_at
FROM console_sessions;

DROP TABLE console_sessions;
ALTER TABLE console_sessions_0026 RENAME TO console_sessions;

CREATE INDEX ix_console_sessions_api_key ON console_sessions (api_key_id);
CREATE INDEX ix_console_sessions_user ON console_sessions (user_id);
CREATE INDEX ix_console_sessions_idp_tenant ON console_sessions (idp_tenant_id);
