//! The tenant's applications (Auth0 clients), read from Auth0 at each
//! request, and which of them a connection signs users in to.

use axum::extract::State;
use axum::Json;
use nexus_core::tenant_client::{self, ConnectionClient, TenantClient, UpdateConnectionClientBody};
use nexus_service::{tenant_clients, Nexus};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::list::{ListOptions, MemoryListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(get_tenant_clients))
        .routes(routes!(update_connection_enabled_clients))
}

/// The list route, for the OpenAPI document's `$orderby` and `$select`.
pub const LIST_PATH: &str = "/v1/tenants/{tenantId}/clients";

/// A page of the tenant's applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    /// With `$select`, each holds only the fields named.
    #[schema(value_type = Vec<TenantClient>)]
    pub value: Vec<Value>,
    /// What the list holds, as OData names it (Nexus serves no `$metadata`).
    #[serde(rename = "@odata.context")]
    pub context: String,
    /// The number of applications matching the request; with `$count=true`.
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The next page: this request with `$skip` moved on by `$top`.
    /// Absent on the last page.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// Lists the tenant's applications (GetTenantClients), read live from
/// Auth0's Management API. With `client.read`, only the applications whose
/// `client_metadata.owners` (comma-separated) names the caller's user id,
/// or the id or name of one of its roles (a user's roles, an API key's
/// role); with `client.read.all`, every one. An application's secret is
/// never returned.
#[utoipa::path(get, path = "/v1/tenants/{tenantId}/clients", tag = "Tenant applications",
    params(("tenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain of the IdP tenant"),
        MemoryListOptionsDoc),
    responses(
        (status = 200, body = ClientList),
        (status = 400, description = "An unknown or malformed list option", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No IdP tenant has that id or name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached, or the request timed out; retry later", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_tenant_clients(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(tenant): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<ClientList>> {
    let query = options.memory_query(&tenant_client::LIST, tenant_client::FIELDS)?;
    let page = tenant_clients::list(&nexus, &actor, &authority, &tenant, &query).await?;
    let selected = query
        .select
        .as_ref()
        .map(|fields| format!("({})", fields.join(",")))
        .unwrap_or_default();
    Ok(Json(ClientList {
        value: page.items,
        context: format!("/v1/$metadata#tenants('{tenant}')/clients{selected}"),
        count: page.total,
        next_link: page.more.then(|| options.next_page_link(&query)),
    }))
}

/// Enables or disables one application on a connection of the tenant
/// (UpdateConnectionEnabledClients), in Auth0 (`PATCH
/// /api/v2/connections/{id}/clients`): users sign in to an application
/// only through the connections enabled for it. With `client.write`, the
/// application must be the caller's (its `client_metadata.owners` names
/// the caller's user or one of its roles); with `client.write.all`, any.
/// Answers the application's state on the connection; a request that
/// changes nothing calls Auth0 for no change and is not audited.
#[utoipa::path(patch, path = "/v1/tenants/{tenantId}/connections/{connectionId}/clients", tag = "Tenant applications",
    params(("tenantId" = String, Path, description = "Numeric id, name, azoTenantName or loginDomain of the IdP tenant"),
        ("connectionId" = String, Path, description = "The Auth0 connection id (`con_…`)")),
    request_body = UpdateConnectionClientBody,
    responses(
        (status = 200, body = ConnectionClient),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credentials hold neither permission, or only `client.write` and the application is not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No IdP tenant has that id or name, or Auth0 has no such connection or application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached, or the request timed out; nothing was changed unless a later read shows it", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_connection_enabled_clients(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath((tenant, connection)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateConnectionClientBody>,
) -> ApiResult<Json<ConnectionClient>> {
    let answer = tenant_clients::update_connection_client(
        &nexus,
        &actor,
        &authority,
        &tenant,
        &connection,
        body,
    )
    .await?;
    Ok(Json(answer))
}
