-- Products and the applications they are made of, with the Auth0 clients
-- that run each application (a client runs one application at most);
-- organizations' subscriptions to products, each with its log; application
-- deployments (an application made available to an organization under a
-- subscription) and the users assigned to them.
-- JSON objects (metadata) are stored as their text.
-- Kept side by side with ../postgres/0022_products.sql: change both together.

CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    url TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    public_metadata TEXT NOT NULL DEFAULT '{}',
    long_description TEXT,
    organization_id INTEGER REFERENCES organizations (id) ON DELETE SET NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_products_name ON products (lower(name));

CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_applications_name ON applications (product_id, lower(name));

CREATE TABLE application_clients (
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_application_clients_client ON application_clients (client_id, idp_tenant_id);
CREATE INDEX ix_application_clients_application ON application_clients (application_id);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id),
    status TEXT NOT NULL,
    status_text TEXT,
    subscription_type TEXT,
    description TEXT,
    details TEXT,
    expires TEXT,
    is_enabled INTEGER NOT NULL DEFAULT 1,
    sf_license_id TEXT,
    sf_contract_id TEXT,
    sf_subscription_id TEXT,
    custom_metadata TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE INDEX ix_subscriptions_organization ON subscriptions (organization_id);
CREATE INDEX ix_subscriptions_product ON subscriptions (product_id);

CREATE TABLE subscription_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    severity TEXT NOT NULL,
    log_message TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE INDEX ix_subscription_logs_subscription ON subscription_logs (subscription_id, id);

CREATE TABLE application_deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL,
    status_resolution TEXT,
    configuration TEXT,
    custom_metadata TEXT NOT NULL DEFAULT '{}',
    max_user_count INTEGER,
    expires TEXT,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE INDEX ix_application_deployments_subscription ON application_deployments (subscription_id);
CREATE INDEX ix_application_deployments_application ON application_deployments (application_id);

CREATE TABLE application_deployment_users (
    deployment_id INTEGER NOT NULL REFERENCES application_deployments (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    PRIMARY KEY (deployment_id, user_id)
);
CREATE INDEX ix_application_deployment_users_user ON application_deployment_users (user_id);
