-- An STS client mapping belongs to one IdP tenant: only tokens that tenant
-- issued may use it. Mappings made before this have none and are not used.
ALTER TABLE sts_clients ADD COLUMN idp_tenant_id INTEGER REFERENCES idp_tenants (id) ON DELETE CASCADE;
