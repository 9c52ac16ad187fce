use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::idp_tenant::{IdpTenant, IdpTenantBody, NewIdpTenantBody};
use nexus_service::{idp_tenants, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_idp_tenant, list_idp_tenants))
        .routes(routes!(
            get_idp_tenant,
            update_idp_tenant,
            delete_idp_tenant
        ))
}

/// Registers an Auth0 tenant. Management API credentials are write-only.
#[utoipa::path(post, path = "/v1/idp_tenants", tag = "IdP tenants", request_body = NewIdpTenantBody,
    responses(
        (status = 201, body = IdpTenant),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No organization has the id or name `jitProvisioning.organization` gives", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_idp_tenant(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<NewIdpTenantBody>,
) -> ApiResult<Response> {
    let tenant = idp_tenants::create(&nexus, &actor, body.into()).await?;
    Ok(created(format!("/v1/idp_tenants/{}", tenant.id), tenant))
}

/// Lists IdP tenants.
#[utoipa::path(get, path = "/v1/idp_tenants", tag = "IdP tenants", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<IdpTenant>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_idp_tenants(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<IdpTenant>>> {
    let params = options.params(&idp_tenants::LIST)?;
    let page = idp_tenants::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets an IdP tenant by id, name, azoTenantName or loginDomain.
#[utoipa::path(get, path = "/v1/idp_tenants/{idpTenantId}", tag = "IdP tenants",
    params(("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    responses(
        (status = 200, body = IdpTenant),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_idp_tenant(
    State(nexus): State<Nexus>,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<Json<IdpTenant>> {
    Ok(Json(idp_tenants::get(&nexus, &tenant).await?))
}

/// Updates an IdP tenant; absent or null fields are left as they are.
#[utoipa::path(patch, path = "/v1/idp_tenants/{idpTenantId}", tag = "IdP tenants",
    params(("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    request_body = IdpTenantBody,
    responses(
        (status = 200, body = IdpTenant),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or just-in-time provisioning is turned on for a tenant without Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No organization has the id or name `jitProvisioning.organization` gives", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_idp_tenant(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<IdpTenantBody>,
) -> ApiResult<Json<IdpTenant>> {
    Ok(Json(
        idp_tenants::update(&nexus, &actor, &tenant, body).await?,
    ))
}

/// Deletes an IdP tenant that no identity is linked to.
#[utoipa::path(delete, path = "/v1/idp_tenants/{idpTenantId}", tag = "IdP tenants",
    params(("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Identities are still linked", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_idp_tenant(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<StatusCode> {
    idp_tenants::delete(&nexus, &actor, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}
