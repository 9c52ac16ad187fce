use nexus_core::auth::{StsClient, StsClientBody};
use nexus_core::Actor;
use nexus_store::{commit, sts_clients};

use crate::{Nexus, Result, ServiceError};

const RESOURCE: &str = "STS client";

#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: StsClientBody) -> Result<StsClient> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let client = sts_clients::insert(&mut tx, &new, actor).await?;
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

#[tracing::instrument(skip(nexus))]
pub async fn delete(nexus: &Nexus, client_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    if !sts_clients::delete(&mut tx, normalise(client_id)).await? {
        return Err(ServiceError::not_found(RESOURCE, client_id));
    }
    commit(tx).await?;
    Ok(())
}
