-- Reconciliations of an Auth0 tenant with Nexus (drift): a job compares every
-- linked Auth0 user, as Auth0's export shows it, with what Nexus pushes, and
-- records a push for each that differs. Claimed by one worker at a time (a
-- lease, renewed while it works) and checkpointed after each batch, like an
-- import: lines_done lines of the export at location are handled, and report
-- (JSON) says what was found. export_started is when Auth0 was asked for the
-- export: an identity linked or relinked later may be missing from it
-- without having vanished.
-- Kept side by side with ../postgres/0017_reconciliations.sql: change both together.

CREATE TABLE reconciliation_jobs (
    id TEXT PRIMARY KEY,
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    export_job_id TEXT,
    location TEXT,
    export_started TEXT,
    lines_done INTEGER NOT NULL DEFAULT 0,
    report TEXT NOT NULL,
    error TEXT,
    claimed_by TEXT,
    claimed_until TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX ix_reconciliation_jobs_state ON reconciliation_jobs (state);
-- One reconciliation of a tenant at a time, however many requests (or
-- replicas' schedules) race to start one.
CREATE UNIQUE INDEX ux_reconciliation_jobs_unfinished ON reconciliation_jobs (idp_tenant_id)
    WHERE state IN ('Queued', 'Running');
CREATE INDEX ix_reconciliation_jobs_tenant ON reconciliation_jobs (idp_tenant_id, created);

-- When a reconciliation last found the identity's Auth0 user missing from
-- the tenant (NULL: not missing); cleared when one finds it again.
ALTER TABLE identities ADD COLUMN vanished_at TEXT;
-- The last reconciliation whose export held the identity's Auth0 user: those
-- of the tenant a finished reconciliation did not mark are missing.
ALTER TABLE identities ADD COLUMN reconciled_by TEXT;
