//! Connections as the Management API answers them (`ConnectionForList`,
//! `GetConnectionResponseContent`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// A connection. Every field is optional in the specification; fields Auth0
/// adds are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Connection {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `auth0` for database connections.
    pub strategy: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub realms: Vec<String>,
    pub is_domain_connection: Option<bool>,
    /// Only `GET /connections/{id}` lists them.
    pub enabled_clients: Option<Vec<String>>,
    pub metadata: Option<BTreeMap<String, Option<String>>>,
    pub options: Option<Map<String, Value>>,
}
