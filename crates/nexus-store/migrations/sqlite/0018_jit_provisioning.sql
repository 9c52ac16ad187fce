-- Just-in-time provisioning of a tenant's unknown Auth0 users at their
-- first login: on when the organization the new users join is set. Deleting
-- that organization turns it off.
-- Kept side by side with ../postgres/0018_jit_provisioning.sql: change both together.

ALTER TABLE idp_tenants ADD COLUMN jit_organization_id INTEGER
    REFERENCES organizations (id) ON DELETE SET NULL;
