//! Nexus domain: the records Nexus keeps, the values they are made of, and the
//! rules those values obey. Nothing here does I/O.

pub mod application;
pub mod application_deployment;
pub mod audit;
pub mod auth;
pub mod console;
pub mod custom_upn;
pub mod entitlement;
pub mod identity;
pub mod idp_tenant;
pub mod import;
pub mod invitation;
pub mod list_patterns;
pub mod list_query;
pub mod log_stream;
pub mod login;
pub mod mfa;
pub mod mfa_enrollment;
pub mod organization;
pub mod organization_alias;
pub mod organization_domain;
pub mod patterns;
pub mod product;
pub mod reconciliation;
pub mod role;
pub mod subscription;
pub mod sync;
pub mod tenant_client;
pub mod time;
pub mod upsell;
pub mod user;
pub mod validation;
pub mod values;
pub mod webhook;

pub use audit::Actor;
pub use time::Timestamp;
pub use validation::ValidationErrors;

/// Audit stamps carried by every record.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// Generates the text id of a user, custom UPN or role (DESIGN §2: UUIDv7 text).
pub fn new_text_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
