//! Black-box tests over real HTTP against `nexus` on loopback, each on SQLite
//! and on PostgreSQL.

mod sim_tenant;
mod support;

mod audit;
mod audit_plans;
mod audit_read;
mod audit_writes;
mod auth;
mod auth0_checks;
mod backups;
mod blocking;
mod concurrency;
mod custom_upns;
mod deletion;
mod errors;
mod grants;
mod identities;
mod idp_tenants;
mod imports;
mod limits;
mod me;
mod members;
mod metrics;
mod mfa;
mod mfa_enrollment;
mod nats;
mod openapi;
mod organizations;
mod outage;
mod paging;
mod passwords;
mod push;
mod races;
mod request_ids;
mod roles;
mod secrets;
mod server;
mod startup;
mod sync;
mod tenant_clients;
mod tokens;
mod traces;
mod users;
mod verification;
mod webhooks;
