//! Reconciliations of an Auth0 tenant with Nexus (drift): started here (or
//! by the schedule), run by the server's reconciliation worker, read back
//! while they run.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::reconciliation::ReconciliationJob;
use nexus_service::{reconciliations, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{located, ApiResult};
use crate::actor::CurrentActor;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(start_reconciliation))
        .routes(routes!(get_reconciliation))
}

/// Starts a reconciliation of the tenant (StartReconciliation): Auth0
/// exports its users (`POST /api/v2/jobs/users-exports`), and each Auth0
/// user linked to a Nexus user is compared with what Nexus pushes to it —
/// `app_metadata.nexus_user_id`, `app_metadata.custom_upns`, `blocked`, and
/// for database identities the profile fields. A user that differs is
/// pushed again; linked identities whose Auth0 user is gone are marked
/// (`missingInAuth0Since`), never deleted. The reconciliation runs in the
/// background; its state and report are read with
/// `GET …/reconciliations/{jobId}`. One reconciliation per tenant runs at a
/// time.
#[utoipa::path(post, path = "/v1/idp_tenants/{idpTenantId}/reconciliations", tag = "IdP tenants",
    params(("idpTenantId" = String, Path)),
    responses(
        (status = 202, description = "The reconciliation is queued", body = ReconciliationJob),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant has no Management credentials, or a reconciliation of it has not ended", body = Problem, content_type = "application/problem+json"),
    ))]
async fn start_reconciliation(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<Response> {
    let job = reconciliations::start(&nexus, &actor, &tenant).await?;
    let location = format!("/v1/idp_tenants/{tenant}/reconciliations/{}", job.id);
    Ok(located(StatusCode::ACCEPTED, location, job))
}

/// A reconciliation: its state (`Queued`, `Running`, `Completed`,
/// `Failed`) and report — the counts, the first 100 differences and
/// vanished identities.
#[utoipa::path(get, path = "/v1/idp_tenants/{idpTenantId}/reconciliations/{jobId}", tag = "IdP tenants",
    params(("idpTenantId" = String, Path), ("jobId" = String, Path)),
    responses(
        (status = 200, body = ReconciliationJob),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_reconciliation(
    State(nexus): State<Nexus>,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ReconciliationJob>> {
    Ok(Json(reconciliations::get(&nexus, &tenant, &id).await?))
}
