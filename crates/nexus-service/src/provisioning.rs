//! Just-in-time provisioning. The post-login Action calls `SyncAccount`
//! (`PUT /v1/idp_tenants/{idpTenantId}/accounts/{azoUserId}/$sync`) for an
//! Auth0 user whose `app_metadata` names no Nexus user yet. A linked account
//! is synced as `$sync` syncs it; an unknown one, when its tenant provisions
//! just in time, is first imported by the import's rules — from what Auth0
//! holds about it, never from what the caller says, so that an unverified
//! address cannot claim an existing user.

use nexus_core::idp_tenant::IdpTenant;
use nexus_core::import::Outcome;
use nexus_core::sync::{SyncBody, UserInfo};
use nexus_core::Actor;
use nexus_store::{commit, identities, idp_tenants};

use crate::auth0::{read_user, Use};
use crate::imports::{import_user, Connections, Destination};
use crate::{Nexus, Result, ServiceError};

/// SyncAccount: `$sync` of the user that owns the Auth0 account, which is
/// imported first when no user does and the tenant provisions just in time.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn sync_account(
    nexus: &Nexus,
    actor: Actor,
    tenant: &str,
    azo_user_id: &str,
    body: SyncBody,
) -> Result<UserInfo> {
    let request = body.into_request()?;
    let (tenant, owner) = {
        let mut conn = nexus.store().read_one().await?;
        let tenant = crate::idp_tenants::resolve(&mut conn, tenant).await?;
        let owner = identities::owner_in_tenant(&mut conn, tenant.id, azo_user_id).await?;
        (tenant, owner)
    };
    let user_id = match owner {
        Some(user_id) => user_id,
        None => provision(nexus, &actor, &tenant, azo_user_id).await?,
    };
    crate::sync::sync_request(nexus, actor, &user_id, request).await
}

/// Imports the Auth0 user; the id of the Nexus user it is linked to.
async fn provision(
    nexus: &Nexus,
    actor: &Actor,
    tenant: &IdpTenant,
    azo_user_id: &str,
) -> Result<String> {
    if !tenant.jit_provisioning.enabled {
        return Err(ServiceError::not_found(
            "linked account",
            format!(
                "{azo_user_id}' of IdP tenant '{}' (the tenant does not provision users just in time)",
                tenant.name
            ),
        ));
    }
    let credentials = {
        let mut conn = nexus.store().read_one().await?;
        idp_tenants::credentials(&mut conn, tenant.id).await?
    };
    let Some(credentials) = credentials else {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' has no Management credentials: Nexus cannot read its users",
            tenant.name
        )));
    };
    // Auth0 answers before any database lock is taken.
    let client = nexus.auth0().client(tenant, &credentials, Use::Request)?;
    let (user, connection) = read_user(&client, tenant, azo_user_id).await?;
    let connections: Connections = user
        .connection
        .iter()
        .map(|name| (name.clone(), connection.clone()))
        .collect();

    let mut tx = nexus.store().begin().await?;
    // First logins of one tenant are provisioned one at a time: two at once
    // with one address would both find no user with it.
    let locked = idp_tenants::resolve_for_update(&mut tx, &tenant.id.to_string())
        .await?
        .ok_or_else(|| ServiceError::not_found("IdP tenant", tenant.id.to_string()))?;
    let Some(organization_id) = locked.jit_provisioning.organization_id else {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' stopped provisioning users just in time",
            tenant.name
        )));
    };
    let to = Destination {
        tenant_id: tenant.id,
        organization_id,
    };
    match import_user(&mut tx, to, &user, &connections, actor).await? {
        Outcome::Created | Outcome::Linked | Outcome::Unchanged => {}
        Outcome::Conflict(refusal) | Outcome::Skipped(refusal) => {
            return Err(ServiceError::Conflict(format!(
                "Auth0 user '{azo_user_id}' cannot be provisioned: {}",
                refusal.reason
            )))
        }
    }
    let owner = identities::owner_in_tenant(&mut tx, tenant.id, azo_user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("linked account", azo_user_id))?;
    commit(tx).await?;
    Ok(owner)
}
