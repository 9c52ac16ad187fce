use nexus_core::idp_tenant::{IdpTenant, IdpTenantBody, ManagementCredentials};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, idp_tenants, Conn, ListParams, Page};

use crate::{Nexus, Result, ServiceError};

pub use nexus_store::idp_tenants::LIST;

const RESOURCE: &str = "IdP tenant";

/// Management client secrets are stored sealed; without a secret key they
/// cannot be stored at all.
fn seal(nexus: &Nexus, credentials: &mut Option<ManagementCredentials>) -> Result<()> {
    if let Some(credentials) = credentials {
        credentials.client_secret =
            nexus
                .auth0()
                .seal(&credentials.client_secret)
                .map_err(|error| {
                    ValidationErrors::single(
                        "managementClientSecret",
                        format!("cannot be stored: {error}"),
                    )
                })?;
    }
    Ok(())
}

/// Resolves a path's `{idpTenantId}` (id, name, azoTenantName or loginDomain).
pub(crate) async fn resolve(conn: &mut Conn, reference: &str) -> Result<IdpTenant> {
    idp_tenants::resolve(conn, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))
}

#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: IdpTenantBody) -> Result<IdpTenant> {
    let mut new = body.into_new()?;
    seal(nexus, &mut new.credentials)?;
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
    let mut changes = body.into_changes()?;
    seal(nexus, &mut changes.credentials)?;
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

/// At start: every stored Management client secret must open with the
/// configured keys. Those sealed with a previous key, or kept in plain text
/// by an older Nexus, are sealed again with the current key. Returns how many
/// were; fails (and the server must not start) when one cannot be read.
pub async fn reseal_stored_secrets(nexus: &Nexus) -> Result<usize> {
    let sealer = nexus.auth0().sealer();
    let mut tx = nexus.store().begin().await?;
    let mut resealed = 0;
    for (id, name, stored) in idp_tenants::stored_secrets(&mut tx).await? {
        match sealer.reseal(&stored) {
            Ok(None) => {}
            Ok(Some(sealed)) => {
                idp_tenants::replace_secret(&mut tx, id, &stored, &sealed).await?;
                resealed += 1;
            }
            Err(error) => {
                tracing::error!(tenant = %name, %error, "a stored Management client secret cannot be read");
                return Err(error.into());
            }
        }
    }
    commit(tx).await?;
    Ok(resealed)
}
