//! CreateOrganizationAlias and its companions: an organization's ids in
//! other systems, and finding an organization by one.

use nexus_core::audit::resource_type::ORGANIZATION_ALIAS;
use nexus_core::organization::Organization;
use nexus_core::organization_alias::{CreateAliasBody, OrganizationAlias, SystemName};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, organization_aliases, organizations, Conn, StoreError};

use crate::{audit, numeric_id, Nexus, Result, ServiceError};

const ORGANIZATION: &str = "organization";
const ALIAS: &str = "alias";

fn audit_id(alias: &OrganizationAlias) -> String {
    format!(
        "{}/{}/{}",
        alias.organization_id, alias.system_name, alias.system_id
    )
}

/// The organization, locked against deletion until the transaction ends.
async fn lock_organization(conn: &mut Conn, id: &str) -> Result<i32> {
    let numeric = numeric_id(ORGANIZATION, id)?;
    match organizations::get_for_update(conn, numeric).await? {
        Some(organization) => Ok(organization.id),
        None => Err(ServiceError::not_found(ORGANIZATION, id)),
    }
}

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    system_name: &str,
    body: CreateAliasBody,
) -> Result<OrganizationAlias> {
    let new = body.into_new(system_name)?;
    let mut tx = nexus.store().begin().await?;
    let organization_id = lock_organization(&mut tx, organization).await?;
    let alias = match organization_aliases::insert(&mut tx, organization_id, &new, actor).await {
        Ok(alias) => alias,
        Err(StoreError::Conflict(_)) => {
            // The failed insert ended the transaction (PostgreSQL): read anew.
            drop(tx);
            let mut conn = nexus.store().read_one().await?;
            let system = new.system_name.as_str();
            let holder = organization_aliases::find(&mut conn, system, &new.system_id)
                .await?
                .map_or_else(
                    || "another organization".to_owned(),
                    |a| format!("organization {}", a.organization_id),
                );
            return Err(ServiceError::Conflict(format!(
                "systemId '{}' of system '{system}' is already an alias of {holder}",
                new.system_id
            )));
        }
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &mut tx,
        actor,
        ORGANIZATION_ALIAS,
        &audit_id(&alias),
        None,
        Some(&alias),
    )
    .await?;
    commit(tx).await?;
    Ok(alias)
}

/// The organization's aliases, by system name and id.
#[tracing::instrument(skip(nexus))]
pub async fn list(nexus: &Nexus, organization: &str) -> Result<Vec<OrganizationAlias>> {
    let numeric = numeric_id(ORGANIZATION, organization)?;
    let mut tx = nexus.store().begin_read().await?;
    if organizations::get(&mut tx, numeric).await?.is_none() {
        return Err(ServiceError::not_found(ORGANIZATION, organization));
    }
    let mut aliases = organization_aliases::of(&mut tx, &[numeric]).await?;
    Ok(aliases.remove(&numeric).unwrap_or_default())
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    system_name: &str,
    system_id: &str,
) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let organization_id = lock_organization(&mut tx, organization).await?;
    let removed = organization_aliases::delete(&mut tx, organization_id, system_name, system_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(ALIAS, format!("{system_name}/{system_id}")))?;
    audit::record(
        &mut tx,
        actor,
        ORGANIZATION_ALIAS,
        &audit_id(&removed),
        Some(&removed),
        None,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// The organization that has the alias.
#[tracing::instrument(skip(nexus))]
pub async fn find_organization(
    nexus: &Nexus,
    system_name: &str,
    system_id: &str,
) -> Result<Organization> {
    SystemName::parse(system_name)
        .map_err(|message| ValidationErrors::single("systemName", message))?;
    let not_found = || ServiceError::not_found(ALIAS, format!("{system_name}/{system_id}"));
    let mut tx = nexus.store().begin_read().await?;
    let alias = organization_aliases::find(&mut tx, system_name, system_id)
        .await?
        .ok_or_else(not_found)?;
    let organization = organizations::get(&mut tx, alias.organization_id)
        .await?
        .ok_or_else(not_found)?;
    crate::organizations::completed(&mut tx, organization, Default::default()).await
}
