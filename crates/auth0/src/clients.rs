//! Applications (clients) as the Management API lists them (`Client`).

use serde::Deserialize;
use serde_json::{Map, Value};

/// An application. Every field is optional in the specification; the many
/// settings Nexus does not read are ignored, and so is the client secret:
/// it is never read into memory.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Client {
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `non_interactive` for machine-to-machine applications.
    pub app_type: Option<String>,
    pub is_first_party: Option<bool>,
    /// Up to ten keys, e.g. the `app_upn_key` that picks a custom UPN.
    pub client_metadata: Option<Map<String, Value>>,
    pub logo_uri: Option<String>,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    /// CORS origins.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub cross_origin_authentication: Option<bool>,
    pub mobile: Option<ClientMobile>,
    pub jwt_configuration: Option<ClientJwtConfiguration>,
    pub refresh_token: Option<ClientRefreshToken>,
}

impl Client {
    /// A `client_metadata` value, when it is a string.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.client_metadata.as_ref()?.get(key)?.as_str()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ClientMobile {
    pub ios: Option<ClientMobileIos>,
    pub android: Option<ClientMobileAndroid>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ClientMobileIos {
    pub team_id: Option<String>,
    pub app_bundle_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ClientMobileAndroid {
    pub app_package_name: Option<String>,
    #[serde(default)]
    pub sha256_cert_fingerprints: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ClientJwtConfiguration {
    /// The ID token's lifetime.
    pub lifetime_in_seconds: Option<i64>,
}

/// Refresh token settings (`ClientRefreshTokenConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ClientRefreshToken {
    /// `rotating` or `non-rotating`.
    pub rotation_type: Option<String>,
    /// `expiring` or `non-expiring`.
    pub expiration_type: Option<String>,
    /// Seconds a rotated token may still be used.
    pub leeway: Option<i64>,
    pub token_lifetime: Option<i64>,
    pub infinite_token_lifetime: Option<bool>,
    pub idle_token_lifetime: Option<i64>,
    pub infinite_idle_token_lifetime: Option<bool>,
}

/// One page of a connection's enabled clients
/// (`GetConnectionEnabledClientsResponseContent`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EnabledClients {
    pub clients: Vec<EnabledClient>,
    /// Where the next page starts (`from`); absent on the last.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EnabledClient {
    pub client_id: String,
}
