//! The caller itself: who it is and, for a user, its own profile. No route
//! here names a user: each acts on the user whose token calls it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use nexus_core::mfa_enrollment::{MfaEnrollmentTicket, MfaFactor, VerifyEnrollmentOtpBody};
use nexus_core::user::{UpdateMeProfileBody, User};
use nexus_service::{me, Nexus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::problem::{ApiError, Problem};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me_profile))
        .routes(routes!(create_mfa_enrollment))
        .routes(routes!(me_verify_enrollment_otp))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MfaEnrollmentQuery {
    /// The factor to enroll; without it, the user chooses on Auth0's page.
    #[param(inline)]
    factor: Option<MfaFactor>,
    /// `true` answers the enrollment link; `false` (the default) has Auth0
    /// e-mail it to the user.
    is_interactive: Option<bool>,
}

/// Creates an MFA enrollment ticket for the caller (CreateMfaEnrollment).
///
/// Auth0 makes a link that enrolls the caller's Auth0 account (the one
/// whose token calls) in a second factor. An interactive request gets the
/// link in the answer; otherwise Auth0 e-mails it to the user. The caller's
/// `mfaEnrollmentStatus` becomes `Pending` (unless it is `Enrolled`).
#[utoipa::path(post, path = "/v1/me/mfa-enrollment", tag = "Me",
    params(MfaEnrollmentQuery),
    responses(
        (status = 200, body = MfaEnrollmentTicket),
        (status = 400, description = "An unknown factor, or a malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials, or credentials that are unknown, expired or revoked, or a user's token whose user no longer exists", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credentials are not a user's token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The IdP tenant of the caller's token has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Auth0 refused; the detail quotes Auth0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_mfa_enrollment(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    query: Result<Query<MfaEnrollmentQuery>, QueryRejection>,
) -> ApiResult<Json<MfaEnrollmentTicket>> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    let interactive = query.is_interactive.unwrap_or(false);
    let ticket = me::create_mfa_enrollment(&nexus, &actor, query.factor, interactive).await?;
    Ok(Json(ticket))
}

/// Confirms the caller's enrollment in an authenticator app
/// (MeVerifyEnrollmentOtp).
///
/// Auth0 checks the one-time password offered with the MFA token it issued
/// to the caller for the enrollment (a token of the caller's own account);
/// the caller's `mfaEnrollmentStatus` becomes `Enrolled`. Out-of-band
/// factors (`oob`) are not supported.
#[utoipa::path(post, path = "/v1/me/verify-enrollment-otp", tag = "Me",
    request_body = VerifyEnrollmentOtpBody,
    responses(
        (status = 200, body = User),
        (status = 400, description = "A missing or malformed field, or an `oob`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials, or credentials that are unknown, expired or revoked, or a user's token whose user no longer exists", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credentials are not a user's token, or the MFA token is not one of the caller's Auth0 account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The IdP tenant of the caller's token has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Auth0 refused the code or the MFA token (wrong, expired); the detail quotes Auth0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached; nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn me_verify_enrollment_otp(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<VerifyEnrollmentOtpBody>,
) -> ApiResult<Json<User>> {
    Ok(Json(me::verify_enrollment_otp(&nexus, &actor, body).await?))
}
