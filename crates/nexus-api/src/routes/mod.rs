//! One module per resource, each with its own `router()`.

pub mod api_keys;
pub mod application_deployments;
pub mod applications;
pub mod audit;
pub mod custom_upns;
pub mod health;
pub mod identities;
pub mod idp_tenants;
pub mod imports;
pub mod log_stream;
pub mod me;
pub mod member_imports;
pub mod members;
pub mod ops;
pub mod organization_aliases;
pub mod organization_domains;
pub mod organizations;
pub mod products;
pub mod push;
pub mod reconciliations;
pub mod roles;
pub mod sts_clients;
pub mod subscriptions;
pub mod sync;
pub mod tenant_clients;
pub mod upsell;
pub mod users;
pub mod webhooks;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::problem::ApiError;

pub type ApiResult<T> = Result<T, ApiError>;

/// 201 with the new resource and where it lives.
pub(crate) fn created<T: Serialize>(location: String, body: T) -> Response {
    located(StatusCode::CREATED, location, body)
}

/// `status` with the resource and where it lives.
pub(crate) fn located<T: Serialize>(status: StatusCode, location: String, body: T) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
