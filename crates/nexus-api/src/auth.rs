//! Authentication and authorization of every route: one table says which
//! permission each route needs; one middleware checks it.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use nexus_core::audit::ActorType;
use nexus_core::auth::Permissions;
use nexus_core::{Actor, ValidationErrors};
use nexus_service::auth::{AuthError, Credentials, FailureKey, Principal, Rejection};
use nexus_service::Nexus;

use crate::client_address::client_address;
use crate::problem::ApiError;
use crate::request_id::RequestId;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed (health, documentation).
    Open,
    /// Any valid credentials.
    Authenticated,
    /// Credentials holding this permission.
    Requires(&'static str),
    /// Credentials holding `owned` (the route then acts only on what the
    /// caller owns) or its widened `all` (on everything). A bare `read` or
    /// `write` grants both.
    Scoped {
        owned: &'static str,
        all: &'static str,
    },
    /// A user's own access token: the route acts on the caller's user.
    User,
    /// Not Nexus credentials but the tenant's log-stream token (`Bearer`),
    /// which the route checks itself: the middleware throttles failures and
    /// counts a 401 as a failed authentication.
    LogStreamToken,
}

/// Every route and what it needs. A route missing here is refused (403), and
/// a test checks that every route the router serves is here.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/v1/push/status", Access::Requires("push.read")),
    ("GET", "/healthz", Access::Open),
    ("GET", "/metrics", Access::Open),
    ("GET", "/v1/me", Access::Authenticated),
    ("PATCH", "/v1/me", Access::User),
    ("POST", "/v1/me/mfa-enrollment", Access::User),
    ("POST", "/v1/me/verify-enrollment-otp", Access::User),
    ("GET", "/readyz", Access::Open),
    ("GET", "/openapi.json", Access::Open),
    ("POST", "/v1/users", Access::Requires("user.write")),
    (
        "POST",
        "/v1/users/{userId}/password-reset",
        Access::Requires("user.password"),
    ),
    (
        "POST",
        "/v1/users/{userId}/email-verification",
        Access::Requires("user.write"),
    ),
    ("GET", "/v1/users", Access::Requires("user.read")),
    ("GET", "/v1/users/{userId}", Access::Requires("user.read")),
    (
        "PATCH",
        "/v1/users/{userId}",
        Access::Requires("user.write"),
    ),
    (
        "DELETE",
        "/v1/users/{userId}",
        Access::Requires("user.write"),
    ),
    (
        "PUT",
        "/v1/users/{userId}/$sync",
        Access::Requires("user.sync"),
    ),
    (
        "PUT",
        "/v1/idp_tenants/{idpTenantId}/accounts/{azoUserId}/$sync",
        Access::Requires("user.sync"),
    ),
    (
        "POST",
        "/v1/users/{userId}/custom-upns",
        Access::Requires("user.write"),
    ),
    (
        "GET",
        "/v1/users/{userId}/custom-upns",
        Access::Requires("user.read"),
    ),
    (
        "GET",
        "/v1/users/{userId}/custom-upns/{upnId}",
        Access::Requires("user.read"),
    ),
    (
        "PATCH",
        "/v1/users/{userId}/custom-upns/{upnId}",
        Access::Requires("user.write"),
    ),
    (
        "DELETE",
        "/v1/users/{userId}/custom-upns/{upnId}",
        Access::Requires("user.write"),
    ),
    (
        "GET",
        "/v1/users/{userId}/idp_tenants",
        Access::Requires("user.read"),
    ),
    (
        "PUT",
        "/v1/users/{userId}/idp_tenants/{idpTenantId}",
        Access::Requires("user.write"),
    ),
    (
        "GET",
        "/v1/users/{userId}/idp_tenants/{idpTenantId}",
        Access::Requires("user.read"),
    ),
    (
        "DELETE",
        "/v1/users/{userId}/idp_tenants/{idpTenantId}",
        Access::Requires("user.write"),
    ),
    (
        "PUT",
        "/v1/users/{userId}/roles",
        Access::Requires("role.write"),
    ),
    (
        "DELETE",
        "/v1/users/{userId}/roles/{roleId}",
        Access::Requires("role.write"),
    ),
    ("POST", "/v1/idp_tenants", Access::Requires("tenant.write")),
    ("GET", "/v1/idp_tenants", Access::Requires("tenant.read")),
    (
        "GET",
        "/v1/idp_tenants/{idpTenantId}",
        Access::Requires("tenant.read"),
    ),
    (
        "PATCH",
        "/v1/idp_tenants/{idpTenantId}",
        Access::Requires("tenant.write"),
    ),
    (
        "DELETE",
        "/v1/idp_tenants/{idpTenantId}",
        Access::Requires("tenant.write"),
    ),
    (
        "POST",
        "/v1/idp_tenants/{idpTenantId}/imports",
        Access::Requires("tenant.write"),
    ),
    (
        "GET",
        "/v1/idp_tenants/{idpTenantId}/imports/{jobId}",
        Access::Requires("tenant.read"),
    ),
    (
        "GET",
        "/v1/tenants/{tenantId}/clients",
        Access::Scoped {
            owned: "client.read",
            all: "client.read.all",
        },
    ),
    (
        "PATCH",
        "/v1/tenants/{tenantId}/connections/{connectionId}/clients",
        Access::Scoped {
            owned: "client.write",
            all: "client.write.all",
        },
    ),
    (
        "POST",
        "/v1/idp_tenants/{idpTenantId}/log-stream",
        Access::LogStreamToken,
    ),
    (
        "POST",
        "/v1/idp_tenants/{idpTenantId}/reconciliations",
        Access::Requires("tenant.write"),
    ),
    (
        "GET",
        "/v1/idp_tenants/{idpTenantId}/reconciliations/{jobId}",
        Access::Requires("tenant.read"),
    ),
    (
        "POST",
        "/v1/organizations",
        Access::Requires("organization.write"),
    ),
    (
        "GET",
        "/v1/organizations",
        Access::Requires("organization.read"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}",
        Access::Requires("organization.read"),
    ),
    (
        "PATCH",
        "/v1/organizations/{organizationId}",
        Access::Requires("organization.write"),
    ),
    (
        "DELETE",
        "/v1/organizations/{organizationId}",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/aliases/{systemName}",
        Access::Requires("organization.update"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/aliases",
        Access::Requires("organization.read"),
    ),
    (
        "DELETE",
        "/v1/organizations/{organizationId}/aliases/{systemName}/{systemId}",
        Access::Requires("organization.update"),
    ),
    (
        "GET",
        "/v1/organizations/by-alias/{systemName}/{systemId}",
        Access::Requires("organization.read"),
    ),
    (
        "PATCH",
        "/v1/organizations/{organizationId}/mfa",
        Access::Requires("customer.mfa.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/domains",
        Access::Requires("organization.write"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/domains",
        Access::Requires("organization.read"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/domains/{domainId}",
        Access::Requires("organization.read"),
    ),
    (
        "DELETE",
        "/v1/organizations/{organizationId}/domains/{domainId}",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/domains/{domainId}/generate-code",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/domains/{domainId}/verify",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/members",
        Access::Requires("organization.write"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/members",
        Access::Requires("organization.read"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/members/{userId}",
        Access::Requires("organization.read"),
    ),
    (
        "PATCH",
        "/v1/organizations/{organizationId}/members/{userId}",
        Access::Requires("organization.write"),
    ),
    (
        "DELETE",
        "/v1/organizations/{organizationId}/members/{userId}",
        Access::Requires("organization.write"),
    ),
    (
        "DELETE",
        "/v1/organizations/{organizationId}/members/{userId}/roles",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/members/invite",
        Access::Requires("organization.write"),
    ),
    (
        "POST",
        "/v1/organizations/{organizationId}/members/import",
        Access::Requires("organization.write"),
    ),
    (
        "GET",
        "/v1/organizations/{organizationId}/members/imports/{id}",
        Access::Requires("organization.read"),
    ),
    ("POST", "/v1/products", Access::Requires("product.write")),
    ("GET", "/v1/products", Access::Requires("product.read")),
    (
        "GET",
        "/v1/products/{productId}",
        Access::Requires("product.read"),
    ),
    (
        "PATCH",
        "/v1/products/{productId}",
        Access::Requires("product.write"),
    ),
    (
        "DELETE",
        "/v1/products/{productId}",
        Access::Requires("product.write"),
    ),
    (
        "POST",
        "/v1/applications",
        Access::Requires("application.write"),
    ),
    (
        "GET",
        "/v1/applications",
        Access::Requires("application.read"),
    ),
    (
        "GET",
        "/v1/applications/{applicationId}",
        Access::Requires("application.read"),
    ),
    (
        "PATCH",
        "/v1/applications/{applicationId}",
        Access::Requires("application.write"),
    ),
    (
        "DELETE",
        "/v1/applications/{applicationId}",
        Access::Requires("application.write"),
    ),
    ("POST", "/v1/roles", Access::Requires("role.write")),
    ("GET", "/v1/roles", Access::Requires("role.read")),
    ("GET", "/v1/roles/{roleId}", Access::Requires("role.read")),
    (
        "PATCH",
        "/v1/roles/{roleId}",
        Access::Requires("role.write"),
    ),
    (
        "DELETE",
        "/v1/roles/{roleId}",
        Access::Requires("role.write"),
    ),
    (
        "POST",
        "/v1/roles/{roleId}/connection-maps",
        Access::Requires("role.write"),
    ),
    (
        "GET",
        "/v1/roles/{roleId}/connection-maps",
        Access::Requires("role.read"),
    ),
    (
        "GET",
        "/v1/roles/{roleId}/connection-maps/{mapId}",
        Access::Requires("role.read"),
    ),
    (
        "DELETE",
        "/v1/roles/{roleId}/connection-maps/{mapId}",
        Access::Requires("role.write"),
    ),
    ("POST", "/v1/api-keys", Access::Requires("apikey.write")),
    ("GET", "/v1/api-keys", Access::Requires("apikey.read")),
    (
        "GET",
        "/v1/api-keys/{keyId}",
        Access::Requires("apikey.read"),
    ),
    (
        "DELETE",
        "/v1/api-keys/{keyId}",
        Access::Requires("apikey.write"),
    ),
    ("GET", "/v1/audit-events", Access::Requires("audit.read")),
    ("POST", "/v1/webhooks", Access::Requires("webhook.write")),
    ("GET", "/v1/webhooks", Access::Requires("webhook.read")),
    (
        "GET",
        "/v1/webhooks/{webhookId}",
        Access::Requires("webhook.read"),
    ),
    (
        "DELETE",
        "/v1/webhooks/{webhookId}",
        Access::Requires("webhook.write"),
    ),
    (
        "GET",
        "/v1/webhooks/{webhookId}/deliveries",
        Access::Requires("webhook.read"),
    ),
    (
        "POST",
        "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
        Access::Requires("webhook.write"),
    ),
    ("POST", "/v1/sts-clients", Access::Requires("sts.write")),
    ("GET", "/v1/sts-clients", Access::Requires("sts.read")),
    (
        "GET",
        "/v1/sts-clients/{clientId}",
        Access::Requires("sts.read"),
    ),
    (
        "DELETE",
        "/v1/sts-clients/{clientId}",
        Access::Requires("sts.write"),
    ),
    (
        "POST",
        "/v1/subscriptions",
        Access::Requires("subscription.write"),
    ),
    (
        "GET",
        "/v1/subscriptions",
        Access::Requires("subscription.read"),
    ),
    (
        "GET",
        "/v1/subscriptions/{subscriptionId}",
        Access::Requires("subscription.read"),
    ),
    (
        "PATCH",
        "/v1/subscriptions/{subscriptionId}",
        Access::Requires("subscription.write"),
    ),
    (
        "GET",
        "/v1/subscriptions/{subscriptionId}/logs",
        Access::Requires("subscription.read"),
    ),
    (
        "GET",
        "/v1/subscriptions/{subscriptionId}/logs/{logId}",
        Access::Requires("subscription.read"),
    ),
    (
        "POST",
        "/v1/application-deployments",
        Access::Requires("application.deployment.write"),
    ),
    (
        "GET",
        "/v1/application-deployments",
        Access::Requires("application.deployment.read"),
    ),
    (
        "GET",
        "/v1/application-deployments/{appDeploymentId}",
        Access::Requires("application.deployment.read"),
    ),
    (
        "PATCH",
        "/v1/application-deployments/{appDeploymentId}",
        Access::Requires("application.deployment.write"),
    ),
    (
        "DELETE",
        "/v1/application-deployments/{appDeploymentId}",
        Access::Requires("application.deployment.write"),
    ),
    (
        "POST",
        "/v1/application-deployments/{appDeploymentId}/users",
        Access::Requires("application.deployment.user.write"),
    ),
    (
        "GET",
        "/v1/application-deployments/{appDeploymentId}/users",
        Access::Requires("application.deployment.read"),
    ),
    (
        "DELETE",
        "/v1/application-deployments/{appDeploymentId}/users/{userId}",
        Access::Requires("application.deployment.user.write"),
    ),
    (
        "PUT",
        "/v1/products/{productId}/upsell-dependencies",
        Access::Requires("product.write"),
    ),
    (
        "GET",
        "/v1/products/{productId}/upsell-dependencies",
        Access::Requires("product.read"),
    ),
    (
        "GET",
        "/v1/products/{productId}/upsell-dependencies/{moduleString}",
        Access::Requires("product.read"),
    ),
    (
        "DELETE",
        "/v1/products/{productId}/upsell-dependencies/{moduleString}",
        Access::Requires("product.write"),
    ),
    // The reference spells the two upsell permissions differently
    // (`upsell_request` and `upsell-request`); callers hold them as spelled.
    (
        "GET",
        "/v1/subscriptions/upsell-catalog/{organizationId}",
        Access::Requires("upsell_request.read"),
    ),
    (
        "POST",
        "/v1/upsell-requests",
        Access::Requires("upsell-request.write"),
    ),
    (
        "GET",
        "/v1/upsell-requests",
        Access::Requires("upsell_request.read"),
    ),
    (
        "GET",
        "/v1/upsell-requests/{upsellRequestId}",
        Access::Requires("upsell_request.read"),
    ),
    (
        "PATCH",
        "/v1/upsell-requests/{upsellRequestId}",
        Access::Requires("upsell-request.write"),
    ),
];

/// Every permission a credential can usefully hold: those the routes of
/// `ROUTES` require, plus the bare `read` and `write` that stand for them.
pub fn known_permissions() -> BTreeSet<&'static str> {
    ROUTES
        .iter()
        .flat_map(|(_, _, access)| match access {
            Access::Requires(permission) => vec![*permission],
            Access::Scoped { owned, all } => vec![*owned, *all],
            Access::Open | Access::Authenticated | Access::User | Access::LogStreamToken => vec![],
        })
        .chain(["read", "write"])
        .collect()
}

/// Refuses space-delimited `permissions` that no route uses: a key holding
/// only those could do nothing. Malformed codes are left to the body's own
/// validation, which names them.
pub fn check_known_permissions(permissions: Option<&str>) -> Result<(), ValidationErrors> {
    let Some(Ok(permissions)) = permissions.map(Permissions::parse) else {
        return Ok(());
    };
    let known = known_permissions();
    let unknown: BTreeSet<&str> = permissions
        .codes()
        .iter()
        .map(String::as_str)
        .filter(|code| !known.contains(code))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = |codes: &BTreeSet<&str>| codes.iter().copied().collect::<Vec<_>>().join(" ");
    Err(ValidationErrors::single(
        "permissions",
        format!(
            "unknown permissions: {}; no route needs them. Known: {}",
            list(&unknown),
            list(&known)
        ),
    ))
}

/// What the route needs; `None` for a route the table does not know.
pub fn access(method: &Method, path: &str) -> Option<Access> {
    if path == "/docs" || path.starts_with("/docs/") {
        return Some(Access::Open);
    }
    // HEAD is GET without the body (the router answers it with the GET
    // handler), so it needs what GET needs.
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, access)| *access)
}

/// What the middleware needs: the operations and each route's operation id.
#[derive(Clone)]
pub struct Gate {
    pub nexus: Nexus,
    pub operations: Arc<Operations>,
}

/// The OpenAPI operation id of each (method, route template).
pub type Operations = HashMap<(Method, String), String>;

/// The middleware: authenticates, checks the route's permission (or that the
/// caller is a user), and records the caller as the request's actor. A
/// refusal after authentication is recorded in the audit trail.
pub async fn authorize(
    State(Gate { nexus, operations }): State<Gate>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let access = match access(request.method(), &path) {
        Some(Access::Open) => return next.run(request).await,
        Some(access) => access,
        None => {
            tracing::error!(method = %request.method(), %path, "route has no permission rule");
            return forbidden("this route has no permission rule").into_response();
        }
    };
    let authenticator = nexus.authenticator();
    if access == Access::LogStreamToken {
        return log_stream_gate(&nexus, &operations, path, request, next).await;
    }
    let delegated = request.extensions_mut().remove::<Delegated>();
    let (principal, address) = match delegated {
        Some(Delegated { principal, address }) => (principal, address),
        None => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
            let credentials = credentials(request.headers());
            let address = client_address(peer, request.headers(), authenticator.trusted_proxies());
            let failure_key = FailureKey {
                address,
                key_id: credentials
                    .as_ref()
                    .ok()
                    .and_then(Credentials::key_id)
                    .map(str::to_owned),
            };
            if let Some(retry_after) = authenticator.throttled(&failure_key) {
                nexus.metrics().observe_auth_failure("throttled");
                return ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-failures",
                    "Too many failed authentications",
                    format!("too many failed authentications with these credentials from this address; retry in {retry_after} s"),
                )
                .with_retry_after(retry_after)
                .into_response();
            }
            let principal = match credentials {
                Ok(credentials) => authenticator.authenticate(credentials).await,
                Err(detail) => Err(AuthError::Rejected {
                    reason: Rejection::Malformed,
                    detail: detail.to_owned(),
                }),
            };
            let principal = match principal {
                Ok(principal) => principal,
                Err(AuthError::Rejected { reason, detail }) => {
                    authenticator.record_failure(failure_key);
                    nexus.metrics().observe_auth_failure(reason.as_str());
                    tracing::info!(reason = %detail, "authentication failed");
                    return ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "Unauthorized",
                        detail,
                    )
                    .into_response();
                }
                Err(AuthError::Store(error)) => {
                    return ApiError::from(nexus_service::ServiceError::from(error)).into_response()
                }
            };
            (principal, address)
        }
    };
    admit(
        &nexus,
        &operations,
        access,
        principal,
        address,
        path,
        request,
        next,
    )
    .await
}

/// A request made inside the server for a caller authenticated otherwise
/// (the console's session): the route's permission is checked as for any
/// caller. Only code in this process can put it in a request's extensions.
#[derive(Clone)]
pub struct Delegated {
    pub principal: Principal,
    pub address: IpAddr,
}

/// Checks that the authenticated caller may call the route, recording a
/// refusal in the audit trail, and records the caller as the request's actor.
#[allow(clippy::too_many_arguments)]
async fn admit(
    nexus: &Nexus,
    operations: &Operations,
    access: Access,
    principal: Principal,
    address: IpAddr,
    path: String,
    mut request: Request,
    next: Next,
) -> Response {
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    let actor = Actor {
        id: principal.id,
        kind: principal.kind,
        tenant_id: principal.tenant_id,
        operation: operations.get(&(method, path)).cloned().unwrap_or_default(),
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned()),
        client_address: Some(address.to_string()),
    };
    let refusal = match access {
        Access::Requires(required) if !principal.authority.allows(required) => Some(forbidden(
            &format!("this operation requires the {required} permission"),
        )),
        Access::Scoped { owned, all }
            if !principal.authority.allows(owned) && !principal.authority.allows(all) =>
        {
            Some(forbidden(&format!(
                "this operation requires the {owned} or the {all} permission"
            )))
        }
        Access::User if principal.kind != ActorType::User => {
            Some(ApiError::from(nexus_service::ServiceError::NotAUser))
        }
        _ => None,
    };
    if let Some(refusal) = refusal {
        nexus.metrics().observe_auth_failure("permission");
        let attempted = request.uri().path();
        if let Err(error) = nexus_service::audit::record_denial(
            nexus,
            &actor,
            nexus_core::audit::resource_type::REQUEST,
            attempted,
        )
        .await
        {
            return ApiError::from(error).into_response();
        }
        return refusal.into_response();
    }
    request.extensions_mut().insert(actor);
    request.extensions_mut().insert(principal.authority);
    next.run(request).await
}

/// A route authenticated by the tenant's log-stream token: the route checks
/// the token; here failures are throttled like any failed authentication
/// (by address, as no key id is named), and the request's actor is the log
/// stream.
async fn log_stream_gate(
    nexus: &Nexus,
    operations: &Operations,
    path: String,
    mut request: Request,
    next: Next,
) -> Response {
    let authenticator = nexus.authenticator();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let address = client_address(peer, request.headers(), authenticator.trusted_proxies());
    let failure_key = FailureKey {
        address,
        key_id: None,
    };
    if let Some(retry_after) = authenticator.throttled(&failure_key) {
        nexus.metrics().observe_auth_failure("throttled");
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-failures",
            "Too many failed authentications",
            format!("too many failed authentications from this address; retry in {retry_after} s"),
        )
        .with_retry_after(retry_after)
        .into_response();
    }
    let actor = Actor {
        id: nexus_service::log_stream::ACTOR_ID.to_owned(),
        kind: ActorType::System,
        tenant_id: None,
        operation: operations
            .get(&(request.method().clone(), path))
            .cloned()
            .unwrap_or_default(),
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned()),
        client_address: Some(address.to_string()),
    };
    request.extensions_mut().insert(actor);
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        authenticator.record_failure(failure_key);
        nexus.metrics().observe_auth_failure("log_stream_token");
    }
    response
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
}

/// Reads `Authorization` (and `ApplicationToken` with a Bearer token).
fn credentials(headers: &HeaderMap) -> Result<Credentials, &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("authentication is required: Basic (API key) or Bearer with ApplicationToken")?
        .to_str()
        .map_err(|_| "the Authorization header is malformed")?;
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or("the Authorization header is malformed")?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .map_err(|_| "the Basic credentials are not base64")?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| "the Basic credentials are malformed")?;
        let (key_id, secret) =
            split_key(&decoded).ok_or("the Basic credentials must be keyId:secret")?;
        Ok(Credentials::Basic { key_id, secret })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err("the Bearer token is empty");
        }
        let application_key = match headers.get("applicationtoken") {
            None => None,
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| "the ApplicationToken header is malformed")?;
                Some(
                    split_key(value.trim())
                        .ok_or("the ApplicationToken header must be keyId:secret")?,
                )
            }
        };
        Ok(Credentials::Bearer {
            token: rest.to_owned(),
            application_key,
        })
    } else {
        Err("the Authorization scheme must be Basic or Bearer")
    }
}

fn split_key(text: &str) -> Option<(String, String)> {
    let (id, secret) = text.split_once(':')?;
    (!id.is_empty() && !secret.is_empty()).then(|| (id.to_owned(), secret.to_owned()))
}
