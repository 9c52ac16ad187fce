-- API keys, STS client mappings, and where a tenant's Auth0 endpoints live.
-- Kept side by side with ../sqlite/0003_auth.sql: change both together.

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    description TEXT COLLATE "C",
    permissions TEXT COLLATE "C" NOT NULL,
    role_id TEXT COLLATE "C" REFERENCES roles (id) ON DELETE SET NULL,
    -- SHA-256 of the secret, hex. Secrets are 256 random bits, so a slow
    -- password hash would add latency to every request and no safety.
    secret_hash TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    modified TEXT COLLATE "C" NOT NULL,
    modified_by TEXT COLLATE "C" NOT NULL
);

CREATE TABLE sts_clients (
    client_id TEXT COLLATE "C" PRIMARY KEY,
    description TEXT COLLATE "C",
    permissions TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    modified TEXT COLLATE "C" NOT NULL,
    modified_by TEXT COLLATE "C" NOT NULL
);

-- Base URL of the tenant's Auth0 endpoints when it is not https://{fqdn}
-- (a local Auth0 simulator in development and tests).
ALTER TABLE idp_tenants ADD COLUMN base_url TEXT COLLATE "C";
