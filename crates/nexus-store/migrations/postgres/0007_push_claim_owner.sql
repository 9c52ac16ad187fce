-- Who holds a claim on a push_outbox row: the token of the worker (one per
-- process run) that set claimed_until. A worker renews and releases only its
-- own claims; on SQLite, where one process pushes, a start clears them all.
-- Kept side by side with ../sqlite/0007_push_claim_owner.sql: change both together.

ALTER TABLE push_outbox ADD COLUMN claimed_by TEXT COLLATE "C";
