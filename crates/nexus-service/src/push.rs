//! The push worker (DESIGN §4): takes recorded work, computes what Nexus
//! wants the Auth0 user to hold *now*, and PATCHes it — so many changes to one
//! user become one call, and a retry is always safe.

use std::time::Duration;

use auth0::{Error as Auth0Error, UpdateUserRequestContent};
use nexus_core::Timestamp;
use nexus_store::push::{self, DesiredState, PushItem};
use nexus_store::{commit, idp_tenants};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::auth0::Use;
use crate::metrics::PushOutcome;
use crate::Nexus;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Sleep between polls when there is nothing to do.
    pub idle_poll: Duration,
    /// Items claimed at once.
    pub batch: i64,
    /// How long a claim holds before another worker may take the item.
    pub lease: Duration,
    /// The longest wait between retries of a failing item.
    pub max_retry_delay: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            idle_poll: Duration::from_millis(250),
            batch: 20,
            lease: Duration::from_secs(120),
            max_retry_delay: Duration::from_secs(300),
        }
    }
}

/// Runs the worker until `stop` turns true.
pub async fn run(nexus: Nexus, config: PushConfig, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = claim(&nexus, &config).await;
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(config.idle_poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for item in claimed {
            if *stop.borrow() {
                return; // The lease ends and another run takes the item.
            }
            if let Err(error) = push_one(&nexus, &config, &item).await {
                tracing::warn!(%error, item = item.id, "push bookkeeping failed; the item is retried when its lease ends");
            }
        }
    }
}

async fn claim(nexus: &Nexus, config: &PushConfig) -> Vec<PushItem> {
    let result = async {
        let mut tx = nexus.store().begin().await?;
        let items = push::claim(&mut tx, config.batch, config.lease).await?;
        commit(tx).await?;
        Ok::<_, nexus_store::StoreError>(items)
    }
    .await;
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming push work failed");
        Vec::new()
    })
}

async fn push_one(
    nexus: &Nexus,
    config: &PushConfig,
    item: &PushItem,
) -> Result<(), nexus_store::StoreError> {
    let (tenant, credentials, desired) = {
        let mut tx = nexus.store().begin_read().await?;
        let tenant = idp_tenants::get(&mut tx, item.idp_tenant_id).await?;
        let credentials = idp_tenants::credentials(&mut tx, item.idp_tenant_id).await?;
        let desired = push::desired_state(&mut tx, item.idp_tenant_id, &item.azo_user_id).await?;
        (tenant, credentials, desired)
    };
    let (Some(tenant), Some(credentials)) = (tenant, credentials) else {
        // Nothing to push to: the tenant has no Management credentials.
        let mut tx = nexus.store().begin().await?;
        push::complete(&mut tx, item).await?;
        return commit(tx).await;
    };
    let client = match nexus.auth0().client(&tenant, &credentials, Use::Background) {
        Ok(client) => client,
        Err(error) => {
            // Start-up refuses keys that cannot open the stored secrets, so
            // only a change behind Nexus's back leads here; the item waits.
            tracing::error!(tenant = %tenant.name, %error, "the tenant's client secret cannot be opened");
            return Ok(());
        }
    };
    // No transaction is open while Auth0 answers: SQLite has one writer.
    let outcome = client
        .update_user(&item.azo_user_id, &request_for(&desired))
        .await;
    let mut tx = nexus.store().begin().await?;
    match outcome {
        Ok(_) => {
            tracing::info!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, "pushed to Auth0");
            nexus.metrics().observe_push(PushOutcome::Pushed);
            push::complete(&mut tx, item).await?;
        }
        Err(error) if !is_permanent(&error) => {
            nexus.metrics().observe_push(PushOutcome::Retried);
            let delay = retry_delay(config, item.attempts);
            tracing::warn!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, %error, ?delay, "push failed; retrying later");
            push::retry_later(
                &mut tx,
                item,
                Timestamp::now().plus_seconds(delay.as_secs().max(1) as i64),
                &error.to_string(),
            )
            .await?;
        }
        Err(error) => {
            tracing::error!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, %error, "push failed for good");
            nexus.metrics().observe_push(PushOutcome::Failed);
            push::fail(&mut tx, item, &error.to_string()).await?;
        }
    }
    commit(tx).await
}

/// The full Nexus-owned state: `nexus_user_id` and `custom_upns` (the whole
/// object, or null when empty — Auth0 merges app_metadata only at the top
/// level), both null once unlinked; profile fields for database identities.
pub fn request_for(desired: &DesiredState) -> UpdateUserRequestContent {
    let mut request = UpdateUserRequestContent::default();
    let Some(user) = &desired.user else {
        request.app_metadata = Some(json!({"nexus_user_id": null, "custom_upns": null}));
        return request;
    };
    let upns: Map<String, Value> = desired
        .custom_upns
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let upns = if upns.is_empty() {
        Value::Null
    } else {
        Value::Object(upns)
    };
    request.app_metadata = Some(json!({"nexus_user_id": user.id, "custom_upns": upns}));
    if desired.database_identity {
        request.name = Some(Some(user.display_name.clone()));
        request.given_name = user.given_name.clone().map(Some);
        request.family_name = user.family_name.clone().map(Some);
        request.nickname = user.nickname.clone().map(Some);
        request.picture = user.picture.clone().map(Some);
    }
    request
}

fn retry_delay(config: &PushConfig, attempts: i32) -> Duration {
    let exponential =
        Duration::from_secs(1).saturating_mul(2u32.saturating_pow(attempts.clamp(0, 16) as u32));
    let capped = exponential.min(config.max_retry_delay);
    capped.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// Whether an Auth0 error means the same push can never succeed as is.
pub fn is_permanent(error: &Auth0Error) -> bool {
    !error.is_transient()
        && !error
            .status()
            .is_some_and(|s| s >= 500 || s == 429 || s == 408)
}

/// (pending, failed, the failures) for operators.
pub async fn status(nexus: &Nexus) -> crate::Result<(i64, i64, Vec<push::FailedPush>)> {
    let mut tx = nexus.store().begin_read().await?;
    let (pending, failed) = push::backlog(&mut tx).await?;
    Ok((pending, failed, push::failed(&mut tx).await?))
}

/// (pending, failed) counts alone, for metrics.
pub async fn backlog(nexus: &Nexus) -> crate::Result<(i64, i64)> {
    let mut conn = nexus.store().read_one().await?;
    Ok(push::backlog(&mut conn).await?)
}
