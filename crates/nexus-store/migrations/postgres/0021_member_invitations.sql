-- An organization's default IdP tenant: where invited and imported members
-- who have no user yet are created. Cleared when the tenant is deleted.
-- Member imports (ImportOrganizationMembers): a job, identified by the id
-- its client gives, and its rows in input order; each row gets its result
-- in the transaction that applies it, so a worker that dies (its lease
-- ends) leaves the rest to the next one and no row is applied twice.
-- Kept side by side with ../sqlite/0021_member_invitations.sql: change both together.

ALTER TABLE organizations ADD COLUMN default_idp_tenant_id INTEGER
    REFERENCES idp_tenants (id) ON DELETE SET NULL;
CREATE INDEX ix_organizations_default_idp_tenant ON organizations (default_idp_tenant_id);

CREATE TABLE member_import_jobs (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    state TEXT COLLATE "C" NOT NULL,
    import_date TEXT COLLATE "C" NOT NULL,
    import_filename TEXT COLLATE "C" NOT NULL,
    importing_user_id TEXT COLLATE "C" NOT NULL,
    total INTEGER NOT NULL,
    processed INTEGER NOT NULL DEFAULT 0,
    -- The actor that asked for the import (JSON): its rows are audited as its.
    actor TEXT COLLATE "C" NOT NULL,
    error TEXT COLLATE "C",
    claimed_by TEXT COLLATE "C",
    claimed_until TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    modified TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ix_member_import_jobs_state ON member_import_jobs (state);
CREATE INDEX ix_member_import_jobs_organization ON member_import_jobs (organization_id);

CREATE TABLE member_import_rows (
    job_id TEXT COLLATE "C" NOT NULL REFERENCES member_import_jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    email_address TEXT COLLATE "C",
    -- The row as given (JSON); its result once applied.
    member TEXT COLLATE "C" NOT NULL,
    result TEXT COLLATE "C",
    detail TEXT COLLATE "C",
    PRIMARY KEY (job_id, position)
);
