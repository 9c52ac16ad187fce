//! Retention of the audit trail: events older than the configured age are
//! deleted by the server, a small batch per transaction, at start and then
//! periodically.

use std::time::Duration;

use nexus_core::Timestamp;
use tokio::sync::watch;

use crate::{Nexus, Result};

/// How long events are kept, and how their deletion is paced.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Events older than this many days are deleted.
    pub days: u32,
    /// Events deleted per transaction: each holds the rows it deletes (and,
    /// on SQLite, the write lock) for only as long as this many take.
    pub batch: i64,
    /// Between two batches, so that writes waiting for the lock go first.
    pub pause: Duration,
    /// Between two passes over the trail.
    pub interval: Duration,
}

impl RetentionConfig {
    pub const DEFAULT_DAYS: u32 = 400;
    /// A hundred years: more is a typo, not a policy.
    pub const MAX_DAYS: u32 = 36_500;

    /// The configured age: 0 (unset) is the default.
    pub fn with_days(days: u32) -> Self {
        RetentionConfig {
            days: if days == 0 { Self::DEFAULT_DAYS } else { days },
            ..RetentionConfig::default()
        }
    }

    /// Events made before this instant are due.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        now.plus_days(-i64::from(self.days))
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            days: Self::DEFAULT_DAYS,
            batch: 1000,
            pause: Duration::from_millis(50),
            interval: Duration::from_secs(3600),
        }
    }
}

/// Runs passes until `stop` turns true: one at once, then one per interval.
pub async fn run(nexus: Nexus, config: RetentionConfig, mut stop: watch::Receiver<bool>) {
    loop {
        match purge(&nexus, &config, &stop).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, days = config.days, "deleted expired audit events")
            }
            Err(error) => {
                tracing::warn!(%error, "deleting expired audit events failed; retried at the next pass")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Deletes every event older than the retention, batch by batch, until
/// none is left or `stop` turns true; says how many it deleted.
pub async fn purge(
    nexus: &Nexus,
    config: &RetentionConfig,
    stop: &watch::Receiver<bool>,
) -> Result<u64> {
    // One cutoff for the pass: events that come of age meanwhile wait for
    // the next one, so a pass always ends.
    let cutoff = config.cutoff(Timestamp::now());
    let mut total = 0;
    while !*stop.borrow() {
        let deleted = delete_batch(nexus, cutoff, config.batch).await?;
        total += deleted;
        if deleted < config.batch.max(0) as u64 {
            break;
        }
        tokio::time::sleep(config.pause).await;
    }
    Ok(total)
}

/// Deletes at most `batch` of the oldest events made before `cutoff`, in
/// one transaction.
pub async fn delete_batch(nexus: &Nexus, cutoff: Timestamp, batch: i64) -> Result<u64> {
    let mut tx = nexus.store().begin().await?;
    let deleted = nexus_store::audit::delete_before(&mut tx, cutoff, batch).await?;
    nexus_store::commit(tx).await?;
    Ok(deleted)
}
