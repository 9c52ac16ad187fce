//! `POST /tickets/password-change`: a link that lets its holder set the
//! user's password once, for the caller to deliver (Auth0 sends nothing).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::{invalid_body, no_user};
use crate::middleware::auth::authorize;
use crate::middleware::validation::closed_body_object;
use crate::state::EmailKind;
use crate::Simulator;

/// Auth0's default lifetime of a ticket: five days.
pub(crate) const DEFAULT_TTL: u64 = 432_000;

const FIELDS: &[&str] = &[
    "client_id",
    "connection_id",
    "email",
    "identity",
    "includeEmailInRedirect",
    "mark_email_as_verified",
    "organization_id",
    "result_url",
    "ttl_sec",
    "user_id",
];

pub(crate) async fn password_change(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:user_tickets"]) {
        return response;
    }
    let body = match closed_body_object(&headers, &body, FIELDS) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let ttl = match body.get("ttl_sec") {
        None => DEFAULT_TTL,
        Some(value) => match value.as_u64() {
            Some(0) => DEFAULT_TTL,
            Some(ttl) => ttl,
            None => return invalid_body("'Expected type integer' on property ttl_sec."),
        },
    };
    let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
    let result_url = text("result_url");
    sim.with(|t| {
        let user_id = match (text("user_id"), text("email"), text("connection_id")) {
            (Some(user_id), _, _) => t.users.contains_key(&user_id).then_some(user_id),
            (None, Some(email), Some(connection_id)) => {
                let name = t
                    .connections
                    .iter()
                    .find(|c| c.id == connection_id)
                    .map(|c| c.name.clone());
                t.users
                    .values()
                    .find(|u| {
                        u["email"]
                            .as_str()
                            .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                            && name.is_some()
                            && u["identities"][0]["connection"].as_str() == name.as_deref()
                    })
                    .and_then(|u| u["user_id"].as_str().map(str::to_owned))
            }
            _ => {
                return invalid_body(
                    "'Missing required property: user_id (or email and connection_id)'",
                )
            }
        };
        let Some(user_id) = user_id else {
            return no_user(StatusCode::NOT_FOUND);
        };
        let ticket = t.issue_ticket(EmailKind::ResetPassword, &user_id, ttl, result_url);
        (StatusCode::CREATED, Json(json!({ "ticket": ticket }))).into_response()
    })
}
