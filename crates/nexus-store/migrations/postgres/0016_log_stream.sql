-- Auth0 log streams: the tenant's log-stream token (only its SHA-256, hex;
-- it is compared, never read back), and the Auth0 log events received, by
-- their log_id, so that an event Auth0 delivers again changes nothing.
-- Kept side by side with ../sqlite/0016_log_stream.sql: change both together.

ALTER TABLE idp_tenants ADD COLUMN log_stream_token_hash TEXT COLLATE "C";

CREATE TABLE log_stream_events (
    idp_tenant_id INTEGER NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    log_id TEXT COLLATE "C" NOT NULL,
    -- The Auth0 log type code (`sv`, `sdu`, …) and what Nexus did with it:
    -- applied or ignored.
    type TEXT COLLATE "C" NOT NULL,
    outcome TEXT COLLATE "C" NOT NULL,
    received TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (idp_tenant_id, log_id)
);
CREATE INDEX ix_log_stream_events_received ON log_stream_events (received);
