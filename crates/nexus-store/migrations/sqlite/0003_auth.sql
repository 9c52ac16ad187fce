-- API keys, STS client mappings, and where a tenant's Auth0 endpoints live.
-- Kept side by side with ../postgres/0003_auth.sql: change both together.

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    description TEXT,
    permissions TEXT NOT NULL,
    role_id TEXT REFERENCES roles (id) ON DELETE SET NULL,
    -- SHA-256 of the secret, hex. Secrets are 256 random bits, so a slow
    -- password hash would add latency to every request and no safety.
    secret_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);

CREATE TABLE sts_clients (
    client_id TEXT PRIMARY KEY,
    description TEXT,
    permissions TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);

-- Base URL of the tenant's Auth0 endpoints when it is not https://{fqdn}
-- (a local Auth0 simulator in development and tests).
ALTER TABLE idp_tenants ADD COLUMN base_url TEXT;
