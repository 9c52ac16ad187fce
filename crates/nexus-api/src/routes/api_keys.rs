use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::auth::{ApiKey, ApiKeyBody, CreatedApiKey};
use nexus_service::{api_keys, Nexus};
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
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(get_api_key, revoke_api_key))
}

/// Creates an API key (CreateApiKey). The answer holds the secret; it is
/// shown this once and stored only as a hash.
#[utoipa::path(post, path = "/v1/api-keys", tag = "API keys", request_body = ApiKeyBody,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, description = "An invalid field, or permissions that no route uses (named in `errors.permissions`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`roleId` names no role, or a role of another audience; or `expiresAt` is not in the future", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_api_key(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiJson(body): ApiJson<ApiKeyBody>,
) -> ApiResult<Response> {
    crate::auth::check_known_permissions(body.permissions.as_deref())?;
    let key = api_keys::create(&nexus, &actor, &authority, body).await?;
    Ok(created(format!("/v1/api-keys/{}", key.key.id), key))
}

/// Lists API keys (never their secrets).
#[utoipa::path(get, path = "/v1/api-keys", tag = "API keys", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<ApiKey>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_api_keys(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<ApiKey>>> {
    let params = options.params(&api_keys::LIST)?;
    let page = api_keys::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets an API key (never its secret).
#[utoipa::path(get, path = "/v1/api-keys/{keyId}", tag = "API keys", params(("keyId" = String, Path)),
    responses(
        (status = 200, body = ApiKey),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_api_key(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApiKey>> {
    Ok(Json(api_keys::get(&nexus, &id).await?))
}

/// Revokes an API key: it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{keyId}", tag = "API keys", params(("keyId" = String, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_api_key(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    api_keys::revoke(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
