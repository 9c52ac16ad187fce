-- Sessions of the administration console (/console). The browser holds a
-- random 256-bit token in the `nexus_console` cookie; only its SHA-256 is
-- kept here, so a copy of the database signs nobody in.
-- Kept side by side with ../postgres/0025_console_sessions.sql: change both
-- together.

CREATE TABLE console_sessions (
    -- Names the session in the audit trail (never the token or its hash).
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    -- Who signed in: 'apiKey' (api_key_id), later also an Auth0 user.
    kind TEXT NOT NULL,
    api_key_id TEXT REFERENCES api_keys (id) ON DELETE CASCADE,
    -- Key of the HMAC that makes each form's CSRF token.
    csrf_secret TEXT NOT NULL,
    created TEXT NOT NULL,
    -- Idle expiry counts from here.
    last_seen TEXT NOT NULL,
    -- Absolute expiry: created + 12 h.
    expires_at TEXT NOT NULL,
    CHECK (kind <> 'apiKey' OR api_key_id IS NOT NULL)
);

CREATE INDEX ix_console_sessions_api_key ON console_sessions (api_key_id);
