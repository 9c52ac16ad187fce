//! What Auth0 checks before an operation runs: the shape of path ids and
//! that a body is an object.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::error::error;

/// Auth0 user ids are `provider|id`; anything else is refused before a lookup.
pub(crate) fn check_user_id(id: &str) -> Result<(), Response> {
    match id.split_once('|') {
        Some((provider, local)) if !provider.is_empty() && !local.is_empty() => Ok(()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Path validation error: 'Object didn't pass validation for format user-id: {id}' on property id."
            ),
            "invalid_uri",
        )),
    }
}

/// Connection ids are `con_` and letters or digits.
pub(crate) fn check_connection_id(id: &str) -> Result<(), Response> {
    let well_formed = id
        .strip_prefix("con_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if well_formed {
        return Ok(());
    }
    Err(error(
        StatusCode::BAD_REQUEST,
        "Path validation error: 'String does not match pattern ^con_[A-Za-z0-9]+$' on property id.",
        "invalid_uri",
    ))
}

/// Fields that a form body carries as `true`/`false` text.
pub(crate) const BOOLEAN_FIELDS: &[&str] = &[
    "allow_multiple_enrollments",
    "blocked",
    "email_verified",
    "phone_verified",
    "send_mail",
    "verify_email",
    "verify_phone_number",
];

/// A request body as an object: JSON, or a form (both are allowed for user
/// writes), whose boolean fields are read as booleans.
pub(crate) fn body_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Response> {
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            "Payload validation error: 'Expected type object'",
            "invalid_body",
        )
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(bad()),
        };
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| bad())?;
    Ok(pairs
        .into_iter()
        .map(|(key, text)| {
            let value = match text.as_str() {
                "true" | "false" if BOOLEAN_FIELDS.contains(&key.as_str()) => json!(text == "true"),
                _ => json!(text),
            };
            (key, value)
        })
        .collect())
}

/// A body object with only the properties the operation's schema names
/// (its `additionalProperties` is false).
pub(crate) fn closed_body_object(
    headers: &HeaderMap,
    body: &[u8],
    properties: &[&str],
) -> Result<Map<String, Value>, Response> {
    let object = body_object(headers, body)?;
    match object.keys().find(|k| !properties.contains(&k.as_str())) {
        Some(extra) => Err(crate::error::invalid_body(&format!(
            "'Additional properties not allowed: {extra}'"
        ))),
        None => Ok(object),
    }
}

/// A JSON request body, any value (a PATCH of a list takes an array); an
/// unreadable one is refused as Auth0 refuses it.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "Payload validation error: 'Invalid JSON'",
            "invalid_body",
        )
    })
}
