use axum::extract::State;
use axum::Json;
use nexus_core::sync::{SyncBody, UserInfo};
use nexus_service::{provisioning, sync, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(sync_user_identity))
        .routes(routes!(sync_account))
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

/// `$sync` by Auth0 account, for the post-login Action while the account's
/// `app_metadata` names no Nexus user yet: the user that owns the account
/// (linked to it in the tenant) is synced as `SyncUserIdentity` syncs it. When
/// no user does and the tenant has `jitProvisioning` on, the account is
/// first imported as an import would import it (from what Auth0 holds:
/// matched by `app_metadata.nexus_user_id` or a *verified* address, or a
/// new user in the tenant's JIT organization) and Nexus pushes
/// `nexus_user_id` to it, so later logins use `SyncUserIdentity`.
#[utoipa::path(put, path = "/v1/idp_tenants/{idpTenantId}/accounts/{azoUserId}/$sync", tag = "Users",
    operation_id = "SyncAccount",
    params(
        ("idpTenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain"),
        ("azoUserId" = String, Path, description = "The Auth0 user id, e.g. `auth0|64b7…`"),
    ),
    request_body = SyncBody,
    responses(
        (status = 200, body = UserInfo),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown tenant; no user is linked to the account and the tenant does not provision just in time; Auth0 has no such user; or no identity on the connection", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account cannot be provisioned: its address is an existing user's but Auth0 has not verified it, that user has another account in the tenant, Nexus refuses the user, or the tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached to read the new account; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sync_account(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((tenant, azo_user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SyncBody>,
) -> ApiResult<Json<UserInfo>> {
    let info = provisioning::sync_account(&nexus, actor, &tenant, &azo_user_id, body).await?;
    Ok(Json(info))
}
