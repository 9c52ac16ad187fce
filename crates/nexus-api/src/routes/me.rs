//! The caller itself: who it is and, for a user, its own profile. No route
//! here names a user: each acts on the user whose token calls it.

use axum::extract::State;
use axum::Json;
use nexus_core::user::{UpdateMeProfileBody, User};
use nexus_service::{me, Nexus};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(me, update_me_profile))
}

/// The caller as `GET /v1/me` answers it.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MeAnswer {
    /// A user's access token: the user.
    User(Box<User>),
    /// An API key or a client's token: the id it acts as.
    Caller(Caller),
}

/// A caller that is not a user.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    /// The API key id or the STS client id the request acts as.
    pub id: String,
}

/// The authenticated caller.
///
/// A user's access token is answered with the user; an API key or a
/// client's token with only the id it acts as, read from the credentials
/// and not the database.
#[utoipa::path(get, path = "/v1/me", tag = "Me",
    responses(
        (status = 200, body = MeAnswer),
        (status = 401, description = "No credentials, or credentials that are unknown, expired or revoked, or a user's token whose user no longer exists", body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Json<MeAnswer>> {
    if actor.user_id().is_none() {
        return Ok(Json(MeAnswer::Caller(Caller { id: actor.id })));
    }
    let user = me::get(&nexus, &actor).await?;
    Ok(Json(MeAnswer::User(Box::new(user))))
}

/// Updates the caller's own profile (UpdateMeProfile).
///
/// Only the fields a user may change themselves; absent or null fields are
/// left as they are. The change reaches the user's Auth0 database accounts
/// as PatchUser's does.
#[utoipa::path(patch, path = "/v1/me", tag = "Me",
    request_body = UpdateMeProfileBody,
    responses(
        (status = 200, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials, or credentials that are unknown, expired or revoked, or a user's token whose user no longer exists", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_me_profile(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<UpdateMeProfileBody>,
) -> ApiResult<Json<User>> {
    Ok(Json(me::update_profile(&nexus, &actor, body).await?))
}
