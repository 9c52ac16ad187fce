//! An organization's ids in other systems (CreateOrganizationAlias), and
//! finding an organization by one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::organization::Organization;
use nexus_core::organization_alias::{CreateAliasBody, OrganizationAlias};
use nexus_service::{organization_aliases, Nexus};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::Envelope;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_organization_alias))
        .routes(routes!(list_organization_aliases))
        .routes(routes!(delete_organization_alias))
        .routes(routes!(get_organization_by_alias))
}

/// Maps the organization to its id in another system
/// (CreateOrganizationAlias). A system's id names one organization at
/// most; an organization may have several ids in one system.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/aliases/{systemName}", tag = "Organizations",
    params(("organizationId" = i32, Path),
        ("systemName" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
            description = "The other system, e.g. `salesforce`; compared without regard to case")),
    request_body = CreateAliasBody,
    responses(
        (status = 201, body = OrganizationAlias),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The system's id is already an alias of an organization (this one or another; the detail says which)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_organization_alias(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, system_name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CreateAliasBody>,
) -> ApiResult<Response> {
    let alias =
        organization_aliases::create(&nexus, &actor, &organization, &system_name, body).await?;
    let location = format!(
        "/v1/organizations/{}/aliases/{}/{}",
        alias.organization_id,
        alias.system_name,
        utf8_percent_encode(&alias.system_id, NON_ALPHANUMERIC)
    );
    Ok(created(location, alias))
}

/// Lists the organization's aliases, by system name and id.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/aliases", tag = "Organizations",
    params(("organizationId" = i32, Path)),
    responses(
        (status = 200, body = Envelope<OrganizationAlias>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organization_aliases(
    State(nexus): State<Nexus>,
    ApiPath(organization): ApiPath<String>,
) -> ApiResult<Json<Envelope<OrganizationAlias>>> {
    let aliases = organization_aliases::list(&nexus, &organization).await?;
    Ok(Json(Envelope {
        value: aliases,
        context: None,
        count: None,
        next_link: None,
    }))
}

/// Removes one of the organization's aliases.
#[utoipa::path(delete, path = "/v1/organizations/{organizationId}/aliases/{systemName}/{systemId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("systemName" = String, Path), ("systemId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such organization, or it has no such alias", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_organization_alias(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, system_name, system_id)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    organization_aliases::delete(&nexus, &actor, &organization, &system_name, &system_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Finds the organization that has an alias: its id `systemId` in the
/// system `systemName`.
#[utoipa::path(get, path = "/v1/organizations/by-alias/{systemName}/{systemId}", tag = "Organizations",
    params(
        ("systemName" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"),
        ("systemId" = String, Path)),
    responses(
        (status = 200, body = Organization),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No organization has this alias", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organization_by_alias(
    State(nexus): State<Nexus>,
    ApiPath((system_name, system_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(
        organization_aliases::find_organization(&nexus, &system_name, &system_id).await?,
    ))
}
