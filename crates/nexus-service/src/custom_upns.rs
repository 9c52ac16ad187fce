use nexus_core::audit::resource_type::CUSTOM_UPN;
use nexus_core::custom_upn::{CustomUpn, CustomUpnBody};
use nexus_core::Actor;
use nexus_store::push::{self, PushTo};
use nexus_store::{commit, custom_upns, ListParams, Page};

use crate::users::require_user;
use crate::{audit, Nexus, Result, ServiceError};

pub use nexus_store::custom_upns::LIST;

const RESOURCE: &str = "custom UPN";

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    body: CustomUpnBody,
) -> Result<CustomUpn> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    require_user(&mut tx, user_id).await?;
    let upn = custom_upns::insert(&mut tx, user_id, &new, actor).await?;
    push::enqueue_user(&mut tx, user_id, PushTo::AllIdentities).await?;
    audit::record(&mut tx, actor, CUSTOM_UPN, &upn.id, None, Some(&upn)).await?;
    commit(tx).await?;
    Ok(upn)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, user_id: &str, upn_id: &str) -> Result<CustomUpn> {
    let mut tx = nexus.store().begin_read().await?;
    require_user(&mut tx, user_id).await?;
    custom_upns::get(&mut tx, user_id, upn_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, upn_id))
}

#[tracing::instrument(skip(nexus, params))]
pub async fn list(nexus: &Nexus, user_id: &str, params: &ListParams) -> Result<Page<CustomUpn>> {
    let mut tx = nexus.store().begin_read().await?;
    require_user(&mut tx, user_id).await?;
    Ok(custom_upns::list(&mut tx, user_id, params).await?)
}

/// PATCH (seed 000): absent or null fields are left as they are.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    upn_id: &str,
    body: CustomUpnBody,
) -> Result<CustomUpn> {
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    require_user(&mut tx, user_id).await?;
    let current = custom_upns::get_for_update(&mut tx, user_id, upn_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, upn_id))?;
    let updated = custom_upns::update(&mut tx, &current, &changes, actor).await?;
    if updated != current {
        push::enqueue_user(&mut tx, user_id, PushTo::AllIdentities).await?;
    }
    audit::record(
        &mut tx,
        actor,
        CUSTOM_UPN,
        upn_id,
        Some(&current),
        Some(&updated),
    )
    .await?;
    commit(tx).await?;
    Ok(updated)
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, user_id: &str, upn_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    require_user(&mut tx, user_id).await?;
    let current = custom_upns::get_for_update(&mut tx, user_id, upn_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, upn_id))?;
    push::enqueue_user(&mut tx, user_id, PushTo::AllIdentities).await?;
    custom_upns::delete(&mut tx, user_id, upn_id).await?;
    audit::record(&mut tx, actor, CUSTOM_UPN, upn_id, Some(&current), None).await?;
    commit(tx).await?;
    Ok(())
}
