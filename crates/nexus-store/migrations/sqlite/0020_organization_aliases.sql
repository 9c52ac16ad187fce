-- An organization's ids in other systems. (system name, system id) names
-- one organization at most; system names compare without regard to case
-- (they are ASCII).
-- Kept side by side with ../postgres/0020_organization_aliases.sql: change both together.

CREATE TABLE organization_aliases (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    system_name TEXT NOT NULL,
    system_id TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_organization_aliases_system
    ON organization_aliases (lower(system_name), system_id);
CREATE INDEX ix_organization_aliases_organization ON organization_aliases (organization_id);
