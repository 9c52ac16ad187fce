use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::role::{
    ConnectionMap, ConnectionMapBody, NewRoleBody, Role, RoleBody, UserRolesBody,
};
use nexus_service::{roles, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_role, list_roles))
        .routes(routes!(get_role, update_role, delete_role))
        .routes(routes!(add_user_roles))
        .routes(routes!(remove_user_role))
        .routes(routes!(create_connection_map, list_connection_maps))
        .routes(routes!(get_connection_map, delete_connection_map))
}

/// Creates a role (CreateRole). With `productName` instead of `name`, the role
/// is the developer role `{productName}-developers`.
#[utoipa::path(post, path = "/v1/roles", tag = "Roles", request_body = NewRoleBody,
    responses(
        (status = 201, body = Role),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The audience has a role of this name", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_role(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiJson(body): ApiJson<NewRoleBody>,
) -> ApiResult<Response> {
    let role = roles::create(&nexus, &actor, &authority, body.into()).await?;
    Ok(created(format!("/v1/roles/{}", role.id), role))
}

/// Lists roles.
#[utoipa::path(get, path = "/v1/roles", tag = "Roles", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<Role>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_roles(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<Role>>> {
    let params = options.params(&roles::LIST)?;
    let page = roles::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets a role.
#[utoipa::path(get, path = "/v1/roles/{roleId}", tag = "Roles", params(("roleId" = String, Path)),
    responses(
        (status = 200, body = Role),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_role(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Role>> {
    Ok(Json(roles::get(&nexus, &id).await?))
}

/// Updates a role; absent or null fields are left as they are, and
/// `permissions`, when given, replaces the role's permissions.
#[utoipa::path(patch, path = "/v1/roles/{roleId}", tag = "Roles", params(("roleId" = String, Path)),
    request_body = RoleBody,
    responses(
        (status = 200, body = Role),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_role(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<Role>> {
    Ok(Json(
        roles::update(&nexus, &actor, &authority, &id, body).await?,
    ))
}

/// Deletes a role with its assignments and connection maps.
#[utoipa::path(delete, path = "/v1/roles/{roleId}", tag = "Roles", params(("roleId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_role(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    roles::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives the user roles (AddUserRole), optionally until `expires`.
#[utoipa::path(put, path = "/v1/users/{userId}/roles", tag = "Roles", params(("userId" = String, Path)),
    request_body = UserRolesBody,
    responses(
        (status = 204, description = "Assigned"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`value` names a role that does not exist", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_user_roles(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<UserRolesBody>,
) -> ApiResult<StatusCode> {
    roles::assign(&nexus, &actor, &authority, &user_id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a directly assigned role from the user.
#[utoipa::path(delete, path = "/v1/users/{userId}/roles/{roleId}", tag = "Roles",
    params(("userId" = String, Path), ("roleId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_user_role(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((user_id, role_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    roles::unassign(&nexus, &actor, &user_id, &role_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Maps an IdP group on a connection to the role (CreateRoleConnectionMap).
#[utoipa::path(post, path = "/v1/roles/{roleId}/connection-maps", tag = "Roles", params(("roleId" = String, Path)),
    request_body = ConnectionMapBody,
    responses(
        (status = 201, body = ConnectionMap),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_connection_map(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(role_id): ApiPath<String>,
    ApiJson(body): ApiJson<ConnectionMapBody>,
) -> ApiResult<Response> {
    let map = roles::create_map(&nexus, &actor, &authority, &role_id, body).await?;
    Ok(created(
        format!("/v1/roles/{role_id}/connection-maps/{}", map.id),
        map,
    ))
}

/// Lists the role's connection maps.
#[utoipa::path(get, path = "/v1/roles/{roleId}/connection-maps", tag = "Roles",
    params(("roleId" = String, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<ConnectionMap>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_connection_maps(
    State(nexus): State<Nexus>,
    ApiPath(role_id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<ConnectionMap>>> {
    let params = options.params(&roles::MAP_LIST)?;
    let page = roles::list_maps(&nexus, &role_id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets one connection map (GetRoleConnectionMap).
#[utoipa::path(get, path = "/v1/roles/{roleId}/connection-maps/{mapId}", tag = "Roles",
    params(("roleId" = String, Path), ("mapId" = i32, Path)),
    responses(
        (status = 200, body = ConnectionMap),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_connection_map(
    State(nexus): State<Nexus>,
    ApiPath((role_id, map_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ConnectionMap>> {
    Ok(Json(roles::get_map(&nexus, &role_id, &map_id).await?))
}

/// Deletes a connection map.
#[utoipa::path(delete, path = "/v1/roles/{roleId}/connection-maps/{mapId}", tag = "Roles",
    params(("roleId" = String, Path), ("mapId" = i32, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_connection_map(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((role_id, map_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    roles::delete_map(&nexus, &actor, &role_id, &map_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
