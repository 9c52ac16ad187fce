//! For operators and load balancers: metrics, and who the caller is.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use nexus_service::Nexus;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::actor::CurrentActor;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .routes(routes!(me))
}

/// Prometheus metrics in the OpenMetrics text format: requests and latency by
/// route and status, database pool use, push backlog and outcomes.
#[utoipa::path(get, path = "/metrics", tag = "Health", responses(
    (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
))]
async fn metrics(State(nexus): State<Nexus>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        nexus_service::metrics::render(&nexus).await,
    )
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The API key id, STS client id or token subject the request acts as.
    pub id: String,
}

/// The authenticated caller. Does nothing else: it is also the ceiling of
/// the HTTP and authentication stack in benchmarks.
#[utoipa::path(get, path = "/v1/me", tag = "Health", responses((status = 200, body = Me)))]
async fn me(CurrentActor(actor): CurrentActor) -> Json<Me> {
    Json(Me { id: actor.id })
}
