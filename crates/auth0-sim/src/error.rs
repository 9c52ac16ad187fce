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
