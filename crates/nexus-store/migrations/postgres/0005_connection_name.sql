-- Identities are found by connection name as well as id (FindUserByConnection, $sync).
CREATE INDEX ix_identities_connection_name_user ON identities (azo_connection_name, azo_user_id);
