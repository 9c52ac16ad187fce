//! The offset-paginated list envelope (`include_totals=true`).

use serde::Deserialize;

/// One page of a list with `include_totals=true`, as the offset-paginated
/// envelopes of the Management API specify it: every field is optional there,
/// and only the users envelope has `length`, so none is required here.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    #[serde(default)]
    pub start: u64,
    #[serde(default)]
    pub limit: u64,
    /// How many items match in all; `None` when Auth0 left it out.
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(alias = "users", alias = "clients", alias = "connections")]
    pub items: Vec<T>,
}
