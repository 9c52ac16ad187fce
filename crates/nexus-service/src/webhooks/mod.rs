//! Webhook subscriptions: change events (audit events of the operations in
//! `nexus_core::webhook::EVENT_TYPES`) delivered, signed, to other systems.
//! Deliveries are enqueued with the event in the change's transaction and
//! sent by the delivery worker (`delivery`). The same events go to NATS
//! JetStream when configured (`nats`), through the same outbox.

mod address;
pub mod delivery;
pub mod nats;

use std::time::Duration;

use nexus_core::audit::{change_of, NewAuditEvent};
use nexus_core::webhook::{CreatedWebhook, Webhook, WebhookBody, WebhookDelivery, WebhookSecret};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::webhooks::{self as store, NewWebhookRow};
use nexus_store::{commit, ListParams, Page};

use crate::{audit, Nexus, Result, ServiceError};

pub use address::is_global;
pub use nats::NatsConfig;
pub use nexus_store::webhooks::{DELIVERIES, LIST};

const RESOURCE: &str = nexus_core::audit::resource_type::WEBHOOK;
const DELIVERY: &str = "webhook delivery";

/// How webhooks are checked and delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Accept and deliver to loopback, private, link-local and other
    /// non-public addresses, and to `http` URLs (local receivers, tests).
    pub allow_private: bool,
    /// Deliveries stay queued (a replica that serves only the API).
    pub paused: bool,
    /// Sleep between polls when nothing is due.
    pub idle_poll: Duration,
    /// Deliveries claimed (and sent concurrently) at once.
    pub batch: i64,
    /// The longest one attempt may take, connection included.
    pub timeout: Duration,
    /// The wait before the first retry; doubled each time, with jitter.
    pub first_retry: Duration,
    /// The longest wait between retries.
    pub max_retry_delay: Duration,
    /// How long a failing delivery is retried before it fails for good.
    pub retry_period: Duration,
    /// Every change event is also published to NATS JetStream.
    pub nats: Option<NatsConfig>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private: false,
            paused: false,
            idle_poll: Duration::from_millis(250),
            batch: 16,
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(10),
            max_retry_delay: Duration::from_secs(3600),
            retry_period: Duration::from_secs(24 * 3600),
            nats: None,
        }
    }
}

impl WebhookConfig {
    /// How long a claim holds: a whole batch is sent at once, each attempt
    /// bounded by `timeout`, so a live worker settles it well within this.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(20)
    }
}

fn generate_secret() -> WebhookSecret {
    let mut key = [0u8; nexus_core::webhook::GENERATED_SECRET_BYTES];
    rand::fill(&mut key[..]);
    WebhookSecret::from_key(&key)
}

/// Subscribes `body.url` to the event types; answers the secret this once.
#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: WebhookBody) -> Result<CreatedWebhook> {
    let config = nexus.webhooks();
    let new = body.into_new(config.allow_private)?;
    address::check_url(new.url.as_url(), config.allow_private)
        .await
        .map_err(|message| ValidationErrors::single("url", message))?;
    let secret = new.secret.clone().unwrap_or_else(generate_secret);
    let sealed = nexus
        .auth0()
        .sealer()
        .seal(secret.expose())
        .map_err(|error| {
            ValidationErrors::single("secret", format!("cannot be stored: {error}"))
        })?;
    let id = nexus_core::new_text_id();
    let mut tx = nexus.store().begin().await?;
    let webhook = store::insert(
        &mut tx,
        &NewWebhookRow {
            id: &id,
            url: new.url.as_str(),
            description: new.description.as_deref(),
            event_types: &new.event_types,
            sealed_secret: &sealed,
        },
        actor,
    )
    .await?;
    audit::record(&mut tx, actor, RESOURCE, &id, None, Some(&webhook)).await?;
    commit(tx).await?;
    Ok(CreatedWebhook {
        webhook,
        secret: secret.expose().to_owned(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<Webhook>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(store::list(&mut tx, params).await?)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str) -> Result<Webhook> {
    let mut tx = nexus.store().begin_read().await?;
    store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Ends the subscription; its pending deliveries go with it.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let before = store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    if !store::delete(&mut tx, id).await? {
        return Err(ServiceError::not_found(RESOURCE, id));
    }
    audit::record(&mut tx, actor, RESOURCE, id, Some(&before), None).await?;
    commit(tx).await?;
    Ok(())
}

#[tracing::instrument(skip(nexus, params))]
pub async fn deliveries(
    nexus: &Nexus,
    webhook_id: &str,
    params: &ListParams,
) -> Result<Page<WebhookDelivery>> {
    let mut tx = nexus.store().begin_read().await?;
    if store::get(&mut tx, webhook_id).await?.is_none() {
        return Err(ServiceError::not_found(RESOURCE, webhook_id));
    }
    Ok(store::deliveries(&mut tx, webhook_id, params).await?)
}

/// Sends the delivery again: due now, attempts counted from zero, a new
/// retry period.
#[tracing::instrument(skip(nexus, actor))]
pub async fn redeliver(
    nexus: &Nexus,
    actor: &Actor,
    webhook_id: &str,
    delivery_id: &str,
) -> Result<WebhookDelivery> {
    let mut tx = nexus.store().begin().await?;
    if store::get(&mut tx, webhook_id).await?.is_none() {
        return Err(ServiceError::not_found(RESOURCE, webhook_id));
    }
    let not_found = || ServiceError::not_found(DELIVERY, delivery_id);
    let id: i64 = delivery_id.parse().map_err(|_| not_found())?;
    let delivery = store::redeliver(&mut tx, webhook_id, id)
        .await?
        .ok_or_else(not_found)?;
    let event = NewAuditEvent::success(RESOURCE, webhook_id).with_changes(change_of(
        "redelivered",
        serde_json::Value::Null,
        serde_json::json!(id),
    ));
    audit::record_event(&mut tx, actor, event).await?;
    commit(tx).await?;
    Ok(delivery)
}

/// At start: every stored webhook secret must open with the configured
/// keys; those sealed with a previous key are sealed again with the
/// current one. Returns how many were.
pub async fn reseal_stored_secrets(nexus: &Nexus) -> Result<usize> {
    let sealer = nexus.auth0().sealer();
    let mut tx = nexus.store().begin().await?;
    let mut resealed = 0;
    for (id, stored) in store::stored_secrets(&mut tx).await? {
        match sealer.reseal(&stored) {
            Ok(None) => {}
            Ok(Some(sealed)) => {
                store::replace_secret(&mut tx, &id, &stored, &sealed).await?;
                resealed += 1;
            }
            Err(error) => {
                tracing::error!(webhook = %id, %error, "a stored webhook secret cannot be read");
                return Err(error.into());
            }
        }
    }
    commit(tx).await?;
    Ok(resealed)
}
