//! `POST /jobs/verification-email` and `GET /jobs/{id}`: the e-mail is sent
//! at once, and the job shows as completed (user exports: `crate::exports`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::tickets::DEFAULT_TTL;
use crate::clock::now_iso;
use crate::error::{error, invalid_body, no_user};
use crate::middleware::auth::authorize;
use crate::middleware::validation::{check_user_id, closed_body_object};
use crate::state::EmailKind;
use crate::Simulator;

const FIELDS: &[&str] = &["client_id", "identity", "organization_id", "user_id"];

pub(crate) async fn verification_email(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["update:users"]) {
        return response;
    }
    let body = match closed_body_object(&headers, &body, FIELDS) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(user_id) = body.get("user_id").and_then(Value::as_str) else {
        return invalid_body("'Missing required property: user_id'");
    };
    if let Err(response) = check_user_id(user_id) {
        return response;
    }
    sim.with(|t| {
        let Some(email) = t
            .users
            .get(user_id)
            .map(|u| u["email"].as_str().map(str::to_owned))
        else {
            // The specification lists no 404 for this operation.
            return no_user(StatusCode::BAD_REQUEST);
        };
        let Some(email) = email else {
            return invalid_body("'The user has no email address'");
        };
        t.send_email(EmailKind::VerifyEmail, &email, user_id, DEFAULT_TTL, None);
        let id = format!("job_{:016x}", rand::random::<u64>());
        let job = json!({"id": id, "type": "verification_email", "status": "completed", "created_at": now_iso()});
        t.jobs.insert(id, job.clone());
        (StatusCode::CREATED, Json(job)).into_response()
    })
}

pub(crate) async fn get_job(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:users", "read:users"]) {
        return response;
    }
    match sim.with(|t| crate::exports::poll(t, &id)) {
        Some(job) => Json(job).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "The job does not exist.",
            "inexistent_job",
        ),
    }
}
