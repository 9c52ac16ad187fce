use nexus_core::idp_tenant::{IdpTenant, IdpTenantBody};
use nexus_core::Actor;
use nexus_store::{commit, idp_tenants, Conn, ListParams, Page};

use crate::{Nexus, Result, ServiceError};

const RESOURCE: &str = "IdP tenant";

/// Resolves a path's `{idpTenantId}` (id, name, azoTenantName or loginDomain).
pub(crate) async fn resolve(conn: &mut Conn, reference: &str) -> Result<IdpTenant> {
    idp_tenants::resolve(conn, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))
}

#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: IdpTenantBody) -> Result<IdpTenant> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let tenant = idp_tenants::insert(&mut tx, &new, actor).await?;
    commit(tx).await?;
    Ok(tenant)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, reference: &str) -> Result<IdpTenant> {
    let mut tx = nexus.store().begin_read().await?;
    resolve(&mut tx, reference).await
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<IdpTenant>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(idp_tenants::list(&mut tx, params).await?)
}

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    reference: &str,
    body: IdpTenantBody,
) -> Result<IdpTenant> {
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = idp_tenants::resolve_for_update(&mut tx, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))?;
    let updated = idp_tenants::update(&mut tx, &current, &changes, actor).await?;
    commit(tx).await?;
    Ok(updated)
}

/// Deletes a tenant no identity is linked to; a tenant in use is a conflict,
/// so that no user loses a link by accident.
#[tracing::instrument(skip(nexus))]
pub async fn delete(nexus: &Nexus, reference: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let tenant = resolve(&mut tx, reference).await?;
    if idp_tenants::has_identities(&mut tx, tenant.id).await? {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' still has linked identities; unlink them first",
            tenant.name
        )));
    }
    idp_tenants::delete(&mut tx, tenant.id).await?;
    commit(tx).await?;
    Ok(())
}
