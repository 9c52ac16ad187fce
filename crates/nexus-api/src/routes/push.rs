use axum::extract::State;
use axum::Json;
use nexus_core::Timestamp;
use nexus_service::Nexus;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(push_status))
}

/// The state of the push of Nexus changes into Auth0.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushStatus {
    /// Auth0 users waiting for a push.
    pub pending: i64,
    /// Pushes that failed for good (e.g. the Auth0 user no longer exists).
    pub failed: i64,
    pub failures: Vec<PushFailure>,
    /// Auth0 users whose profile fields Auth0 refused in the last push (their
    /// `app_metadata` was pushed without them); cleared by a push Auth0 takes whole.
    pub refusals: Vec<PushRefusal>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushRefusal {
    pub idp_tenant_id: i32,
    pub azo_user_id: String,
    /// The Auth0 field refused, when Auth0 named one (e.g. `given_name`).
    pub field: Option<String>,
    /// Auth0's answer.
    pub reason: String,
    pub refused_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushFailure {
    pub idp_tenant_id: i32,
    pub azo_user_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub failed_at: Timestamp,
}

/// The push backlog and the pushes that failed for good, for operators.
#[utoipa::path(get, path = "/v1/push/status", tag = "Push", responses((status = 200, body = PushStatus)))]
async fn push_status(State(nexus): State<Nexus>) -> ApiResult<Json<PushStatus>> {
    let status = nexus_service::push::status(&nexus).await?;
    Ok(Json(PushStatus {
        pending: status.pending,
        failed: status.failed,
        failures: status
            .failures
            .into_iter()
            .map(|f| PushFailure {
                idp_tenant_id: f.idp_tenant_id,
                azo_user_id: f.azo_user_id,
                attempts: f.attempts,
                last_error: f.last_error,
                failed_at: f.modified,
            })
            .collect(),
        refusals: status
            .refusals
            .into_iter()
            .map(|r| PushRefusal {
                idp_tenant_id: r.idp_tenant_id,
                azo_user_id: r.azo_user_id,
                field: r.field,
                reason: r.reason,
                refused_at: r.refused_at,
            })
            .collect(),
    }))
}
