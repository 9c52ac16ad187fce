-- The directory: organizations, IdP tenants, users and what hangs off them.
-- Kept side by side with ../postgres/0001_directory.sql: change both together.
-- Flags are INTEGER 0/1 and instants RFC 3339 UTC text (fixed width, so they
-- sort as text) in both backends, so that one query text serves both.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    organization_type TEXT NOT NULL,
    crm_account_id TEXT NOT NULL,
    contact TEXT,
    technical_contact TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    is_mfa_required INTEGER NOT NULL DEFAULT 0,
    is_self_service INTEGER NOT NULL DEFAULT 0,
    is_enabled_for_preview_features INTEGER NOT NULL DEFAULT 0,
    is_domain_verification_required INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_organizations_name ON organizations (lower(name));

CREATE TABLE idp_tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    azo_tenant_name TEXT NOT NULL,
    fqdn TEXT NOT NULL,
    login_domain TEXT,
    management_client_id TEXT,
    management_client_secret TEXT,
    management_audience TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_idp_tenants_name ON idp_tenants (lower(name));
CREATE UNIQUE INDEX ux_idp_tenants_azo_tenant_name ON idp_tenants (lower(azo_tenant_name));
CREATE UNIQUE INDEX ux_idp_tenants_fqdn ON idp_tenants (lower(fqdn));
CREATE UNIQUE INDEX ux_idp_tenants_login_domain ON idp_tenants (lower(login_domain));

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    user_type TEXT,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    organization_id INTEGER REFERENCES organizations (id),
    display_name TEXT NOT NULL,
    given_name TEXT,
    family_name TEXT,
    nickname TEXT,
    username TEXT,
    picture TEXT,
    language TEXT,
    email_address TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    email_verify_sent_date TEXT,
    phone_number TEXT,
    phone_verified INTEGER NOT NULL DEFAULT 0,
    recovery_email_address TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    is_mfa_disabled INTEGER NOT NULL DEFAULT 0,
    mfa_enrollment_status TEXT,
    authentication_method TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_users_email_address ON users (lower(email_address));
CREATE INDEX ix_users_display_name ON users (display_name, id);
CREATE INDEX ix_users_family_name ON users (family_name, id);
CREATE INDEX ix_users_created ON users (created, id);
CREATE INDEX ix_users_organization ON users (organization_id);
CREATE INDEX ix_users_owner ON users (owner_id);

CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_guest INTEGER NOT NULL DEFAULT 0,
    is_mfa_required INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    CONSTRAINT ux_memberships_organization_user UNIQUE (organization_id, user_id)
);
CREATE INDEX ix_memberships_user ON memberships (user_id);

CREATE TABLE membership_roles (
    membership_id TEXT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    role_name TEXT NOT NULL,
    expires TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (membership_id, role_name)
);

CREATE TABLE custom_upns (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_upn_key TEXT,
    custom_upn_value TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
-- A missing key is a key of its own: one unkeyed UPN per user, and no two
-- people with the same unkeyed principal.
CREATE UNIQUE INDEX ux_custom_upns_user_key ON custom_upns (user_id, coalesce(client_upn_key, ''));
CREATE UNIQUE INDEX ux_custom_upns_key_value ON custom_upns (coalesce(client_upn_key, ''), lower(custom_upn_value));

CREATE TABLE identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id),
    strategy TEXT NOT NULL,
    azo_user_id TEXT NOT NULL,
    azo_connection_id TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    CONSTRAINT ux_identities_user_tenant UNIQUE (user_id, idp_tenant_id),
    CONSTRAINT ux_identities_tenant_azo_user UNIQUE (idp_tenant_id, azo_user_id)
);
CREATE INDEX ix_identities_connection_user ON identities (azo_connection_id, azo_user_id);

CREATE TABLE identity_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    expires TEXT,
    created TEXT NOT NULL,
    CONSTRAINT ux_identity_groups_identity_name UNIQUE (identity_id, group_name)
);

CREATE TABLE user_attributes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    expires TEXT,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    CONSTRAINT ux_user_attributes_user_name UNIQUE (user_id, name)
);
