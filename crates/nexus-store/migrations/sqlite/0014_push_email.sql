-- send_email: send the user's e-mail address to the database account, with
-- Auth0's verification e-mail unless the address is verified; set when the
-- address changed, kept when the item is recorded again and gone with it.
-- Kept side by side with ../postgres/0014_push_email.sql: change both together.

ALTER TABLE push_outbox ADD COLUMN send_email INTEGER NOT NULL DEFAULT 0;
