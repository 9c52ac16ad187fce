//! Applications of products, with the Auth0 clients that run them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::application::{Application, CreateApplicationBody, PatchApplicationBody};
use nexus_service::{applications, Nexus};
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
        .routes(routes!(create_application, list_applications))
        .routes(routes!(
            get_application,
            update_application,
            delete_application
        ))
}

/// Creates an application of a product (CreateApplication), with the Auth0
/// clients that run it: a login through one of them is a login into the
/// application. A client runs one application at most.
#[utoipa::path(post, path = "/v1/applications", tag = "Applications", request_body = CreateApplicationBody,
    responses(
        (status = 201, body = Application),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product has an application of this name, or a client runs another application (the detail names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`productId` names no product, or a client's `idpTenantId` no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_application(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateApplicationBody>,
) -> ApiResult<Response> {
    let application = applications::create(&nexus, &actor, body).await?;
    Ok(created(
        format!("/v1/applications/{}", application.id),
        application,
    ))
}

/// Lists applications with their clients; `$filter=productId eq 7` lists
/// one product's.
#[utoipa::path(get, path = "/v1/applications", tag = "Applications", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<Application>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_applications(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<Application>>> {
    let params = options.params(&applications::LIST)?;
    let page = applications::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets an application with its clients.
#[utoipa::path(get, path = "/v1/applications/{applicationId}", tag = "Applications",
    params(("applicationId" = i32, Path)),
    responses(
        (status = 200, body = Application),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_application(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Application>> {
    Ok(Json(applications::get(&nexus, &id).await?))
}

/// Changes an application (PatchApplication): absent fields are left as
/// they are; `null` clears `description`; `clients` replaces its clients.
#[utoipa::path(patch, path = "/v1/applications/{applicationId}", tag = "Applications",
    params(("applicationId" = i32, Path)), request_body = PatchApplicationBody,
    responses(
        (status = 200, body = Application),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product has another application of the new name, or a client runs another application (the detail names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A client's `idpTenantId` names no IdP tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_application(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchApplicationBody>,
) -> ApiResult<Json<Application>> {
    Ok(Json(applications::update(&nexus, &actor, &id, body).await?))
}

/// Deletes an application that is not deployed (DeleteApplication); its
/// clients run no application afterwards.
#[utoipa::path(delete, path = "/v1/applications/{applicationId}", tag = "Applications",
    params(("applicationId" = i32, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has deployments", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_application(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    applications::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
