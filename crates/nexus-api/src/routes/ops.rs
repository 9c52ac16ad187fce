//! For operators: metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use nexus_service::Nexus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(metrics))
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
