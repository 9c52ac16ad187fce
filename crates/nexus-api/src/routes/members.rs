use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nexus_core::invitation::{InviteMemberBody, InviteResult};
use nexus_core::organization::{AddMemberBody, Membership, UpdateMemberBody, MEMBERSHIP_FIELDS};
use nexus_service::{invitations, members, Nexus};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::shape::{ItemOptions, MembershipSelection, ShapeOptionsDoc, ShapeSpec};

/// `$select` of a Membership's fields; `$expand=user` embeds the member.
pub static MEMBERSHIP_SHAPE: ShapeSpec = ShapeSpec {
    fields: MEMBERSHIP_FIELDS,
    expansions: &["user"],
};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(add_member, list_members))
        .routes(routes!(get_member, update_member, remove_member))
        .routes(routes!(remove_member_roles))
        .routes(routes!(invite_organization_member))
}

/// Invites a person by e-mail address (InviteOrganizationMember). The user
/// with that address (whatever its case) becomes a member: 201. If it is a
/// member already, nothing changes (`makeAdmin: true` adds the
/// `organization-admin` role if it is missing): 200. Otherwise a Database
/// user with that address is created, a member, in `idpTenantId` or else
/// the organization's `defaultIdpTenantId`: 201. Where that tenant has
/// Management credentials, Nexus creates the user's Auth0 account and Auth0
/// e-mails them a link to set their password (if Auth0 refuses or cannot be
/// reached, nothing is created); otherwise the user exists in Nexus only.
/// An organization that requires domain verification admits new users only
/// with an address of one of its verified domains.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/members/invite", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = InviteMemberBody,
    responses(
        (status = 201, description = "A user was created, or the existing user added; the membership with its user", body = Membership),
        (status = 200, description = "The user was a member already; the membership with its user", body = Membership),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization was deleted meanwhile, or Auth0 holds an account with this address", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A new user: no tenant is named (neither `idpTenantId` nor the organization's `defaultIdpTenantId`), `idpTenantId` names no tenant, the address's domain is not a verified domain of the organization, or Auth0 refused the account or the e-mail", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn invite_organization_member(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(organization): ApiPath<String>,
    ApiJson(body): ApiJson<InviteMemberBody>,
) -> ApiResult<Response> {
    let invited = invitations::invite(&nexus, &actor, &authority, &organization, body).await?;
    let membership = invited.membership;
    if invited.result == InviteResult::AlreadyMember {
        return Ok((StatusCode::OK, Json(membership)).into_response());
    }
    let location = format!(
        "/v1/organizations/{organization}/members/{}",
        membership.user_id
    );
    Ok(created(location, membership))
}

/// Makes a user a member of the organization (AddOrganizationMember).
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/members", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = AddMemberBody,
    responses(
        (status = 201, body = Membership),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`userId` names no user", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_member(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(organization): ApiPath<String>,
    ApiJson(body): ApiJson<AddMemberBody>,
) -> ApiResult<Response> {
    let membership = members::add(&nexus, &actor, &authority, &organization, body).await?;
    let location = format!(
        "/v1/organizations/{organization}/members/{}",
        membership.user_id
    );
    Ok(created(location, membership))
}

/// Lists the organization's members (GetOrganizationMembers). `user` is
/// null unless `$expand=user`.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/members", tag = "Organizations",
    params(("organizationId" = i32, Path), ListOptionsDoc, ShapeOptionsDoc),
    responses(
        (status = 200, body = Envelope<MembershipSelection>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_members(
    State(nexus): State<Nexus>,
    ApiPath(organization): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<MembershipSelection>>> {
    let (params, shape) = options.shaped_params(&members::LIST, &MEMBERSHIP_SHAPE)?;
    let page = members::list(&nexus, &organization, &params, shape.expands("user")).await?;
    let set = format!("organizations({organization})/members");
    Ok(Json(options.shaped_envelope(&params, page, &shape, &set)))
}

/// Gets one membership with the member embedded (GetOrganizationMember);
/// `$select` answers only the fields it names.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/members/{userId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("userId" = String, Path), ShapeOptionsDoc),
    responses(
        (status = 200, body = MembershipSelection),
        (status = 400, description = "An unknown field in `$select` or `$expand`, or another query option", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_member(
    State(nexus): State<Nexus>,
    ApiPath((organization, user_id)): ApiPath<(String, String)>,
    options: ItemOptions,
) -> ApiResult<Json<MembershipSelection>> {
    let shape = options.shape(&MEMBERSHIP_SHAPE)?;
    let membership = members::get(&nexus, &organization, &user_id).await?;
    Ok(Json(shape.apply(&membership)))
}

/// Changes the membership's own MFA flag or its guest flag
/// (UpdateOrganizationMember); absent or null fields are left as they are.
#[utoipa::path(patch, path = "/v1/organizations/{organizationId}/members/{userId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("userId" = String, Path)), request_body = UpdateMemberBody,
    responses(
        (status = 200, body = Membership),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_member(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateMemberBody>,
) -> ApiResult<Json<Membership>> {
    Ok(Json(
        members::update(&nexus, &actor, &organization, &user_id, body).await?,
    ))
}

/// Ends the membership. If it was the user's primary organization, the user's
/// `organization` becomes null.
#[utoipa::path(delete, path = "/v1/organizations/{organizationId}/members/{userId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("userId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, user_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    members::remove(&nexus, &actor, &organization, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RolesQuery {
    /// Comma-separated membership roles to remove; all when absent. Only
    /// `organization-admin` is supported.
    roles: Option<String>,
}

/// Removes membership roles (RemoveOrganizationMemberRole).
#[utoipa::path(delete, path = "/v1/organizations/{organizationId}/members/{userId}/roles", tag = "Organizations",
    params(("organizationId" = i32, Path), ("userId" = String, Path), RolesQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member_roles(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, user_id)): ApiPath<(String, String)>,
    query: Result<Query<RolesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<StatusCode> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    let roles: Vec<String> = query
        .roles
        .iter()
        .flat_map(|r| r.split(','))
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    members::remove_roles(&nexus, &actor, &organization, &user_id, &roles).await?;
    Ok(StatusCode::NO_CONTENT)
}
