-- Imports of an Auth0 tenant's users. A job is claimed by one worker at a
-- time (a lease, renewed while it works) and checkpointed after each batch:
-- lines_done lines of the export file at location are handled, and
-- progress (JSON) says what became of them. A job whose worker died is
-- taken up again from its checkpoint when its lease ends.
-- Kept side by side with ../sqlite/0015_imports.sql: change both together.

CREATE TABLE import_jobs (
    id TEXT COLLATE "C" PRIMARY KEY,
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    state TEXT COLLATE "C" NOT NULL,
    dry_run INTEGER NOT NULL,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The Auth0 export job, once asked for, and its file once it is made.
    export_job_id TEXT,
    location TEXT,
    lines_done INTEGER NOT NULL DEFAULT 0,
    progress TEXT NOT NULL,
    error TEXT,
    claimed_by TEXT,
    claimed_until TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ix_import_jobs_state ON import_jobs (state);
-- One import of a tenant at a time, however many requests race to start one.
CREATE UNIQUE INDEX ux_import_jobs_unfinished ON import_jobs (idp_tenant_id)
    WHERE state IN ('Queued', 'Running');
CREATE INDEX ix_import_jobs_tenant ON import_jobs (idp_tenant_id);
