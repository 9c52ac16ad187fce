//! Auth0's events in: the endpoint a tenant's custom-webhook log stream
//! posts to, authenticated by the tenant's log-stream token rather than by
//! Nexus credentials (see `auth::Access::LogStreamToken`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use nexus_core::log_stream::{LogStreamPayload, LogStreamReceipt};
use nexus_service::{log_stream, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::CurrentActor;
use crate::json::unread_body;
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(receive_log_events))
}

/// Receives the tenant's Auth0 log events (ReceiveLogEvents): the endpoint
/// of an Auth0 log stream of type *Custom Webhook*, whose Authorization
/// Token is `Bearer <logStreamToken>` (the tenant's `logStreamToken`). Any
/// of the stream's content formats is accepted: a JSON array, JSON lines,
/// or one JSON object, whatever the Content-Type. Each event is applied
/// once, by its `log_id`: `sv` verifies the user's address (if it is still
/// the address Auth0 verified), `gd_enrollment_complete` makes
/// `mfaEnrollmentStatus` `Enrolled`, `sdu` unlinks the identity (the Nexus
/// user stays), `scp` and the brute-force blocks (`limit_wc`, `limit_sul`,
/// `limit_mu`) are recorded in the audit trail. Events of other types, or
/// about Auth0 users no Nexus user is linked to, are accepted and ignored.
/// An unknown tenant is refused (401) as a wrong token is.
#[utoipa::path(post, path = "/v1/idp_tenants/{idpTenantId}/log-stream", tag = "IdP tenants",
    params(("idpTenantId" = String, Path)),
    request_body(content(
        (LogStreamPayload = "application/json"),
        (String = "application/x-ndjson"),
    )),
    responses(
        (status = 200, description = "The events were handled: what became of them", body = LogStreamReceipt),
        (status = 400, description = "The body is not log events", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
    ))]
async fn receive_log_events(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(tenant): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LogStreamReceipt>> {
    let token = bearer(&headers);
    let body = body.map_err(unread_body)?;
    let receipt = log_stream::receive(&nexus, &actor, &tenant, token.as_deref(), &body).await?;
    Ok(Json(receipt))
}

/// The token of `Authorization: Bearer <token>`, if the header is that.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
