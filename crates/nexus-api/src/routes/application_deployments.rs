//! Application deployments and the users assigned to them
//! (CreateApplicationDeploymentUsers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::application_deployment::{
    AddDeploymentUserBody, ApplicationDeployment, CreateDeploymentBody, DeploymentUser,
    PatchDeploymentBody,
};
use nexus_service::application_deployments::{self as deployments, Assigned};
use nexus_service::Nexus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, located, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(
            create_application_deployment,
            list_application_deployments
        ))
        .routes(routes!(
            get_application_deployment,
            update_application_deployment,
            delete_application_deployment
        ))
        .routes(routes!(
            create_application_deployment_users,
            list_application_deployment_users
        ))
        .routes(routes!(delete_application_deployment_user))
}

fn location(deployment: &ApplicationDeployment) -> String {
    format!("/v1/application-deployments/{}", deployment.id)
}

/// Deploys an application to an organization under one of its
/// subscriptions (a subscription to the application's product).
#[utoipa::path(post, path = "/v1/application-deployments", tag = "Application deployments",
    request_body = CreateDeploymentBody,
    responses(
        (status = 201, body = ApplicationDeployment),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`applicationId` or `subscriptionId` names nothing, or the subscription is not to the application's product", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_application_deployment(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateDeploymentBody>,
) -> ApiResult<Response> {
    let deployment = deployments::create(&nexus, &actor, body).await?;
    Ok(created(location(&deployment), deployment))
}

/// Lists application deployments; `$filter` takes `applicationId`,
/// `subscriptionId`, `organizationId`, `status`, `name`.
#[utoipa::path(get, path = "/v1/application-deployments", tag = "Application deployments",
    params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<ApplicationDeployment>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_application_deployments(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<ApplicationDeployment>>> {
    let options = options.with_default_order("id");
    let params = options.params(&deployments::LIST)?;
    let page = deployments::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

#[utoipa::path(get, path = "/v1/application-deployments/{appDeploymentId}", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path)),
    responses(
        (status = 200, body = ApplicationDeployment),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_application_deployment(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApplicationDeployment>> {
    Ok(Json(deployments::get(&nexus, &id).await?))
}

/// Changes a deployment; absent fields are kept, null clears a nullable
/// one.
#[utoipa::path(patch, path = "/v1/application-deployments/{appDeploymentId}", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path)),
    request_body = PatchDeploymentBody,
    responses(
        (status = 200, body = ApplicationDeployment),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`maxUserCount` is below the number of users assigned", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_application_deployment(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchDeploymentBody>,
) -> ApiResult<Json<ApplicationDeployment>> {
    Ok(Json(deployments::patch(&nexus, &actor, &id, body).await?))
}

/// Deletes a deployment and its users' assignments.
#[utoipa::path(delete, path = "/v1/application-deployments/{appDeploymentId}", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_application_deployment(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    deployments::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigns a user to an application deployment
/// (CreateApplicationDeploymentUsers): 201 for a new assignment, 200 when
/// the user was assigned already (its `expires`, `isActive` and `metadata`
/// are replaced).
#[utoipa::path(post, path = "/v1/application-deployments/{appDeploymentId}/users", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path)),
    request_body = AddDeploymentUserBody,
    responses(
        (status = 200, description = "The user was assigned already; the assignment's terms are replaced", body = DeploymentUser),
        (status = 201, body = DeploymentUser),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is not a member of the organization that holds the deployment's subscription (and `addToOrganization` is not set), or the deployment is full (`maxUserCount`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`userId` names no user", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_application_deployment_users(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddDeploymentUserBody>,
) -> ApiResult<Response> {
    let (assignment, assigned) = deployments::assign(&nexus, &actor, &id, body).await?;
    let status = match assigned {
        Assigned::New => StatusCode::CREATED,
        Assigned::Changed => StatusCode::OK,
    };
    let location = format!(
        "/v1/application-deployments/{}/users/{}",
        assignment.application_deployment_id, assignment.user_id
    );
    Ok(located(status, location, assignment))
}

/// Lists the users assigned to a deployment; `$filter` takes `userId`,
/// `isActive`, `created`.
#[utoipa::path(get, path = "/v1/application-deployments/{appDeploymentId}/users", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<DeploymentUser>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_application_deployment_users(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<DeploymentUser>>> {
    let options = options.with_default_order("userId");
    let params = options.params(&deployments::USER_LIST)?;
    let page = deployments::users(&nexus, &id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Ends a user's assignment to a deployment.
#[utoipa::path(delete, path = "/v1/application-deployments/{appDeploymentId}/users/{userId}", tag = "Application deployments",
    params(("appDeploymentId" = i32, Path), ("userId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such deployment, or the user is not assigned to it", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_application_deployment_user(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    deployments::unassign(&nexus, &actor, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
