-- What Auth0 last refused of a push to one of its users: the profile part of
-- the push (app_metadata went on without it), kept until a whole push
-- succeeds, so that operators see it in the push status.
-- Kept side by side with ../sqlite/0008_push_refusals.sql: change both together.

CREATE TABLE push_refusals (
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    azo_user_id TEXT COLLATE "C" NOT NULL,
    field TEXT COLLATE "C",
    reason TEXT COLLATE "C" NOT NULL,
    refused_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (idp_tenant_id, azo_user_id)
);
