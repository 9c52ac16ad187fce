use nexus_core::audit::resource_type::STS_CLIENT;
use nexus_core::auth::{Authority, StsClient, StsClientBody};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, idp_tenants, sts_clients};

use crate::{audit, grants, Nexus, Result, ServiceError};

const RESOURCE: &str = "STS client";

/// Maps a client to permissions; only permissions its creator holds.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    body: StsClientBody,
) -> Result<StsClient> {
    let new = body.into_new()?;
    grants::require_held(authority, &new.permissions)?;
    let mut tx = nexus.store().begin().await?;
    let reference = &new.idp_tenant;
    let tenant = idp_tenants::resolve(&mut tx, reference)
        .await?
        .ok_or_else(|| {
            ServiceError::Inapplicable(ValidationErrors::single(
                "idpTenantId",
                format!("no IdP tenant is '{reference}'"),
            ))
        })?;
    let client = sts_clients::insert(&mut tx, &new, tenant.id, actor).await?;
    let id = &client.client_id;
    audit::record(&mut tx, actor, STS_CLIENT, id, None, Some(&client)).await?;
    commit(tx).await?;
    Ok(client)
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus) -> Result<Vec<StsClient>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(sts_clients::list(&mut tx).await?)
}

fn normalise(client_id: &str) -> &str {
    client_id.trim_end_matches("@clients")
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, client_id: &str) -> Result<StsClient> {
    let mut tx = nexus.store().begin_read().await?;
    sts_clients::get(&mut tx, normalise(client_id))
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, client_id))
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, client_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let before = sts_clients::get_for_update(&mut tx, normalise(client_id))
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, client_id))?;
    sts_clients::delete(&mut tx, &before.client_id).await?;
    let id = &before.client_id;
    audit::record(&mut tx, actor, STS_CLIENT, id, Some(&before), None).await?;
    commit(tx).await?;
    Ok(())
}
