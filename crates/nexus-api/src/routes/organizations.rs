use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::organization::{
    CreateOrganizationBody, Organization, UpdateOrganizationBody, ORGANIZATION_FIELDS,
};
use nexus_service::{organizations, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;
use crate::shape::{ItemOptions, OrganizationSelection, Shape, ShapeOptionsDoc, ShapeSpec};

/// `$select` of an Organization's fields; `$expand=members` fills
/// `members`.
pub static ORGANIZATION_SHAPE: ShapeSpec = ShapeSpec {
    fields: ORGANIZATION_FIELDS,
    expansions: &["members"],
};

fn expand(shape: &Shape) -> organizations::Expand {
    organizations::Expand {
        members: shape.expands("members"),
    }
}

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_organization, list_organizations))
        .routes(routes!(
            get_organization,
            update_organization,
            delete_organization
        ))
        .routes(routes!(update_organization_mfa))
}

/// Creates an organization (CreateOrganization).
#[utoipa::path(post, path = "/v1/organizations", tag = "Organizations", request_body = CreateOrganizationBody,
    responses(
        (status = 201, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`defaultIdpTenantId` names no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_organization(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateOrganizationBody>,
) -> ApiResult<Response> {
    let organization = organizations::create(&nexus, &actor, body).await?;
    Ok(created(
        format!("/v1/organizations/{}", organization.id),
        organization,
    ))
}

/// Lists organizations, with their aliases and domains; `members` is
/// filled with `$expand=members`.
#[utoipa::path(get, path = "/v1/organizations", tag = "Organizations", params(ListOptionsDoc, ShapeOptionsDoc),
    responses(
        (status = 200, body = Envelope<OrganizationSelection>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organizations(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<OrganizationSelection>>> {
    let (params, shape) = options.shaped_params(&organizations::LIST, &ORGANIZATION_SHAPE)?;
    let page = organizations::list(&nexus, &params, expand(&shape)).await?;
    Ok(Json(options.shaped_envelope(
        &params,
        page,
        &shape,
        "organizations",
    )))
}

/// Gets an organization with its aliases and domains; `members` is filled
/// with `$expand=members`.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ShapeOptionsDoc),
    responses(
        (status = 200, body = OrganizationSelection),
        (status = 400, description = "An unknown field in `$select` or `$expand`, or another query option", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organization(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ItemOptions,
) -> ApiResult<Json<OrganizationSelection>> {
    let shape = options.shape(&ORGANIZATION_SHAPE)?;
    let organization = organizations::get(&nexus, &id, expand(&shape)).await?;
    Ok(Json(shape.apply(&organization)))
}

/// Updates an organization's contacts, names and flags; absent or null fields
/// are left as they are.
#[utoipa::path(patch, path = "/v1/organizations/{organizationId}", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = UpdateOrganizationBody,
    responses(
        (status = 200, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`defaultIdpTenantId` names no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_organization(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateOrganizationBody>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(
        organizations::update(&nexus, &actor, &id, body).await?,
    ))
}

/// Deletes an organization nothing holds on to (DeleteOrganization).
#[utoipa::path(delete, path = "/v1/organizations/{organizationId}", tag = "Organizations",
    params(("organizationId" = i32, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has members, users have it as their organization, an import not ended yet creates users in it, or an IdP tenant provisions new users into it; the detail says which", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_organization(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    organizations::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same update at its documented public path (UpdateOrganizationMfa).
#[utoipa::path(patch, path = "/v1/organizations/{organizationId}/mfa", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = UpdateOrganizationBody,
    responses(
        (status = 200, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`defaultIdpTenantId` names no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_organization_mfa(
    state: State<Nexus>,
    actor: CurrentActor,
    id: ApiPath<String>,
    body: ApiJson<UpdateOrganizationBody>,
) -> ApiResult<Json<Organization>> {
    update_organization(state, actor, id, body).await
}
