-- Lists filtered by organization page in id order without sorting the organization's users.
DROP INDEX ix_users_organization;
CREATE INDEX ix_users_organization ON users (organization_id, id);
