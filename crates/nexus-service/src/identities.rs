use nexus_core::audit::resource_type::IDENTITY;
use nexus_core::identity::{Identity, LinkBody};
use nexus_core::idp_tenant::IdpTenant;
use nexus_core::Actor;
use nexus_store::{commit, identities, idp_tenants, push, ListParams, Page, StoreError};

use crate::auth0::{verify_link, CheckedLink, Use};
use crate::idp_tenants::resolve;
use crate::users::{learn_verified_address, lock_user, require_user};
use crate::{audit, Nexus, Result, ServiceError};

pub use nexus_store::identities::LIST;

const RESOURCE: &str = "identity";

/// An identity's id in the audit trail: it has none of its own outside its
/// user and tenant.
fn audited_id(user_id: &str, tenant_id: i32) -> String {
    format!("{user_id}/{tenant_id}")
}

/// LinkUserToTenant (seed 001): an idempotent upsert keyed by (user, tenant).
/// When the tenant has Management credentials the link is first checked
/// against Auth0, outside any transaction; nothing is stored if it fails.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn link(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    tenant: &str,
    body: LinkBody,
) -> Result<Identity> {
    let new = body.into_new()?;
    let (tenant, credentials) = {
        let mut tx = nexus.store().begin_read().await?;
        require_user(&mut tx, user_id).await?;
        let tenant = resolve(&mut tx, tenant).await?;
        let credentials = idp_tenants::credentials(&mut tx, tenant.id).await?;
        (tenant, credentials)
    };
    let checked = match credentials {
        Some(credentials) => {
            let client = nexus.auth0().client(&tenant, &credentials, Use::Request)?;
            verify_link(&client, &tenant, &new).await?
        }
        None => CheckedLink {
            identity: new,
            verified_email: None,
        },
    };
    // PostgreSQL arbitrates `ON CONFLICT` on one constraint only: a request
    // racing an identical one may see the other unique index fire first. Once
    // the winner has committed, the retry finds its row and is a no-op.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match try_link(nexus, actor, user_id, &tenant, &checked).await {
            Err(ServiceError::Conflict(_)) if attempts < 3 => continue,
            result => return result,
        }
    }
}

async fn try_link(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    tenant: &IdpTenant,
    checked: &CheckedLink,
) -> Result<Identity> {
    let new = &checked.identity;
    let mut tx = nexus.store().begin().await?;
    // Locked: the identity read as `before` stays the one replaced, so the
    // Auth0 account it named is sure to get its push.
    lock_user(&mut tx, user_id).await?;
    let before = identities::get(&mut tx, user_id, tenant.id).await?;
    let identity = match identities::upsert(&mut tx, user_id, tenant.id, new, actor).await {
        Err(StoreError::MissingReference) => {
            return Err(ServiceError::not_found("IdP tenant", &tenant.name))
        }
        other => other?,
    };
    if before.as_ref() != Some(&identity) {
        push::enqueue(&mut tx, tenant.id, &identity.azo_user_id).await?;
        // The Auth0 account it was linked to before loses the Nexus keys.
        if let Some(old) = before
            .as_ref()
            .filter(|old| old.azo_user_id != identity.azo_user_id)
        {
            push::enqueue(&mut tx, tenant.id, &old.azo_user_id).await?;
        }
    }
    let id = audited_id(user_id, tenant.id);
    audit::record(
        &mut tx,
        actor,
        IDENTITY,
        &id,
        before.as_ref(),
        Some(&identity),
    )
    .await?;
    if let Some(address) = &checked.verified_email {
        learn_verified_address(&mut tx, actor, user_id, address).await?;
    }
    commit(tx).await?;
    Ok(identity)
}

#[tracing::instrument(skip(nexus, params))]
pub async fn list(nexus: &Nexus, user_id: &str, params: &ListParams) -> Result<Page<Identity>> {
    let mut tx = nexus.store().begin_read().await?;
    require_user(&mut tx, user_id).await?;
    Ok(identities::list(&mut tx, user_id, params).await?)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, user_id: &str, tenant: &str) -> Result<Identity> {
    let mut tx = nexus.store().begin_read().await?;
    require_user(&mut tx, user_id).await?;
    let tenant = resolve(&mut tx, tenant).await?;
    identities::get(&mut tx, user_id, tenant.id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, format!("{user_id}@{}", tenant.name)))
}

/// Unlinks the user from the tenant; the identity's groups go with it.
#[tracing::instrument(skip(nexus, actor))]
pub async fn unlink(nexus: &Nexus, actor: &Actor, user_id: &str, tenant: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    lock_user(&mut tx, user_id).await?;
    let tenant = resolve(&mut tx, tenant).await?;
    let Some(identity) = identities::get(&mut tx, user_id, tenant.id).await? else {
        return Err(ServiceError::not_found(
            RESOURCE,
            format!("{user_id}@{}", tenant.name),
        ));
    };
    identities::delete(&mut tx, user_id, tenant.id).await?;
    push::enqueue(&mut tx, tenant.id, &identity.azo_user_id).await?;
    let id = audited_id(user_id, tenant.id);
    audit::record(&mut tx, actor, IDENTITY, &id, Some(&identity), None).await?;
    commit(tx).await?;
    Ok(())
}
