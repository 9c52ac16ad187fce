use axum::extract::State;
use axum::Json;
use nexus_core::audit::AuditEvent;
use nexus_service::{audit, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

/// Lists the audit trail: one event per change made through the API, the
/// command line or at start-up, and one per request refused for want of a
/// permission (`outcome` `denied`, `resourceType` `request`, the path as
/// `resourceId`). Secrets appear only as changed, never with their values.
///
/// `resourceType` and `resourceId` of what is recorded: `user` (the user id;
/// also for a change of the roles given to the user, as `roles`, and for a
/// login that changes the user's groups or attributes, as
/// `identities.{idpTenantId}.groups.{group}` and `attributes.{name}`),
/// `customUpn` (its id), `identity` (`userId/idpTenantId`, the tenant's
/// numeric id), `idpTenant` (its id), `organization` (its id), `member`
/// (`organizationId/userId`), `role` (its id), `connectionMap`
/// (`roleId/mapId`), `apiKey` (its id) and `stsClient` (its client id).
#[utoipa::path(get, path = "/v1/audit-events", tag = "Audit", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<AuditEvent>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit_events(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<AuditEvent>>> {
    let params = options.params(&audit::LIST)?;
    let page = audit::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}
