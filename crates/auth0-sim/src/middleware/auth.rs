//! Management API authorization: a token this tenant issued, holding a scope
//! the operation accepts.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use crate::error::error;
use crate::{tokens, Simulator};

/// Checks the Management API token and that it holds one of `scopes`.
pub(crate) fn authorize(
    sim: &Simulator,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Vec<String>, Response> {
    let unauthorized = || {
        error(
            StatusCode::UNAUTHORIZED,
            "Missing authentication",
            "unauthorized",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let base = sim.with(|t| t.base_url.clone());
    let claims = tokens::management_claims(&base, token)
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Invalid token", "invalid_token"))?;
    let granted: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
        let message = format!("Insufficient scope, expected any of: {}", scopes.join(","));
        return Err(error(StatusCode::FORBIDDEN, &message, "insufficient_scope"));
    }
    Ok(granted)
}

/// Checks a Management call on the user the path names: the token and one
/// of `scopes`, a well-formed user id, and a user that exists (404).
pub(crate) fn authorize_on_user(
    sim: &Simulator,
    headers: &HeaderMap,
    scopes: &[&str],
    id: &str,
) -> Result<(), Response> {
    authorize(sim, headers, scopes)?;
    crate::middleware::validation::check_user_id(id)?;
    if !sim.with(|t| t.users.contains_key(id)) {
        return Err(crate::error::no_user(StatusCode::NOT_FOUND));
    }
    Ok(())
}
