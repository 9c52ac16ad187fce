//! The tenant's applications (Auth0 clients): listed from Auth0's
//! Management API at each request, and enabled or disabled on a connection
//! there. Nexus stores none of it; a change is audited.
//!
//! Who sees what: `client.read.all` (or a bare `read`) every application;
//! `client.read` those whose `client_metadata.owners` names the caller's
//! user or one of its roles. The same for `client.write(.all)` and the
//! application a change names.

use auth0::{Error as Auth0Error, ManagementClient};
use nexus_core::audit::{resource_type, ActorType, Change, Changes};
use nexus_core::auth::Authority;
use nexus_core::idp_tenant::IdpTenant;
use nexus_core::list_query::{MemoryPage, MemoryQuery};
use nexus_core::tenant_client::{
    self, metadata, ClientCaller, ClientMobile, ClientMobileAndroid, ClientMobileIos, ClientScope,
    ConnectionClient, TenantClient, UpdateConnectionClientBody,
};
use nexus_core::Actor;
use nexus_store::{api_keys, commit, idp_tenants, roles, users, Conn};
use serde_json::{json, Value};

use crate::auth0::{unreachable, Use};
use crate::{audit, Nexus, Result, ServiceError};

pub const READ_ALL: &str = "client.read.all";
pub const WRITE_ALL: &str = "client.write.all";

/// GetTenantClients: the tenant's applications the caller may see, with the
/// list options applied.
#[tracing::instrument(skip(nexus, actor, authority, query))]
pub async fn list(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    tenant: &str,
    query: &MemoryQuery,
) -> Result<MemoryPage> {
    let (tenant, client, scope) = prepare(nexus, actor, authority, tenant, READ_ALL).await?;
    let found = client
        .all_clients()
        .await
        .map_err(|error| unreachable(&tenant, error))?;
    let visible: Vec<Value> = found
        .iter()
        .filter_map(client_of)
        .filter(|c| scope.covers(c))
        .map(|c| serde_json::to_value(c).expect("a client serializes"))
        .collect();
    Ok(tenant_client::LIST.apply(visible, query))
}

/// UpdateConnectionEnabledClients: enables or disables one application on
/// a connection. A change that changes nothing calls Auth0 for no change
/// and records nothing.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn update_connection_client(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    tenant: &str,
    connection_id: &str,
    body: UpdateConnectionClientBody,
) -> Result<ConnectionClient> {
    let change = body.into_change()?;
    let (tenant, client, scope) = prepare(nexus, actor, authority, tenant, WRITE_ALL).await?;
    let application = client
        .get_client(&change.client_id)
        .await
        .map_err(|e| missing(&tenant, "client", &change.client_id, e))?;
    let owned = client_of(&application).is_some_and(|c| scope.covers(&c));
    if !owned {
        let path = format!("{}/{connection_id}/{}", tenant.id, change.client_id);
        audit::record_denial(nexus, actor, resource_type::CONNECTION, &path).await?;
        return Err(ServiceError::Lacks(WRITE_ALL));
    }
    let enabled = client
        .all_connection_clients(connection_id)
        .await
        .map_err(|e| missing(&tenant, "connection", connection_id, e))?
        .contains(&change.client_id);
    let answer = ConnectionClient {
        connection_id: connection_id.to_owned(),
        client_id: change.client_id.clone(),
        enabled: change.enabled,
    };
    if enabled == change.enabled {
        return Ok(answer);
    }
    client
        .update_connection_clients(connection_id, &[(&change.client_id, change.enabled)])
        .await
        .map_err(|e| missing(&tenant, "connection", connection_id, e))?;
    let mut changes = Changes::new();
    changes.insert(
        format!("enabledClients.{}", change.client_id),
        Change {
            before: json!(enabled),
            after: json!(change.enabled),
        },
    );
    let mut tx = nexus.store().begin().await?;
    let resource = format!("{}/{connection_id}", tenant.id);
    audit::record_changes(
        &mut tx,
        actor,
        resource_type::CONNECTION,
        &resource,
        changes,
    )
    .await?;
    commit(tx).await?;
    Ok(answer)
}

/// Auth0's answer about a resource the path or body names: 400 (a
/// malformed id) or 404 is a resource that is not there.
fn missing(
    tenant: &IdpTenant,
    resource: &'static str,
    id: &str,
    error: Auth0Error,
) -> ServiceError {
    match error.status() {
        Some(400 | 404) => ServiceError::not_found(resource, id),
        _ => unreachable(tenant, error),
    }
}

/// The tenant, a Management client for it (409 without credentials), and
/// what the caller may act on: everything with `all`, else what it owns.
async fn prepare(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    reference: &str,
    all: &str,
) -> Result<(IdpTenant, ManagementClient, ClientScope)> {
    let mut tx = nexus.store().begin_read().await?;
    let tenant = crate::idp_tenants::resolve(&mut tx, reference).await?;
    let Some(credentials) = idp_tenants::credentials(&mut tx, tenant.id).await? else {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' has no Management credentials: Nexus cannot read its applications",
            tenant.name
        )));
    };
    let scope = if authority.allows(all) {
        ClientScope::All
    } else {
        ClientScope::Owned(caller(&mut tx, actor).await?)
    };
    drop(tx);
    let client = nexus.auth0().client(&tenant, &credentials, Use::Request)?;
    Ok((tenant, client, scope))
}

/// Who the caller is as owners name it: a user token's user and every role
/// it holds; an API key's role; a client's token is neither.
async fn caller(conn: &mut Conn, actor: &Actor) -> Result<ClientCaller> {
    match actor.kind {
        ActorType::User => {
            let roles = users::get(conn, &actor.id)
                .await?
                .map(|user| user.roles)
                .unwrap_or_default();
            Ok(ClientCaller {
                user_id: Some(actor.id.clone()),
                roles: roles.into_iter().map(|r| (r.id, r.name)).collect(),
            })
        }
        ActorType::ApiKey => {
            let role = match api_keys::get(conn, &actor.id)
                .await?
                .and_then(|k| k.role_id)
            {
                Some(role) => roles::get(conn, &role).await?,
                None => None,
            };
            Ok(ClientCaller {
                user_id: None,
                roles: role.into_iter().map(|r| (r.id, r.name)).collect(),
            })
        }
        _ => Ok(ClientCaller::default()),
    }
}

/// An Auth0 client as Nexus shows it; `None` without a client id. Its
/// secret is never read.
pub fn client_of(client: &auth0::Client) -> Option<TenantClient> {
    let refresh = client.refresh_token.clone().unwrap_or_default();
    let expiring = refresh.expiration_type.as_deref() == Some("expiring");
    let text = |key: &str| client.metadata(key).map(str::to_owned);
    Some(TenantClient {
        id: client.client_id.clone()?,
        name: client.name.clone(),
        client_type: client.app_type.clone(),
        mobile: client.mobile.as_ref().map(|m| ClientMobile {
            ios: m.ios.as_ref().map(|i| ClientMobileIos {
                team_id: i.team_id.clone(),
                app_bundle_identifier: i.app_bundle_identifier.clone(),
            }),
            android: m.android.as_ref().map(|a| ClientMobileAndroid {
                app_package_name: a.app_package_name.clone(),
                sha256_cert_fingerprints: a.sha256_cert_fingerprints.clone(),
            }),
        }),
        owners: client
            .metadata(metadata::OWNERS)
            .map(tenant_client::parse_owners)
            .unwrap_or_default(),
        secret: None,
        logo_url: client.logo_uri.clone(),
        grant_types: client.grant_types.clone(),
        product_name: text(metadata::PRODUCT_NAME),
        callback_urls: client.callbacks.clone(),
        client_upn_key: text(metadata::APP_UPN_KEY),
        application_name: text(metadata::APPLICATION_NAME),
        manually_created: client.metadata(metadata::MANUALLY_CREATED) == Some("true"),
        client_auth_method: client.token_endpoint_auth_method.clone(),
        allowed_logout_urls: client.allowed_logout_urls.clone(),
        allowed_web_origins: client.web_origins.clone(),
        allowed_cors_origins: client.allowed_origins.clone(),
        id_token_expiration: client
            .jwt_configuration
            .as_ref()
            .and_then(|j| j.lifetime_in_seconds),
        refresh_token_reuse_interval: refresh.leeway,
        refresh_token_absolute_lifetime: refresh.token_lifetime,
        refresh_token_inactivity_lifetime: refresh.idle_token_lifetime,
        is_refresh_token_rotation_enabled: refresh.rotation_type.as_deref() == Some("rotating"),
        is_refresh_token_absolute_expiration_enabled: expiring
            && refresh.infinite_token_lifetime != Some(true),
        is_refresh_token_inactivity_lifetime_enabled: expiring
            && refresh.infinite_idle_token_lifetime != Some(true),
        allow_cross_origin_authentication: client.cross_origin_authentication == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auth0_client_maps_to_the_client_shape() {
        let client: auth0::Client = serde_json::from_value(json!({
            "client_id": "abc", "name": "Portal", "app_type": "spa", "client_secret": "s3cret",
            "logo_uri": "https://x/logo.png", "callbacks": ["https://x/cb"],
            "allowed_logout_urls": ["https://x/bye"], "web_origins": ["https://x"],
            "allowed_origins": ["https://y"], "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "none", "cross_origin_authentication": true,
            "mobile": {"ios": {"team_id": "T", "app_bundle_identifier": "com.x"},
                       "android": {"app_package_name": "com.x", "sha256_cert_fingerprints": ["AA"]}},
            "jwt_configuration": {"lifetime_in_seconds": 3600},
            "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 5,
                              "token_lifetime": 100, "infinite_token_lifetime": false,
                              "idle_token_lifetime": 50, "infinite_idle_token_lifetime": true},
            "client_metadata": {"app_upn_key": "rdp", "owners": "u-1, devs", "product_name": "P",
                                "application_name": "A", "manually_created": "true"}
        }))
        .unwrap();
        let shown = serde_json::to_value(client_of(&client).unwrap()).unwrap();
        assert_eq!(
            shown,
            json!({"id": "abc", "name": "Portal", "type": "spa",
                "mobile": {"ios": {"teamId": "T", "appBundleIdentifier": "com.x"},
                           "android": {"appPackageName": "com.x", "sha256CertFingerprints": ["AA"]}},
                "owners": ["u-1", "devs"], "secret": null, "logoUrl": "https://x/logo.png",
                "grantTypes": ["authorization_code"], "productName": "P", "callbackUrls": ["https://x/cb"],
                "client_upn_key": "rdp", "applicationName": "A", "manuallyCreated": true,
                "clientAuthMethod": "none", "allowedLogoutUrls": ["https://x/bye"],
                "allowedWebOrigins": ["https://x"], "allowedCorsOrigins": ["https://y"],
                "idTokenExpiration": 3600, "refreshTokenReuseInterval": 5,
                "refreshTokenAbsoluteLifetime": 100, "refreshTokenInactivityLifetime": 50,
                "isRefreshTokenRotationEnabled": true, "isRefreshTokenAbsoluteExpirationEnabled": true,
                "isRefreshTokenInactivityLifetimeEnabled": false, "allowCrossOriginAuthentication": true})
        );
        let bare: auth0::Client = serde_json::from_value(json!({"client_id": "b"})).unwrap();
        let bare = client_of(&bare).unwrap();
        assert!(bare.owners.is_empty() && !bare.manually_created);
        assert!(!bare.is_refresh_token_absolute_expiration_enabled);
        assert!(client_of(&auth0::Client::default()).is_none());
    }
}
