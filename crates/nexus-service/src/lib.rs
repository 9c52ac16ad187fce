//! Nexus use cases: one function per API operation. Each owns its transaction:
//! it checks what it needs, writes, and commits, or fails with a `ServiceError`
//! that says what the caller did wrong.

pub mod api_keys;
pub mod application_deployments;
pub mod applications;
pub mod audit;
pub mod audit_retention;
pub mod auth;
pub mod auth0;
pub mod console;
pub mod console_auth0;
pub mod custom_upns;
pub mod dns;
mod grants;
pub mod identities;
pub mod idp_tenants;
pub mod imports;
pub mod invitations;
mod job_claims;
pub mod log_stream;
pub mod me;
pub mod member_imports;
pub mod members;
pub mod metrics;
pub mod organization_aliases;
pub mod organization_domains;
pub mod organizations;
pub mod products;
pub mod provisioning;
pub mod push;
pub mod reconciliations;
pub mod roles;
pub mod secrets;
pub mod sts_clients;
pub mod subscriptions;
pub mod sync;
pub mod tenant_clients;
pub mod upsell;
pub mod users;
pub mod webhooks;

use nexus_core::ValidationErrors;
use nexus_store::{Store, StoreError};

// What a list operation takes and answers. With the `LIST` spec each
// resource module re-exports, the API builds lists without knowing the store.
pub use nexus_store::{ListParams, Page};

/// What the operations work with. Cheap to clone.
#[derive(Clone)]
pub struct Nexus {
    store: Store,
    authenticator: auth::Authenticator,
    auth0: auth0::Auth0Clients,
    metrics: metrics::Metrics,
    webhooks: std::sync::Arc<webhooks::WebhookConfig>,
    domains: std::sync::Arc<organization_domains::DomainConfig>,
}

impl Nexus {
    pub fn new(store: Store, auth: auth::AuthConfig) -> Self {
        let metrics = metrics::Metrics::default();
        Nexus {
            auth0: auth0::Auth0Clients::new(
                auth.sealer.clone(),
                std::sync::Arc::new(metrics.clone()),
            ),
            authenticator: auth::Authenticator::new(store.clone(), auth),
            store,
            metrics,
            webhooks: std::sync::Arc::new(webhooks::WebhookConfig::default()),
            domains: std::sync::Arc::default(),
        }
    }

    /// This `Nexus` with domains verified as `config` says.
    pub fn with_domains(mut self, config: organization_domains::DomainConfig) -> Self {
        self.domains = std::sync::Arc::new(config);
        self
    }

    pub fn domains(&self) -> &organization_domains::DomainConfig {
        &self.domains
    }

    /// This `Nexus` with webhooks checked and delivered as `config` says.
    pub fn with_webhooks(mut self, config: webhooks::WebhookConfig) -> Self {
        self.webhooks = std::sync::Arc::new(config);
        self
    }

    pub fn webhooks(&self) -> &webhooks::WebhookConfig {
        &self.webhooks
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn authenticator(&self) -> &auth::Authenticator {
        &self.authenticator
    }

    pub fn auth0(&self) -> &auth0::Auth0Clients {
        &self.auth0
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A resource named in the request path does not exist.
    #[error("{resource} '{id}' was not found")]
    NotFound { resource: &'static str, id: String },
    /// The change would break a uniqueness rule or depends on a state the
    /// resource is not in.
    #[error("{0}")]
    Conflict(String),
    #[error("the request is invalid: {0}")]
    Validation(ValidationErrors),
    /// The request is well-formed but cannot be applied to the data as it
    /// is: it names something that does not exist, or a moment already past.
    #[error("the request cannot be applied: {0}")]
    Inapplicable(ValidationErrors),
    /// The request is well-formed but the IdP says it cannot be done (an
    /// unknown Auth0 user or connection, an account Auth0 refuses to create).
    #[error("{0}")]
    Unprocessable(String),
    /// The caller tried to give permissions it does not hold itself.
    #[error(
        "a caller may only grant permissions it holds itself; missing: {}",
        missing.join(", ")
    )]
    NotHeld { missing: Vec<String> },
    /// What the request asks for needs a permission the caller lacks (one
    /// the route itself does not require: a part of the body needs it).
    #[error("this request requires the {0} permission")]
    Lacks(&'static str),
    /// The operation acts on the caller's own user, and the caller is not a
    /// user (an API key, or a client's token).
    #[error(
        "only a user's own access token may do this; API keys and client tokens act as no user"
    )]
    NotAUser,
    /// The request offers a credential of someone other than the caller
    /// (an MFA token of another account).
    #[error("{0}")]
    NotTheCallers(String),
    /// The request's credentials are missing or wrong (a route that
    /// authenticates by a token of its own).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's token was verified for a user that no longer exists.
    #[error("the token's user no longer exists")]
    CallerGone,
    /// An IdP the request depends on did not answer; nothing was changed.
    #[error("{0}")]
    Upstream(String),
    /// The DNS lookup the request depends on failed (no answer, or an
    /// error from the nameserver); nothing was changed.
    #[error("{0}")]
    DnsUnavailable(String),
    /// A stored secret could not be read back with the configured keys.
    #[error(transparent)]
    Secret(#[from] secrets::SealError),
    #[error(transparent)]
    Store(StoreError),
}

impl ServiceError {
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        ServiceError::NotFound {
            resource,
            id: id.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => ServiceError::Conflict(message.to_owned()),
            // A write raced the deletion of what it refers to (an
            // organization a new user joins): nothing was written.
            StoreError::MissingReference => ServiceError::Conflict(
                "a record this change refers to was deleted meanwhile; nothing was changed"
                    .to_owned(),
            ),
            other => ServiceError::Store(other),
        }
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(errors: ValidationErrors) -> Self {
        if errors.only_unstated() {
            ServiceError::Inapplicable(errors)
        } else {
            ServiceError::Validation(errors)
        }
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// Parses a numeric path id; one that is not a number cannot name a resource.
fn numeric_id(resource: &'static str, id: &str) -> Result<i32> {
    id.parse()
        .map_err(|_| ServiceError::not_found(resource, id))
}
