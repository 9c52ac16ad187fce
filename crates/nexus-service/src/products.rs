//! Products: create, read, change, delete; a product can be created with its
//! developer role.

use nexus_core::audit::resource_type::PRODUCT;
use nexus_core::auth::Authority;
use nexus_core::product::{CreateProductBody, PatchProductBody, Product};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{
    applications, commit, organizations, products, subscriptions, Conn, ListParams, Page,
    StoreError,
};

use crate::{audit, numeric_id, roles, Nexus, Result, ServiceError};

pub use nexus_store::products::LIST;

const RESOURCE: &str = "product";
/// What creating a product's developer role takes besides `product.write`.
pub const ROLE_WRITE: &str = "role.write";

/// What a product is answered with beyond its own row and applications.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    /// Its subscriptions (`$expand=subscriptions`).
    pub subscriptions: bool,
}

/// Fills the products' applications (and, when expanded, subscriptions),
/// one query per collection for all of them.
pub(crate) async fn complete(
    conn: &mut Conn,
    products: &mut [Product],
    expand: Expand,
) -> Result<()> {
    let ids: Vec<i32> = products.iter().map(|p| p.id).collect();
    let mut applications = applications::of_products(conn, &ids).await?;
    let mut subscriptions = if expand.subscriptions {
        subscriptions::of_products(conn, &ids).await?
    } else {
        Default::default()
    };
    for product in products {
        product.applications = applications.remove(&product.id).unwrap_or_default();
        product.subscriptions = subscriptions.remove(&product.id).unwrap_or_default();
    }
    Ok(())
}

async fn completed(conn: &mut Conn, product: Product, expand: Expand) -> Result<Product> {
    let mut one = [product];
    complete(conn, &mut one, expand).await?;
    let [product] = one;
    Ok(product)
}

/// The organization a product names, locked until the transaction ends
/// (its deletion waits); 422 when there is none.
async fn lock_organization(conn: &mut Conn, id: i32) -> Result<()> {
    match organizations::get_for_update(conn, id).await? {
        Some(_) => Ok(()),
        None => Err(ServiceError::Inapplicable(ValidationErrors::single(
            "organizationId",
            format!("no organization has the id {id}"),
        ))),
    }
}

fn name_taken(name: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "a product named '{name}' already exists (names compare without regard to case)"
    ))
}

/// CreateProduct. With `developersRoleAudience`, the product's developer
/// role is created in the same transaction: both or neither.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    body: CreateProductBody,
) -> Result<Product> {
    let new = body.into_new()?;
    if new.developers_role.is_some() && !authority.allows(ROLE_WRITE) {
        audit::record_denial(nexus, actor, PRODUCT, new.name.as_str()).await?;
        return Err(ServiceError::Lacks(ROLE_WRITE));
    }
    let mut tx = nexus.store().begin().await?;
    if let Some(organization) = new.organization_id {
        lock_organization(&mut tx, organization).await?;
    }
    let product = match products::insert(&mut tx, &new, actor).await {
        Ok(product) => product,
        Err(StoreError::Conflict(products::NAME_TAKEN)) => {
            return Err(name_taken(new.name.as_str()))
        }
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &mut tx,
        actor,
        PRODUCT,
        &product.id.to_string(),
        None,
        Some(&product),
    )
    .await?;
    if let Some(role) = &new.developers_role {
        match roles::insert_in(nexus, &mut tx, actor, authority, role).await {
            Ok(_) => {}
            // The failed insert ends the transaction: the product goes too.
            Err(ServiceError::Conflict(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "the role '{}' already exists for the audience '{}'; nothing was created",
                    role.name, role.audience
                )))
            }
            Err(other) => return Err(other),
        }
    }
    commit(tx).await?;
    Ok(product)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str, expand: Expand) -> Result<Product> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    let product = products::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    completed(&mut tx, product, expand).await
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams, expand: Expand) -> Result<Page<Product>> {
    let mut tx = nexus.store().begin_read().await?;
    let mut page = products::list(&mut tx, params).await?;
    complete(&mut tx, &mut page.items, expand).await?;
    Ok(page)
}

/// PatchProduct: absent fields are left as they are; `null` clears `url`,
/// `longDescription` and `organizationId`. A change that changes nothing
/// writes nothing.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: PatchProductBody,
) -> Result<Product> {
    let numeric = numeric_id(RESOURCE, id)?;
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = products::get_for_update(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let next = changes.applied_to(&current);
    if next == current {
        return completed(&mut tx, current, Expand::default()).await;
    }
    if let (Some(organization), true) = (
        next.organization_id,
        next.organization_id != current.organization_id,
    ) {
        lock_organization(&mut tx, organization).await?;
    }
    let updated = match products::update(&mut tx, &current, &next, actor).await {
        Ok(updated) => updated,
        Err(StoreError::Conflict(products::NAME_TAKEN)) => return Err(name_taken(&next.name)),
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &mut tx,
        actor,
        PRODUCT,
        &current.id.to_string(),
        Some(&current),
        Some(&updated),
    )
    .await?;
    let updated = completed(&mut tx, updated, Expand::default()).await?;
    commit(tx).await?;
    Ok(updated)
}

/// DeleteProduct: a product with applications or subscriptions is a
/// conflict that says which.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin().await?;
    let current = products::get_for_delete(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let holds = products::holds(&mut tx, numeric).await?;
    if holds.any() {
        let reasons: Vec<&str> = [
            (
                holds.applications,
                "it has applications (delete them first)",
            ),
            (holds.subscriptions, "organizations subscribe to it"),
        ]
        .into_iter()
        .filter_map(|(held, why)| held.then_some(why))
        .collect();
        return Err(ServiceError::Conflict(format!(
            "product '{}' cannot be deleted: {}",
            current.name,
            reasons.join("; ")
        )));
    }
    products::delete(&mut tx, numeric).await?;
    audit::record(
        &mut tx,
        actor,
        PRODUCT,
        &current.id.to_string(),
        Some(&current),
        None,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}
