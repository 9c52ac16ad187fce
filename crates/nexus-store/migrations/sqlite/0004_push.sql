-- The push outbox: "(tenant, Auth0 user) needs its Nexus-owned state pushed",
-- recorded in the transaction that changes that state. One row per target, so
-- many changes coalesce; `version` tells the worker whether the row changed
-- while it pushed.
-- Kept side by side with ../postgres/0004_push.sql: change both together.

CREATE TABLE push_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    azo_user_id TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'pending',
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claimed_until TEXT,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    CONSTRAINT ux_push_outbox_target UNIQUE (idp_tenant_id, azo_user_id)
);
CREATE INDEX ix_push_outbox_due ON push_outbox (status, due_at);
