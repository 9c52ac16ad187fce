-- A subscription's kind: `http` (the public API's, signed POSTs) or a
-- built-in sink the server registers from its configuration (`nats`:
-- JetStream). Sinks share the delivery outbox, worker and retries; the API
-- shows only `http` subscriptions.
-- Kept side by side with ../postgres/0012_webhook_kinds.sql: change both together.

ALTER TABLE webhooks ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
