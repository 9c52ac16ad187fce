//! Upsell: a product's modules and their dependency rules
//! (PutUpsellDependencies and its reads), the catalog of what an
//! organization's live subscriptions could add (GetUpsellCatalog), and
//! upsell requests (CreateUpsellRequest, PatchUpsellRequest and their
//! reads).

use std::collections::{BTreeMap, BTreeSet};

use nexus_core::audit::resource_type::{UPSELL_MODULE, UPSELL_REQUEST};
use nexus_core::subscription::{is_in_force, Subscription, SubscriptionLogSeverity};
use nexus_core::upsell::{
    broken_rule, catalog_of, created_message, status_message, CreateUpsellRequestBody,
    NewRequestItem, PatchUpsellRequestBody, PutUpsellDependenciesBody, StoredRequest,
    UpsellCatalogItem, UpsellModule, UpsellRequest, UpsellRequestItem, UpsellRequestStatus,
};
use nexus_core::{Actor, Timestamp, ValidationErrors};
use nexus_store::{
    commit, organizations, products, subscription_logs, subscriptions, upsell, Conn, ListParams,
    Page,
};

use crate::{audit, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::upsell::REQUEST_LIST as LIST;

const PRODUCT: &str = "product";
const MODULE: &str = "upsell module";
const ORGANIZATION: &str = "organization";
const REQUEST: &str = "upsell request";

/// The product, locked until the transaction ends (its modules' rules are
/// checked against each other), and its modules; 404 without it.
async fn lock_product(conn: &mut Conn, id: &str) -> Result<(i32, Vec<UpsellModule>)> {
    let numeric = numeric_id(PRODUCT, id)?;
    products::get_for_update(conn, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(PRODUCT, id))?;
    Ok((numeric, upsell::modules_of_product(conn, numeric).await?))
}

async fn record_module(
    conn: &mut Conn,
    actor: &Actor,
    before: Option<&UpsellModule>,
    after: Option<&UpsellModule>,
) -> Result<()> {
    let module = before.or(after).expect("a module before or after");
    let id = format!("{}/{}", module.product_id, module.module_string);
    audit::record(conn, actor, UPSELL_MODULE, &id, before, after).await
}

/// PutUpsellDependencies: declares the module (`true`: created) or
/// replaces its rules and data whole; a declaration that changes nothing
/// writes nothing.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn put_module(
    nexus: &Nexus,
    actor: &Actor,
    product_id: &str,
    body: PutUpsellDependenciesBody,
) -> Result<(UpsellModule, bool)> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let (product, modules) = lock_product(&mut tx, product_id).await?;
    let declared: BTreeSet<&str> = modules.iter().map(|m| m.module_string.as_str()).collect();
    new.check_rules(&declared)
        .map_err(ServiceError::Inapplicable)?;
    let current = modules
        .iter()
        .find(|m| m.module_string == new.module_string.as_str());
    let (module, created) = match current {
        Some(current) if new.is_same_as(current) => return Ok((current.clone(), false)),
        Some(current) => (
            upsell::replace_module(&mut tx, current, &new, actor).await?,
            false,
        ),
        None => (
            upsell::insert_module(&mut tx, product, &new, actor).await?,
            true,
        ),
    };
    record_module(&mut tx, actor, current, Some(&module)).await?;
    commit(tx).await?;
    Ok((module, created))
}

/// The product's modules, by `moduleString`.
#[tracing::instrument(skip(nexus))]
pub async fn modules(nexus: &Nexus, product_id: &str) -> Result<Vec<UpsellModule>> {
    let numeric = numeric_id(PRODUCT, product_id)?;
    let mut tx = nexus.store().begin_read().await?;
    products::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(PRODUCT, product_id))?;
    Ok(upsell::modules_of_product(&mut tx, numeric).await?)
}

/// One module of the product.
#[tracing::instrument(skip(nexus))]
pub async fn module(nexus: &Nexus, product_id: &str, module_string: &str) -> Result<UpsellModule> {
    modules(nexus, product_id)
        .await?
        .into_iter()
        .find(|m| m.module_string == module_string)
        .ok_or_else(|| ServiceError::not_found(MODULE, module_string))
}

/// Removes a module; while rules of other modules name it, it is a
/// conflict that says which.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete_module(
    nexus: &Nexus,
    actor: &Actor,
    product_id: &str,
    module_string: &str,
) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let (_, modules) = lock_product(&mut tx, product_id).await?;
    let module = modules
        .iter()
        .find(|m| m.module_string == module_string)
        .ok_or_else(|| ServiceError::not_found(MODULE, module_string))?;
    let naming: Vec<&str> = modules
        .iter()
        .filter(|m| m.requires.iter().any(|r| r.module_string == module_string))
        .map(|m| m.module_string.as_str())
        .collect();
    if !naming.is_empty() {
        return Err(ServiceError::Conflict(format!(
            "module '{module_string}' cannot be deleted: the rules of {} name it (change them first)",
            naming
                .iter()
                .map(|name| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    upsell::delete_module(&mut tx, module).await?;
    record_module(&mut tx, actor, Some(module), None).await?;
    commit(tx).await?;
    Ok(())
}

/// GetUpsellCatalog: for each live subscription of the organization (by
/// id), each module its product declares (by `moduleString`).
#[tracing::instrument(skip(nexus))]
pub async fn catalog(nexus: &Nexus, organization_id: &str) -> Result<Vec<UpsellCatalogItem>> {
    let numeric = numeric_id(ORGANIZATION, organization_id)?;
    let mut tx = nexus.store().begin_read().await?;
    organizations::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(ORGANIZATION, organization_id))?;
    let now = Timestamp::now();
    let live: Vec<Subscription> = subscriptions::of_organizations(&mut tx, &[numeric])
        .await?
        .remove(&numeric)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| is_in_force(s, now))
        .collect();
    let product_ids: Vec<i32> = live
        .iter()
        .map(|s| s.product_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let modules = upsell::modules_of_products(&mut tx, &product_ids).await?;
    let ids: Vec<i32> = live.iter().map(|s| s.id).collect();
    let held = upsell::quantities(&mut tx, &ids).await?;
    let none = BTreeMap::new();
    Ok(live
        .iter()
        .flat_map(|s| {
            catalog_of(
                s,
                modules.get(&s.product_id).map_or(&[][..], Vec::as_slice),
                held.get(&s.id).unwrap_or(&none),
            )
        })
        .collect())
}

fn inapplicable(field: &str, message: String) -> ServiceError {
    ServiceError::Inapplicable(ValidationErrors::single(field, message))
}

/// Why a subscription is not live at `now`, or `None` when it is.
fn not_live(subscription: &Subscription, now: Timestamp) -> Option<String> {
    if is_in_force(subscription, now) {
        return None;
    }
    let mut reasons = Vec::new();
    if !subscription.is_enabled {
        reasons.push("it is disabled".to_owned());
    }
    if subscription.status != nexus_core::subscription::SubscriptionStatus::Active {
        reasons.push(format!("its status is {}", subscription.status.as_str()));
    }
    if let Some(expires) = subscription.expires.filter(|e| *e <= now) {
        reasons.push(format!("it expired at {}", expires.to_text()));
    }
    Some(format!(
        "subscription {} is not live (enabled, Active and unexpired): {}",
        subscription.id,
        reasons.join("; ")
    ))
}

/// The request's items completed with the server's ids and quantities;
/// 422 for an item whose module the product does not declare, that names
/// a module another item names, or whose ids are not the server's.
fn complete_items(
    subscription: &Subscription,
    modules: &[UpsellModule],
    held: &BTreeMap<String, i32>,
    items: &[NewRequestItem],
) -> Result<Vec<UpsellRequestItem>> {
    let mut errors = ValidationErrors::new();
    let mut seen = BTreeSet::new();
    let mut completed = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("requestItems[{i}].{name}");
        let name = item.module_string.as_str();
        let Some(module) = modules.iter().find(|m| m.module_string == name) else {
            errors.add(
                &field("moduleString"),
                format!(
                    "product {} declares no module '{name}'",
                    subscription.product_id
                ),
            );
            continue;
        };
        if !seen.insert(name) {
            errors.add(
                &field("moduleString"),
                format!("'{name}' is requested by another item"),
            );
            continue;
        }
        for (given, server, what) in [
            (&item.sf_module_id, &module.sf_module_id, "sfModuleId"),
            (&item.sf_product_id, &module.sf_product_id, "sfProductId"),
            (
                &item.sf_subscription_id,
                &subscription.sf_subscription_id,
                "sfSubscriptionId",
            ),
        ] {
            if given.is_some() && given != server {
                let server = server
                    .as_deref()
                    .map_or("none".to_owned(), |id| format!("'{id}'"));
                errors.add(&field(what), format!("is not the server's ({server})"));
            }
        }
        completed.push(UpsellRequestItem {
            sf_module_id: module.sf_module_id.clone(),
            sf_product_id: module.sf_product_id.clone(),
            sf_subscription_id: subscription.sf_subscription_id.clone(),
            module_string: name.to_owned(),
            current_quantity: held.get(name).copied().unwrap_or(0),
            requested_additional_quantity: item.requested_additional_quantity,
        });
    }
    if !errors.is_empty() {
        return Err(ServiceError::Inapplicable(errors));
    }
    Ok(completed)
}

/// The items whose `currentQuantity` is not what the subscription holds,
/// said for a 409.
fn stale(items: &[NewRequestItem], completed: &[UpsellRequestItem]) -> Option<String> {
    let stale: Vec<String> = items
        .iter()
        .zip(completed)
        .enumerate()
        .filter_map(|(i, (item, server))| {
            let given = item.current_quantity?;
            (given != server.current_quantity).then(|| {
                format!(
                    "requestItems[{i}].currentQuantity is {given}, and the subscription holds {} of '{}'",
                    server.current_quantity, server.module_string
                )
            })
        })
        .collect();
    (!stale.is_empty()).then(|| format!("stale: {}", stale.join("; ")))
}

/// CreateUpsellRequest. The subscription and its product are locked while
/// the request is checked against what the subscription holds and the
/// product's rules, and the request's creation is written to its log.
#[tracing::instrument(skip_all)]
pub async fn create_request(
    nexus: &Nexus,
    actor: &Actor,
    body: CreateUpsellRequestBody,
) -> Result<UpsellRequest> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let subscription = subscriptions::get_for_update(&mut tx, new.subscription_id)
        .await?
        .ok_or_else(|| {
            inapplicable(
                "subscriptionId",
                format!("no subscription has the id {}", new.subscription_id),
            )
        })?;
    if let Some(organization) = new
        .organization_id
        .filter(|o| *o != subscription.organization_id)
    {
        return Err(inapplicable(
            "organizationId",
            format!(
                "subscription {} is organization {}'s, not {organization}'s",
                subscription.id, subscription.organization_id
            ),
        ));
    }
    // The product too: its modules' rules hold until the request is stored.
    products::get_for_update(&mut tx, subscription.product_id).await?;
    let modules = upsell::modules_of_product(&mut tx, subscription.product_id).await?;
    let held = upsell::quantities(&mut tx, &[subscription.id])
        .await?
        .remove(&subscription.id)
        .unwrap_or_default();
    let items = complete_items(&subscription, &modules, &held, &new.items)?;
    if let Some(why) = not_live(&subscription, Timestamp::now()) {
        return Err(ServiceError::Conflict(why));
    }
    if let Some(why) = stale(&new.items, &items) {
        return Err(ServiceError::Conflict(why));
    }
    let holding: BTreeSet<&str> = held
        .iter()
        .filter(|(_, quantity)| **quantity > 0)
        .map(|(name, _)| name.as_str())
        .collect();
    let requested: BTreeSet<&str> = items.iter().map(|i| i.module_string.as_str()).collect();
    if let Some(why) = broken_rule(&modules, &holding, &requested) {
        return Err(ServiceError::Conflict(why));
    }
    let stored = StoredRequest {
        organization_id: subscription.organization_id,
        subscription_id: subscription.id,
        sf_license_id: subscription.sf_license_id.clone(),
        sf_contract_id: subscription.sf_contract_id.clone(),
        items,
    };
    let request = upsell::insert_request(&mut tx, &stored, actor).await?;
    log(&mut tx, actor, &request, created_message(&request)).await?;
    record_request(&mut tx, actor, None, &request).await?;
    commit(tx).await?;
    Ok(request)
}

async fn log(
    conn: &mut Conn,
    actor: &Actor,
    request: &UpsellRequest,
    message: String,
) -> Result<()> {
    subscription_logs::insert(
        conn,
        request.subscription_id,
        SubscriptionLogSeverity::Information,
        &message,
        actor,
    )
    .await?;
    Ok(())
}

async fn record_request(
    conn: &mut Conn,
    actor: &Actor,
    before: Option<&UpsellRequest>,
    after: &UpsellRequest,
) -> Result<()> {
    let id = after.id.to_string();
    audit::record(conn, actor, UPSELL_REQUEST, &id, before, Some(after)).await
}

#[tracing::instrument(skip(nexus))]
pub async fn get_request(nexus: &Nexus, id: &str) -> Result<UpsellRequest> {
    let numeric = numeric_id(REQUEST, id)?;
    let mut conn = nexus.store().read_one().await?;
    upsell::get_request(&mut conn, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(REQUEST, id))
}

#[tracing::instrument(skip_all)]
pub async fn list_requests(nexus: &Nexus, params: &ListParams) -> Result<Page<UpsellRequest>> {
    let mut conn = nexus.store().read_one().await?;
    Ok(upsell::list_requests(&mut conn, params).await?)
}

/// Adds each item's `requestedAdditionalQuantity` to what the
/// subscription holds (the subscription locked meanwhile).
async fn add_quantities(conn: &mut Conn, request: &UpsellRequest) -> Result<()> {
    subscriptions::get_for_update(conn, request.subscription_id).await?;
    let held = upsell::quantities(conn, &[request.subscription_id])
        .await?
        .remove(&request.subscription_id)
        .unwrap_or_default();
    for item in &request.request_items {
        let current = held.get(&item.module_string).copied().unwrap_or(0);
        let total = current
            .checked_add(item.requested_additional_quantity)
            .ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "subscription {} would hold more of '{}' than {}",
                    request.subscription_id,
                    item.module_string,
                    i32::MAX
                ))
            })?;
        upsell::set_quantity(conn, request.subscription_id, &item.module_string, total).await?;
    }
    Ok(())
}

/// PatchUpsellRequest. The request is locked while it changes: of two
/// racing completions one succeeds and the other finds the request final
/// (409). Completing adds the items' quantities to the subscription; a
/// change of status is written to the subscription's log. A patch that
/// changes nothing writes nothing.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn patch_request(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: PatchUpsellRequestBody,
) -> Result<UpsellRequest> {
    let numeric = numeric_id(REQUEST, id)?;
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = upsell::get_request_for_update(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(REQUEST, id))?;
    if changes.is_empty() {
        return Ok(current);
    }
    if current.status.is_final() {
        return Err(ServiceError::Conflict(format!(
            "upsell request {} is {}: a completed or rejected request does not change",
            current.id,
            current.status.as_str()
        )));
    }
    let next = changes.apply(&current);
    if next.status != current.status && !current.status.may_become(next.status) {
        return Err(ServiceError::Conflict(format!(
            "upsell request {} cannot go from {} to {}",
            current.id,
            current.status.as_str(),
            next.status.as_str()
        )));
    }
    if next == current {
        return Ok(current);
    }
    if next.status != current.status {
        if next.status == UpsellRequestStatus::Completed {
            add_quantities(&mut tx, &current).await?;
        }
        let message = status_message(&current, current.status, next.status);
        log(&mut tx, actor, &current, message).await?;
    }
    let updated = upsell::update_request(&mut tx, &current, &next, actor).await?;
    record_request(&mut tx, actor, Some(&current), &updated).await?;
    commit(tx).await?;
    Ok(updated)
}
