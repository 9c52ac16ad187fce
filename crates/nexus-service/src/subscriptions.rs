//! CreateSubscription, PatchSubscription and their reads, and the log that
//! every create and every change of a subscription writes in its own
//! transaction.

use nexus_core::audit::resource_type::SUBSCRIPTION;
use nexus_core::subscription::{
    log_message, CreateSubscriptionBody, PatchSubscriptionBody, Subscription, SubscriptionLog,
    SubscriptionLogSeverity,
};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{
    application_deployments, commit, organizations, products, subscription_logs, subscriptions,
    Conn, ListParams, Page,
};

use crate::{audit, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::subscription_logs::LIST as LOG_LIST;
pub use nexus_store::subscriptions::LIST;

const RESOURCE: &str = "subscription";
const LOG: &str = "subscription log";

/// What a subscription is answered with beyond its own row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expand {
    /// Its log, newest first (`$expand=logs`).
    pub logs: bool,
}

/// Fills the subscriptions' expanded collections, one query for each
/// collection for all of them.
async fn complete(
    conn: &mut Conn,
    subscriptions: &mut [Subscription],
    expand: Expand,
) -> Result<()> {
    let ids: Vec<i32> = subscriptions.iter().map(|s| s.id).collect();
    let mut deployments = application_deployments::of_subscriptions(conn, &ids).await?;
    for subscription in subscriptions.iter_mut() {
        subscription.application_deployments =
            deployments.remove(&subscription.id).unwrap_or_default();
    }
    if !expand.logs {
        return Ok(());
    }
    let mut logs = subscription_logs::of_subscriptions(conn, &ids).await?;
    for subscription in subscriptions {
        subscription.logs = logs.remove(&subscription.id).unwrap_or_default();
    }
    Ok(())
}

/// Records the change from `before` to `after` in the subscription's log
/// and in the audit trail; nothing when nothing changed.
async fn record(
    conn: &mut Conn,
    actor: &Actor,
    before: Option<&Subscription>,
    after: &Subscription,
) -> Result<()> {
    let Some(message) = log_message(before, after) else {
        return Ok(());
    };
    subscription_logs::insert(
        conn,
        after.id,
        SubscriptionLogSeverity::Information,
        &message,
        actor,
    )
    .await?;
    let id = after.id.to_string();
    audit::record(conn, actor, SUBSCRIPTION, &id, before, Some(after)).await
}

/// CreateSubscription: the organization and the product must exist (422
/// naming the field otherwise); both stay locked until the subscription is
/// stored, so neither is deleted meanwhile.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    body: CreateSubscriptionBody,
) -> Result<Subscription> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let mut unknown = ValidationErrors::new();
    if organizations::get_for_update(&mut tx, new.organization_id)
        .await?
        .is_none()
    {
        unknown.add(
            "organizationId",
            format!("no organization has the id {}", new.organization_id),
        );
    }
    if products::get_for_update(&mut tx, new.product_id)
        .await?
        .is_none()
    {
        unknown.add(
            "productId",
            format!("no product has the id {}", new.product_id),
        );
    }
    if !unknown.is_empty() {
        return Err(ServiceError::Inapplicable(unknown));
    }
    let subscription = subscriptions::insert(&mut tx, &new, actor).await?;
    record(&mut tx, actor, None, &subscription).await?;
    commit(tx).await?;
    Ok(subscription)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str, expand: Expand) -> Result<Subscription> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    let subscription = subscriptions::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let mut one = [subscription];
    complete(&mut tx, &mut one, expand).await?;
    let [subscription] = one;
    Ok(subscription)
}

#[tracing::instrument(skip_all)]
pub async fn list(
    nexus: &Nexus,
    params: &ListParams,
    expand: Expand,
) -> Result<Page<Subscription>> {
    let mut tx = nexus.store().begin_read().await?;
    let mut page = subscriptions::list(&mut tx, params).await?;
    complete(&mut tx, &mut page.items, expand).await?;
    Ok(page)
}

/// PatchSubscription: the subscription is locked while the change is
/// worked out, so two changes of different fields both land; a change that
/// changes nothing writes nothing (no log entry, no audit event).
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn patch(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: PatchSubscriptionBody,
) -> Result<Subscription> {
    let numeric = numeric_id(RESOURCE, id)?;
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = subscriptions::get_for_update(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let changed = changes.apply(&current);
    if log_message(Some(&current), &changed).is_none() {
        return Ok(current);
    }
    let updated = subscriptions::update(&mut tx, &current, &changed, actor).await?;
    record(&mut tx, actor, Some(&current), &updated).await?;
    commit(tx).await?;
    Ok(updated)
}

/// A page of the subscription's log.
#[tracing::instrument(skip(nexus, params))]
pub async fn list_logs(
    nexus: &Nexus,
    id: &str,
    params: &ListParams,
) -> Result<Page<SubscriptionLog>> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    if subscriptions::get(&mut tx, numeric).await?.is_none() {
        return Err(ServiceError::not_found(RESOURCE, id));
    }
    Ok(subscription_logs::list(&mut tx, numeric, params).await?)
}

/// GetSubscriptionLog: one entry, with its subscription.
#[tracing::instrument(skip(nexus))]
pub async fn get_log(nexus: &Nexus, id: &str, log_id: &str) -> Result<SubscriptionLog> {
    let numeric = numeric_id(RESOURCE, id)?;
    let mut tx = nexus.store().begin_read().await?;
    let subscription = subscriptions::get(&mut tx, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let log_numeric = numeric_id(LOG, log_id)?;
    let mut log = subscription_logs::get(&mut tx, numeric, log_numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(LOG, log_id))?;
    log.subscription = Some(Box::new(subscription));
    Ok(log)
}
