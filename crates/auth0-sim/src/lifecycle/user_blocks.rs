//! `GET`/`DELETE /user-blocks/{id}`: the blocks brute-force protection put
//! on a user, and lifting them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::middleware::auth::authorize_on_user;
use crate::Simulator;

pub(crate) async fn get_blocks(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize_on_user(&sim, &headers, &["read:users"], &id) {
        return response;
    }
    sim.with(|t| {
        let blocked_for: Vec<_> = t
            .login_blocks
            .get(&id)
            .into_iter()
            .flatten()
            .map(|identifier| json!({"identifier": identifier, "ip": "127.0.0.1"}))
            .collect();
        Json(json!({ "blocked_for": blocked_for })).into_response()
    })
}

/// Lifts brute-force blocks; 204 whether or not there were any.
pub(crate) async fn delete_blocks(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize_on_user(&sim, &headers, &["update:users"], &id) {
        return response;
    }
    sim.with(|t| {
        t.login_blocks.remove(&id);
        t.failed_logins.remove(&id);
        StatusCode::NO_CONTENT.into_response()
    })
}
