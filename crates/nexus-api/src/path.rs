use axum::extract::rejection::PathRejection;
use axum::extract::FromRequestParts;

use crate::problem::ApiError;

/// `axum::extract::Path` whose failures (e.g. a segment that is not valid
/// percent-encoded UTF-8) are problem responses.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!(
            "the request path is malformed: {}",
            rejection.body_text()
        ))
    }
}
