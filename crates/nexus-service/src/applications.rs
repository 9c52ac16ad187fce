//! Applications of products, and the Auth0 clients that run them.

use std::collections::BTreeSet;

use nexus_core::application::{
    Application, ApplicationClient, CreateApplicationBody, PatchApplicationBody,
};
use nexus_core::audit::resource_type::APPLICATION;
use nexus_core::{Actor, ValidationErrors};
use nexus_store::applications::{self, Holder};
use nexus_store::{commit, idp_tenants, products, Conn, ListParams, Page, StoreError};

use crate::{audit, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::applications::LIST;

const RESOURCE: &str = "application";

/// The tenants the clients name, locked until the transaction ends (their
/// deletion waits); 422 naming each client whose tenant does not exist.
async fn lock_tenants(conn: &mut Conn, clients: &[ApplicationClient]) -> Result<()> {
    let tenants: BTreeSet<i32> = clients.iter().map(|c| c.idp_tenant_id).collect();
    let mut missing = Vec::new();
    for tenant in tenants {
        if idp_tenants::resolve_for_update(conn, &tenant.to_string())
            .await?
            .is_none()
        {
            missing.push(tenant);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut errors = ValidationErrors::new();
    for (i, client) in clients.iter().enumerate() {
        if missing.contains(&client.idp_tenant_id) {
            errors.add(
                &format!("clients[{i}].idpTenantId"),
                format!("no IdP tenant has the id {}", client.idp_tenant_id),
            );
        }
    }
    Err(ServiceError::Inapplicable(errors))
}

fn taken(holders: &[Holder]) -> ServiceError {
    let each: Vec<String> = holders
        .iter()
        .map(|h| {
            format!(
                "clientId '{}' of IdP tenant {} already runs application '{}' (id {}, product {})",
                h.client.client_id,
                h.client.idp_tenant_id,
                h.application_name,
                h.application_id,
                h.product_id
            )
        })
        .collect();
    ServiceError::Conflict(format!(
        "an Auth0 client runs one application at most: {}",
        each.join("; ")
    ))
}

/// After a write refused for a client taken meanwhile (the failed
/// statement ended the transaction on PostgreSQL): which application has
/// it now, read anew.
async fn taken_meanwhile(
    nexus: &Nexus,
    clients: &[ApplicationClient],
    except: Option<i32>,
) -> Result<ServiceError> {
    let mut conn = nexus.store().read_one().await?;
    let holders = applications::holders(&mut conn, clients, except).await?;
    Ok(if holders.is_empty() {
        ServiceError::Conflict(applications::CLIENT_TAKEN.to_owned())
    } else {
        taken(&holders)
    })
}

fn name_taken(product_id: i32, name: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "product {product_id} already has an application named '{name}' (names compare without regard to case)"
    ))
}

/// CreateApplication.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    body: CreateApplicationBody,
) -> Result<Application> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    // Locked: the product is not deleted while its application is added.
    if products::get_for_update(&mut tx, new.product_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::Inapplicable(ValidationErrors::single(
            "productId",
            format!("no product has the id {}", new.product_id),
        )));
    }
    lock_tenants(&mut tx, &new.clients).await?;
    let holders = applications::holders(&mut tx, &new.clients, None).await?;
    if !holders.is_empty() {
        return Err(taken(&holders));
    }
    let application = match applications::insert(&mut tx, &new, actor).await {
        Ok(application) => application,
        Err(StoreError::Conflict(applications::NAME_TAKEN)) => {
            return Err(name_taken(new.product_id, &new.name))
        }
        Err(StoreError::Conflict(applications::CLIENT_TAKEN)) => {
            drop(tx);
            return Err(taken_meanwhile(nexus, &new.clients, None).await?);
        }
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &mut tx,
        actor,
        APPLICATION,
        &application.id.to_string(),
        None,
        Some(&application),
    )
    .await?;
    commit(tx).await?;
    Ok(application)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str) -> Result<Application> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    applications::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<Application>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(applications::list(&mut tx, params).await?)
}

/// PatchApplication: absent fields are left as they are; `null` clears
/// `description`; `clients` replaces the clients. A change that changes
/// nothing writes nothing.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: PatchApplicationBody,
) -> Result<Application> {
    let numeric = numeric_id(RESOURCE, id)?;
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = applications::get_for_update(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let next = changes.applied_to(&current);
    if next == current {
        return Ok(current);
    }
    if let (Some(listed), true) = (&changes.clients, next.clients != current.clients) {
        lock_tenants(&mut tx, listed).await?;
        let holders = applications::holders(&mut tx, listed, Some(current.id)).await?;
        if !holders.is_empty() {
            return Err(taken(&holders));
        }
    }
    let updated = match applications::update(&mut tx, &current, &next, actor).await {
        Ok(updated) => updated,
        Err(StoreError::Conflict(applications::NAME_TAKEN)) => {
            return Err(name_taken(current.product_id, &next.name))
        }
        Err(StoreError::Conflict(applications::CLIENT_TAKEN)) => {
            drop(tx);
            return Err(taken_meanwhile(nexus, &next.clients, Some(current.id)).await?);
        }
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &mut tx,
        actor,
        APPLICATION,
        &current.id.to_string(),
        Some(&current),
        Some(&updated),
    )
    .await?;
    commit(tx).await?;
    Ok(updated)
}

/// DeleteApplication: an application with deployments is a conflict.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin().await?;
    let current = applications::get_for_delete(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    if applications::has_deployments(&mut tx, numeric).await? {
        return Err(ServiceError::Conflict(format!(
            "application '{}' cannot be deleted: it is deployed to organizations (delete its deployments first)",
            current.name
        )));
    }
    applications::delete(&mut tx, numeric).await?;
    audit::record(
        &mut tx,
        actor,
        APPLICATION,
        &current.id.to_string(),
        Some(&current),
        None,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}
