-- Roles, their assignment to users (directly and through IdP groups), and the
-- connection name an identity's connection id stands for.
-- Kept side by side with ../postgres/0002_roles.sql: change both together.

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    audience TEXT NOT NULL,
    description TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_roles_audience_name ON roles (audience, lower(name));
CREATE INDEX ix_roles_name ON roles (lower(name), audience);

CREATE TABLE role_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    CONSTRAINT ux_role_permissions_role_code UNIQUE (role_id, code)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    expires TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX ix_user_roles_role ON user_roles (role_id);

CREATE TABLE role_connection_maps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    name TEXT,
    group_name TEXT NOT NULL,
    azo_connection_id TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    CONSTRAINT ux_role_connection_maps_role_connection_group UNIQUE (role_id, azo_connection_id, group_name)
);
CREATE INDEX ix_role_connection_maps_group ON role_connection_maps (group_name, azo_connection_id);

-- The Auth0 connection's name when azo_connection_id holds its id (and the
-- reverse), so that $sync matches either; filled when Auth0 can be asked.
ALTER TABLE identities ADD COLUMN azo_connection_name TEXT;
CREATE INDEX ix_identities_user_connection ON identities (user_id, azo_connection_id);
