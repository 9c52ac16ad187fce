//! RFC 9457 problem responses: every error Nexus answers with, in one type.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use nexus_core::ValidationErrors;
use nexus_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The request being answered, for the problem's `instance` and `requestId`.
    pub(crate) static REQUEST: RequestContext;
}

/// What a problem response tells about the request it answers.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub path: String,
    pub id: String,
}

/// What a 503 tells a client to wait when the database is unreachable.
pub(crate) const DATABASE_RETRY_AFTER_SECS: u64 = 5;

/// `application/problem+json` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    /// The request's id, as in the `X-Request-Id` response header.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The failures by JSON field (400 and 422 answers naming fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    kind: &'static str,
    pub(crate) title: &'static str,
    pub(crate) detail: String,
    pub(crate) errors: Option<ValidationErrors>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "The request is invalid",
            errors.to_string(),
        )
        .with_errors(errors)
    }

    /// A well-formed request that names something missing or a past moment.
    pub fn inapplicable(errors: ValidationErrors) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot-apply",
            "The request cannot be applied to the current data",
            errors.to_string(),
        )
        .with_errors(errors)
    }

    fn with_errors(mut self, errors: ValidationErrors) -> Self {
        self.errors = Some(errors);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
            detail,
        )
    }

    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "route-not-found",
            "No such route",
            format!("no route matches '{path}'"),
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                error.to_string(),
            ),
            ServiceError::Conflict(detail) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            ServiceError::Validation(errors) => ApiError::validation(errors),
            ServiceError::Inapplicable(errors) => ApiError::inapplicable(errors),
            ServiceError::NotHeld { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                "permission-not-held",
                "Forbidden",
                error.to_string(),
            ),
            ServiceError::Lacks(_) => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                error.to_string(),
            ),
            ServiceError::NotAUser => ApiError::new(
                StatusCode::FORBIDDEN,
                "not-a-user",
                "Forbidden",
                error.to_string(),
            ),
            ServiceError::NotTheCallers(detail) => ApiError::new(
                StatusCode::FORBIDDEN,
                "not-the-callers",
                "Forbidden",
                detail,
            ),
            ServiceError::Unauthenticated(detail) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                detail,
            ),
            ServiceError::CallerGone => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                error.to_string(),
            ),
            ServiceError::Unprocessable(detail) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "The identity provider refused the request",
                detail,
            ),
            ServiceError::Upstream(detail) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "idp-unavailable",
                "The identity provider is unavailable",
                detail,
            )
            .with_retry_after(5),
            ServiceError::DnsUnavailable(detail) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dns-unavailable",
                "DNS is unavailable",
                detail,
            )
            .with_retry_after(5),
            ServiceError::Secret(cause) => {
                tracing::error!(error = %cause, "a stored secret cannot be opened");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "stored credentials cannot be read with the configured secret keys; nothing was changed",
                )
            }
            ServiceError::Store(cause) => {
                tracing::error!(error = %cause, "storage failure");
                let problem = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "the directory store is unavailable; nothing was changed, retry later",
                );
                if cause.is_unavailable() {
                    problem.with_retry_after(DATABASE_RETRY_AFTER_SECS)
                } else {
                    problem
                }
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ServiceError::from(errors).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request = REQUEST.try_with(Clone::clone).ok();
        let (instance, request_id) = match request {
            Some(RequestContext { path, id }) => (path, Some(id)),
            None => (String::new(), None),
        };
        let problem = Problem {
            problem_type: format!("urn:nexus:problem:{}", self.kind),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            instance,
            request_id,
            errors: self.errors.map(|e| e.fields().clone()),
        };
        let body = serde_json::to_vec(&problem).expect("a problem serializes");
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="nexus", Bearer realm="nexus""#),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
