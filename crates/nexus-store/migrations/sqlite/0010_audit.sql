-- The audit trail: one event per write, inserted in the write's transaction.
-- `changes` is JSON text ({field: {before, after}}). Events are only ever
-- inserted, and deleted by retention once old.
-- Kept side by side with ../postgres/0010_audit.sql: change both together.

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_tenant_id INTEGER,
    request_id TEXT,
    client_address TEXT,
    operation TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX ix_audit_events_time ON audit_events (time, id);
CREATE INDEX ix_audit_events_actor ON audit_events (actor, time, id);
CREATE INDEX ix_audit_events_resource ON audit_events (resource_type, resource_id, time, id);
CREATE INDEX ix_audit_events_operation ON audit_events (operation, time, id);
