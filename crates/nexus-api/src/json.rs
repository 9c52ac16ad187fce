//! The JSON body extractor: every way a body can be wrong becomes a precise
//! problem response instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use nexus_core::ValidationErrors;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The largest body of an import of members (10,000 rows).
pub const MEMBER_IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(unread_body)?;
        parse(&bytes).map(ApiJson)
    }
}

/// The problem of a body that could not be read: too large (413), or cut
/// off (400).
pub(crate) fn unread_body(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!(
                "the body must be at most {BODY_LIMIT} bytes ({MEMBER_IMPORT_BODY_LIMIT} for an import of members)"
            ),
        )
    } else {
        ApiError::bad_request(format!("the body could not be read: {rejection}"))
    }
}

fn is_json(req: &Request) -> bool {
    let Some(content_type) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(mime) = content_type.parse::<mime::Mime>() else {
        return false;
    };
    mime.type_() == "application"
        && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
}

/// Parses a body, naming the field that has the wrong type or is unknown.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the body is empty; a JSON object is required",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!("the body is not valid JSON: {inner}"));
        }
        let message = strip_position(&inner.to_string());
        if path == "." {
            ApiError::validation(ValidationErrors::single("$", message))
        } else {
            ApiError::validation(ValidationErrors::single(&path, message))
        }
    })?;
    // Only whitespace may follow the value: `{…} garbage` is not one JSON text.
    deserializer.end().map_err(|error| {
        ApiError::bad_request(format!(
            "the body is not valid JSON: unexpected data after the JSON value ({error})"
        ))
    })?;
    Ok(value)
}

/// serde_json appends "at line 1 column 20"; the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        display_name: Option<String>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Nested {
        azo_user_id: Option<String>,
    }

    fn field_errors(body: &str) -> std::collections::BTreeMap<String, Vec<String>> {
        let error = parse::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        error.errors.expect("field errors").fields().clone()
    }

    #[test]
    fn names_the_field_of_a_type_error() {
        let errors = field_errors(r#"{"displayName": 5}"#);
        assert_eq!(
            errors["displayName"],
            ["invalid type: integer `5`, expected a string"]
        );
    }

    #[test]
    fn names_nested_fields() {
        let errors = field_errors(r#"{"nested": {"azoUserId": true}}"#);
        assert!(errors.contains_key("nested.azoUserId"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let errors = field_errors(r#"{"displayname": "x"}"#);
        assert!(errors["displayname"][0].starts_with("unknown field `displayname`"));
    }

    #[test]
    fn trailing_data_after_the_value_is_refused() {
        let error = parse::<Body>(br#"{"displayName": "x"} garbage"#).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.errors.is_none());
        assert!(
            error
                .detail
                .contains("unexpected data after the JSON value"),
            "{}",
            error.detail
        );
        let error = parse::<Body>(br#"{"displayName": "x"}{}"#).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn whitespace_after_the_value_is_fine() {
        let body = parse::<Body>(b"{\"displayName\": \"x\"} \r\n\t ").expect("valid body");
        assert_eq!(body.display_name.as_deref(), Some("x"));
    }

    #[test]
    fn syntax_errors_are_plain_bad_requests() {
        let error = parse::<Body>(b"{\"displayName\": ").unwrap_err();
        assert!(error.errors.is_none());
        assert!(error.detail.contains("not valid JSON"));
    }
}
