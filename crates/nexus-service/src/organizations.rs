use std::collections::BTreeSet;

use nexus_core::audit::resource_type::ORGANIZATION;
use nexus_core::organization::{CreateOrganizationBody, Organization, UpdateOrganizationBody};
use nexus_core::product::Product;
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{
    application_deployments, commit, idp_tenants, memberships, organization_aliases,
    organization_domains, organizations, products, subscriptions, Conn, ListParams, Page,
};

use crate::{audit, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::organizations::LIST;

const RESOURCE: &str = "organization";

#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    body: CreateOrganizationBody,
) -> Result<Organization> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let tenant = match &new.default_idp_tenant {
        Some(reference) => Some(default_tenant(&mut tx, reference).await?),
        None => None,
    };
    let organization = organizations::insert(&mut tx, &new, tenant, actor).await?;
    let id = organization.id.to_string();
    audit::record(&mut tx, actor, ORGANIZATION, &id, None, Some(&organization)).await?;
    commit(tx).await?;
    Ok(organization)
}

/// What an organization is answered with beyond its own row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    /// Its memberships (`$expand=members`).
    pub members: bool,
}

/// Fills the organizations' collections Nexus keeps (aliases, domains,
/// subscriptions and the products of those, each product once, with its
/// applications; members when expanded), with one query for each
/// collection for all of them.
pub(crate) async fn complete(
    conn: &mut Conn,
    organizations: &mut [Organization],
    expand: Expand,
) -> Result<()> {
    let ids: Vec<i32> = organizations.iter().map(|o| o.id).collect();
    let mut aliases = organization_aliases::of(conn, &ids).await?;
    let mut domains = organization_domains::of_organizations(conn, &ids).await?;
    let mut subscriptions = subscriptions::of_organizations(conn, &ids).await?;
    let mut members = if expand.members {
        memberships::of_organizations(conn, &ids).await?
    } else {
        Default::default()
    };
    let product_ids: BTreeSet<i32> = subscriptions
        .values()
        .flatten()
        .map(|s| s.product_id)
        .collect();
    let product_ids: Vec<i32> = product_ids.into_iter().collect();
    let mut products: Vec<Product> = products::of_ids(conn, &product_ids)
        .await?
        .into_values()
        .collect();
    products.sort_by_key(|p| p.id);
    crate::products::complete(conn, &mut products, Default::default()).await?;
    let subscription_ids: Vec<i32> = subscriptions.values().flatten().map(|s| s.id).collect();
    let deployments = application_deployments::of_subscriptions(conn, &subscription_ids).await?;
    for organization in organizations {
        // Its applications: those deployed to it, as its products list them.
        let deployed: BTreeSet<i32> = subscriptions
            .get(&organization.id)
            .into_iter()
            .flatten()
            .filter_map(|s| deployments.get(&s.id))
            .flatten()
            .map(|d| d.application_id)
            .collect();
        organization.applications = products
            .iter()
            .flat_map(|p| &p.applications)
            .filter(|a| deployed.contains(&a.id))
            .cloned()
            .collect();
        let mut ids: Vec<i32> = subscriptions
            .get(&organization.id)
            .into_iter()
            .flatten()
            .map(|s| s.product_id)
            .collect();
        ids.sort();
        ids.dedup();
        organization.products = products
            .iter()
            .filter(|p| ids.binary_search(&p.id).is_ok())
            .cloned()
            .collect();
        organization.aliases = aliases.remove(&organization.id).unwrap_or_default();
        organization.domains = domains.remove(&organization.id).unwrap_or_default();
        organization.members = members.remove(&organization.id).unwrap_or_default();
        organization.subscriptions = subscriptions.remove(&organization.id).unwrap_or_default();
    }
    Ok(())
}

/// `organization` with its collections.
pub(crate) async fn completed(
    conn: &mut Conn,
    organization: Organization,
    expand: Expand,
) -> Result<Organization> {
    let mut one = [organization];
    complete(conn, &mut one, expand).await?;
    let [organization] = one;
    Ok(organization)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str, expand: Expand) -> Result<Organization> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    let organization = organizations::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    completed(&mut tx, organization, expand).await
}

#[tracing::instrument(skip_all)]
pub async fn list(
    nexus: &Nexus,
    params: &ListParams,
    expand: Expand,
) -> Result<Page<Organization>> {
    let mut tx = nexus.store().begin_read().await?;
    let mut page = organizations::list(&mut tx, params).await?;
    complete(&mut tx, &mut page.items, expand).await?;
    Ok(page)
}

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: UpdateOrganizationBody,
) -> Result<Organization> {
    let numeric = numeric_id(RESOURCE, id)?;
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = organizations::get_for_update(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let tenant = match &changes.default_idp_tenant {
        Some(Some(reference)) => Some(Some(default_tenant(&mut tx, reference).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let updated = organizations::update(&mut tx, &current, &changes, tenant, actor).await?;
    let id = current.id.to_string();
    audit::record(
        &mut tx,
        actor,
        ORGANIZATION,
        &id,
        Some(&current),
        Some(&updated),
    )
    .await?;
    let updated = completed(&mut tx, updated, Expand::default()).await?;
    commit(tx).await?;
    Ok(updated)
}

/// The id of the tenant `reference` names as `defaultIdpTenantId`, locked
/// until the transaction ends (its deletion waits); 422 when none does.
async fn default_tenant(conn: &mut Conn, reference: &str) -> Result<i32> {
    match idp_tenants::resolve_for_update(conn, reference).await? {
        Some(tenant) => Ok(tenant.id),
        None => Err(ServiceError::Inapplicable(ValidationErrors::single(
            "defaultIdpTenantId",
            format!("no IdP tenant has the id, name, azoTenantName or loginDomain '{reference}'"),
        ))),
    }
}

/// DeleteOrganization: an organization nothing holds on to. One with
/// members, whose users have it as their organization, that an unfinished
/// import creates users in, that a tenant provisions new users into, or
/// with a subscription not Cancelled or Expired, is a conflict that says
/// which: nobody leaves it, and no setting changes, unasked. Its ended
/// subscriptions go with it.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin().await?;
    let current = organizations::get_for_delete(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let holds = organizations::holds(&mut tx, numeric).await?;
    if holds.any() {
        let reasons: Vec<&str> = [
            (holds.members, "it has members"),
            (holds.users, "users have it as their organization"),
            (
                holds.imports,
                "an import not ended yet creates users or members in it",
            ),
            (
                holds.tenants,
                "an IdP tenant provisions new users into it (jitProvisioning)",
            ),
            (
                holds.subscriptions,
                "it has subscriptions that have not ended (cancel them first)",
            ),
        ]
        .into_iter()
        .filter_map(|(held, why)| held.then_some(why))
        .collect();
        return Err(ServiceError::Conflict(format!(
            "organization '{}' cannot be deleted: {}",
            current.name,
            reasons.join("; ")
        )));
    }
    organizations::delete(&mut tx, numeric).await?;
    let id = current.id.to_string();
    audit::record(&mut tx, actor, ORGANIZATION, &id, Some(&current), None).await?;
    commit(tx).await?;
    Ok(())
}
