-- Upsell: the modules a product declares for sale on top of a
-- subscription, each with its dependency rules; how many of each module a
-- subscription holds; and organizations' requests for more.
-- `request_items` is a JSON array stored as its text.
-- Kept side by side with ../postgres/0023_upsell.sql: change both together.

CREATE TABLE upsell_modules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    module_string TEXT NOT NULL,
    sf_module_id TEXT,
    sf_product_id TEXT,
    software_delivery_type TEXT,
    pupm REAL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_upsell_modules_module ON upsell_modules (product_id, module_string);

CREATE TABLE upsell_module_requirements (
    module_id INTEGER NOT NULL REFERENCES upsell_modules (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    mode TEXT NOT NULL,
    module_string TEXT NOT NULL,
    PRIMARY KEY (module_id, position)
);

CREATE TABLE subscription_modules (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    module_string TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, module_string)
);

CREATE TABLE upsell_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    status_text TEXT,
    sf_license_id TEXT,
    sf_contract_id TEXT,
    sf_opportunity_id TEXT,
    request_items TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE INDEX ix_upsell_requests_subscription ON upsell_requests (subscription_id);
CREATE INDEX ix_upsell_requests_organization ON upsell_requests (organization_id);
