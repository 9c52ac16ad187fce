use axum::extract::State;
use axum::Json;
use nexus_core::sync::{SyncBody, UserInfo};
use nexus_service::{sync, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(sync_user_identity))
}

/// Called by the Auth0 post-login Action on every
/// login: records the IdP groups and attributes and answers with the roles for
/// `audience` and the custom UPN for `clientUpnKey`. `isAuthenticated` is false
/// for an inactive user: the login must be denied. `mfaRequired` is true when
/// the login must use multi-factor authentication.
#[utoipa::path(put, path = "/v1/users/{userId}/$sync", tag = "Users", operation_id = "SyncUserIdentity",
    params(("userId" = String, Path)), request_body = SyncBody,
    responses(
        (status = 200, body = UserInfo),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user, or no identity on the connection", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sync_user_identity(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<SyncBody>,
) -> ApiResult<Json<UserInfo>> {
    Ok(Json(sync::sync(&nexus, actor, &user_id, body).await?))
}
