-- Webhook subscriptions and their delivery outbox. A delivery row is
-- inserted in the transaction of the audit event it carries, one per
-- matching subscription; the delivery worker claims, sends and settles it.
-- Kept side by side with ../postgres/0011_webhooks.sql: change both together.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    -- JSON array of the event types as given (exact or `prefix.*`).
    event_types TEXT NOT NULL,
    -- Sealed with the secret key (nxs1:…).
    secret TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- One row per event type entry: what the outbox insert matches on.
CREATE TABLE webhook_selectors (
    selector TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    PRIMARY KEY (selector, webhook_id)
);
CREATE INDEX ix_webhook_selectors_webhook ON webhook_selectors (webhook_id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    -- Retries stop a retry period after this (the enqueue or a redelivery).
    retry_from TEXT NOT NULL,
    claimed_until TEXT,
    claimed_by TEXT,
    last_response_status INTEGER,
    last_error TEXT,
    last_attempt_at TEXT,
    created TEXT NOT NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, due_at, id);
CREATE INDEX ix_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
