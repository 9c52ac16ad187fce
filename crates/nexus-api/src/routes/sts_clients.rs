use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::auth::{StsClient, StsClientBody};
use nexus_service::{sts_clients, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_sts_client, list_sts_clients))
        .routes(routes!(get_sts_client, delete_sts_client))
}

/// Maps an M2M client to the permissions its tokens carry (CreateStsClient).
#[utoipa::path(post, path = "/v1/sts-clients", tag = "STS clients", request_body = StsClientBody,
    responses(
        (status = 201, body = StsClient),
        (status = 400, description = "An invalid field, or permissions that no route uses (named in `errors.permissions`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idpTenantId` names no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_sts_client(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiJson(body): ApiJson<StsClientBody>,
) -> ApiResult<Response> {
    crate::auth::check_known_permissions(body.permissions.as_deref())?;
    let client = sts_clients::create(&nexus, &actor, &authority, body).await?;
    Ok(created(
        format!("/v1/sts-clients/{}", client.client_id),
        client,
    ))
}

/// Lists the STS client mappings (GetStsClients: a bare array).
#[utoipa::path(get, path = "/v1/sts-clients", tag = "STS clients", responses((status = 200, body = Vec<StsClient>)))]
async fn list_sts_clients(State(nexus): State<Nexus>) -> ApiResult<Json<Vec<StsClient>>> {
    Ok(Json(sts_clients::list(&nexus).await?))
}

/// Gets one mapping (GetStsClient).
#[utoipa::path(get, path = "/v1/sts-clients/{clientId}", tag = "STS clients", params(("clientId" = String, Path)),
    responses(
        (status = 200, body = StsClient),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_sts_client(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<StsClient>> {
    Ok(Json(sts_clients::get(&nexus, &id).await?))
}

/// Deletes a mapping: the client's tokens stop working.
#[utoipa::path(delete, path = "/v1/sts-clients/{clientId}", tag = "STS clients", params(("clientId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_sts_client(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    sts_clients::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
