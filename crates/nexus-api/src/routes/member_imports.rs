//! Imports of organization members: started here, run by the server's
//! member-import worker, read back while they run.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::invitation::{ImportMembersBody, MemberImport};
use nexus_service::{member_imports, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{located, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(import_organization_members))
        .routes(routes!(get_organization_member_import))
        .layer(DefaultBodyLimit::max(crate::json::MEMBER_IMPORT_BODY_LIMIT))
}

/// Imports members in bulk (ImportOrganizationMembers): each row of
/// `newMembers` is invited as `POST …/members/invite` invites (its result
/// `Created`, `Added`, `AlreadyMember` or `Refused`, with the reason), in
/// the background; the job is read with `GET …/members/imports/{id}`. Each
/// row is checked when the import reaches it: a bad row is refused and the
/// others go on. Sending the same `id` again answers the same job and
/// imports nothing more.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/members/import", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = ImportMembersBody,
    responses(
        (status = 202, description = "The import is queued (or was asked for before with this id)", body = MemberImport),
        (status = 400, description = "The body is invalid: a field, or more than 10,000 rows", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body's `organizationId` is not the path's", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A row makes an admin and the caller does not hold the admin role's permissions", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An import with this id exists for another organization", body = Problem, content_type = "application/problem+json"),
    ))]
async fn import_organization_members(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(organization): ApiPath<String>,
    ApiJson(body): ApiJson<ImportMembersBody>,
) -> ApiResult<Response> {
    let job = member_imports::start(&nexus, &actor, &authority, &organization, body).await?;
    let location = format!(
        "/v1/organizations/{organization}/members/imports/{}",
        job.id
    );
    Ok(located(StatusCode::ACCEPTED, location, job))
}

/// An import of members: its status (`Queued`, `Running`, `Completed`,
/// `Failed`), counts, and each row's result in the order given.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/members/imports/{id}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = MemberImport),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organization_member_import(
    State(nexus): State<Nexus>,
    ApiPath((organization, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberImport>> {
    Ok(Json(member_imports::get(&nexus, &organization, &id).await?))
}
