//! The error body every Management API refusal carries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An Auth0-shaped error: `{statusCode, error, message, errorCode}`.
pub(crate) fn error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "errorCode": code,
    });
    (status, Json(body)).into_response()
}

/// The user the path or body names does not exist (`status` 404, or 400
/// where the specification lists no 404 for the operation).
pub(crate) fn no_user(status: StatusCode) -> Response {
    error(status, "The user does not exist.", "inexistent_user")
}

/// A body the operation's schema refuses: `Payload validation error: …`.
pub(crate) fn invalid_body(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Payload validation error: {message}"),
        "invalid_body",
    )
}
