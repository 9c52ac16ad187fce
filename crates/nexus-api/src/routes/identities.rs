use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use nexus_core::identity::{Identity, LinkBody};
use nexus_service::{identities, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(list_identities))
        .routes(routes!(
            link_user_to_tenant,
            get_identity,
            unlink_user_from_tenant
        ))
}

/// Links the user to an account in the Auth0
/// tenant. Idempotent: repeating it returns the same identity.
#[utoipa::path(put, path = "/v1/users/{userId}/idp_tenants/{idpTenantId}", tag = "Identities",
    operation_id = "LinkUserToTenant",
    params(("userId" = String, Path), ("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    request_body = LinkBody,
    responses(
        (status = 200, body = Identity),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The azoUserId is linked to another user in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The IdP tenant has Management credentials and its Auth0 tenant refuses the account (unknown user or connection)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn link_user_to_tenant(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((user_id, tenant)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<LinkBody>,
) -> ApiResult<Json<Identity>> {
    Ok(Json(
        identities::link(&nexus, &actor, &user_id, &tenant, body).await?,
    ))
}

/// Lists the user's identities.
#[utoipa::path(get, path = "/v1/users/{userId}/idp_tenants", tag = "Identities",
    params(("userId" = String, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<Identity>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_identities(
    State(nexus): State<Nexus>,
    ApiPath(user_id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<Identity>>> {
    let params = options.params(&identities::LIST)?;
    let page = identities::list(&nexus, &user_id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets the user's identity in one tenant.
#[utoipa::path(get, path = "/v1/users/{userId}/idp_tenants/{idpTenantId}", tag = "Identities",
    params(("userId" = String, Path), ("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    responses(
        (status = 200, body = Identity),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_identity(
    State(nexus): State<Nexus>,
    ApiPath((user_id, tenant)): ApiPath<(String, String)>,
) -> ApiResult<Json<Identity>> {
    Ok(Json(identities::get(&nexus, &user_id, &tenant).await?))
}

/// Unlinks the user from the tenant.
#[utoipa::path(delete, path = "/v1/users/{userId}/idp_tenants/{idpTenantId}", tag = "Identities",
    params(("userId" = String, Path), ("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn unlink_user_from_tenant(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((user_id, tenant)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    identities::unlink(&nexus, &actor, &user_id, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}
