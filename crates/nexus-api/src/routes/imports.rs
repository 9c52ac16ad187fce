//! Imports of an Auth0 tenant's users: started here, run by the server's
//! import worker, read back while they run.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::import::{ImportJob, StartImportBody, StartImportQuery};
use nexus_service::{imports, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{located, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::problem::{ApiError, Problem};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(start_import))
        .routes(routes!(get_import))
}

/// Starts an import of the tenant's users (StartImport): Auth0 exports them
/// (`POST /api/v2/jobs/users-exports`), and each is matched to a Nexus user
/// — its `app_metadata.nexus_user_id`, an identity already linked, a user
/// whose address is the Auth0 user's *verified* address — or created in
/// `organization` and linked. The import runs in the background; its state
/// and progress are read with `GET …/imports/{jobId}`. With `dryRun=true` it
/// reports what it would do and writes nothing. One import per tenant runs
/// at a time.
#[utoipa::path(post, path = "/v1/idp_tenants/{idpTenantId}/imports", tag = "IdP tenants",
    params(("idpTenantId" = String, Path), StartImportQuery),
    request_body = StartImportBody,
    responses(
        (status = 202, description = "The import is queued", body = ImportJob),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant has no Management credentials, or an import of it has not ended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No organization has that id or name", body = Problem, content_type = "application/problem+json"),
    ))]
async fn start_import(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(tenant): ApiPath<String>,
    query: Result<Query<StartImportQuery>, QueryRejection>,
    ApiJson(body): ApiJson<StartImportBody>,
) -> ApiResult<Response> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    let dry_run = query.dry_run.unwrap_or(false);
    let job = imports::start(&nexus, &actor, &tenant, body, dry_run).await?;
    let location = format!("/v1/idp_tenants/{tenant}/imports/{}", job.id);
    Ok(located(StatusCode::ACCEPTED, location, job))
}

/// An import: its state (`Queued`, `Running`, `Completed`, `Failed`) and
/// progress.
#[utoipa::path(get, path = "/v1/idp_tenants/{idpTenantId}/imports/{jobId}", tag = "IdP tenants",
    params(("idpTenantId" = String, Path), ("jobId" = String, Path)),
    responses(
        (status = 200, body = ImportJob),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_import(
    State(nexus): State<Nexus>,
    ApiPath((tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ImportJob>> {
    Ok(Json(imports::get(&nexus, &tenant, &id).await?))
}
