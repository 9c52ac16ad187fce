use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::custom_upn::{CustomUpn, CustomUpnBody, NewCustomUpnBody};
use nexus_service::{custom_upns, Nexus};
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
        .routes(routes!(create_custom_upn, list_custom_upns))
        .routes(routes!(get_custom_upn, patch_custom_upn, delete_custom_upn))
}

/// Adds a custom UPN to a user (CreateUserCustomUpn).
#[utoipa::path(post, path = "/v1/users/{userId}/custom-upns", tag = "Custom UPNs",
    params(("userId" = String, Path)), request_body = NewCustomUpnBody,
    responses(
        (status = 201, body = CustomUpn),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user already has a UPN for this key, or another user has this UPN", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_custom_upn(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewCustomUpnBody>,
) -> ApiResult<Response> {
    let upn = custom_upns::create(&nexus, &actor, &user_id, body.into()).await?;
    Ok(created(
        format!("/v1/users/{user_id}/custom-upns/{}", upn.id),
        upn,
    ))
}

/// Lists a user's custom UPNs.
#[utoipa::path(get, path = "/v1/users/{userId}/custom-upns", tag = "Custom UPNs",
    params(("userId" = String, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<CustomUpn>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_custom_upns(
    State(nexus): State<Nexus>,
    ApiPath(user_id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<CustomUpn>>> {
    let params = options.params(&custom_upns::LIST)?;
    let page = custom_upns::list(&nexus, &user_id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets one custom UPN.
#[utoipa::path(get, path = "/v1/users/{userId}/custom-upns/{upnId}", tag = "Custom UPNs",
    params(("userId" = String, Path), ("upnId" = String, Path)),
    responses(
        (status = 200, body = CustomUpn),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_custom_upn(
    State(nexus): State<Nexus>,
    ApiPath((user_id, upn_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<CustomUpn>> {
    Ok(Json(custom_upns::get(&nexus, &user_id, &upn_id).await?))
}

/// Updates the given properties on a custom UPN. This may prevent
/// the user from logging in to applications that depend on it.
#[utoipa::path(patch, path = "/v1/users/{userId}/custom-upns/{upnId}", tag = "Custom UPNs",
    params(("userId" = String, Path), ("upnId" = String, Path)), request_body = CustomUpnBody,
    responses(
        (status = 200, body = CustomUpn),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_custom_upn(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((user_id, upn_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CustomUpnBody>,
) -> ApiResult<Json<CustomUpn>> {
    Ok(Json(
        custom_upns::update(&nexus, &actor, &user_id, &upn_id, body).await?,
    ))
}

/// Removes a custom UPN (DeleteUserCustomUpn).
#[utoipa::path(delete, path = "/v1/users/{userId}/custom-upns/{upnId}", tag = "Custom UPNs",
    params(("userId" = String, Path), ("upnId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_custom_upn(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((user_id, upn_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    custom_upns::delete(&nexus, &actor, &user_id, &upn_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
