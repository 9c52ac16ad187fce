-- An organization's e-mail domains. A domain is proven by a TXT record
-- holding its current verification code; once verified (verified IS NOT
-- NULL) no other organization can claim it. Domains are lower-case ASCII
-- (IDNA), without a trailing dot.
-- Kept side by side with ../postgres/0019_organization_domains.sql: change both together.

CREATE TABLE organization_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    verification_method TEXT NOT NULL,
    authentication_method TEXT NOT NULL,
    domain_source TEXT,
    verification_code TEXT,
    verification_code_expires TEXT,
    verified TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_organization_domains_domain ON organization_domains (organization_id, domain);
-- A domain is verified by one organization at most.
CREATE UNIQUE INDEX ux_organization_domains_verified ON organization_domains (domain)
    WHERE verified IS NOT NULL;
CREATE INDEX ix_organization_domains_domain ON organization_domains (domain);
