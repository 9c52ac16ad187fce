use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use nexus_service::Nexus;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::problem::{ApiError, Problem, DATABASE_RETRY_AFTER_SECS};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "Health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The longest `/readyz` waits for the database: a load balancer must learn
/// quickly that a replica's database hangs.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers within 2 seconds.
#[utoipa::path(get, path = "/readyz", tag = "Health", responses(
    (status = 200, body = Health),
    (status = 503, description = "The database does not answer; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
async fn readyz(State(nexus): State<Nexus>) -> ApiResult<Json<Health>> {
    let detail = match tokio::time::timeout(READINESS_TIMEOUT, nexus.store().ping()).await {
        Ok(Ok(())) => return Ok(Json(Health { status: "ok" })),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            "the database does not answer".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            format!(
                "the database did not answer within {} s",
                READINESS_TIMEOUT.as_secs()
            )
        }
    };
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Not ready",
        detail,
    )
    .with_retry_after(DATABASE_RETRY_AFTER_SECS))
}
