//! Applications (clients) as the Management API lists them (`Client`).

use serde::Deserialize;
use serde_json::{Map, Value};

/// An application. Every field is optional in the specification; the many
/// settings Nexus does not read are ignored, and so is the client secret.
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
}
