//! The delivery worker: claims due deliveries, sends each as a signed
//! Standard Webhooks request (or publishes it to NATS JetStream, for the
//! `nats` sink), and settles it as succeeded, to be retried (exponential
//! backoff with jitter, for the retry period) or failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_core::audit::AuditEvent;
use nexus_core::webhook::{message_id, DeliveryStatus, WebhookKind};
use nexus_core::Timestamp;
use nexus_store::webhooks::{self as store, Attempt, ClaimedDelivery};
use nexus_store::{commit, Backend, StoreError};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::address::{check_url, CheckedResolver};
use super::nats::{self, Publisher};
use super::WebhookConfig;
use crate::metrics::WebhookOutcome;
use crate::Nexus;

/// The most of an error kept with a delivery.
const ERROR_LEN: usize = 300;

/// Runs the worker until `stop` turns true.
pub async fn run(nexus: Nexus, mut stop: watch::Receiver<bool>) {
    let config = nexus.webhooks().clone();
    if config.paused {
        let _ = stop.wait_for(|stopped| *stopped).await;
        return;
    }
    let client = match client(&config) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "the webhook delivery client cannot be built; webhooks stay queued");
            return;
        }
    };
    let publisher = config.nats.clone().map(|nats| {
        let publisher = Arc::new(Publisher::new(nats, config.timeout));
        // The stream is there before the first event (each publish makes
        // sure of it too, should NATS be down now).
        let starting = publisher.clone();
        tokio::spawn(async move {
            if let Err(error) = starting.ensure_stream().await {
                tracing::warn!(%error, "NATS JetStream is not ready; events wait in the outbox");
            }
        });
        publisher
    });
    let owner = nexus_core::new_text_id();
    if nexus.store().backend() == Backend::Sqlite {
        take_over_claims(&nexus).await;
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = claim(&nexus, &config, &owner).await;
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(config.idle_poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A batch goes out at once: one slow receiver delays the others by
        // at most one timeout.
        let mut sending = JoinSet::new();
        for delivery in claimed {
            let (nexus, client, config) = (nexus.clone(), client.clone(), config.clone());
            let publisher = publisher.clone();
            sending.spawn(async move {
                let senders = Senders {
                    http: &client,
                    nats: publisher.as_deref(),
                };
                if let Err(error) = deliver(&nexus, senders, &config, &delivery).await {
                    tracing::warn!(%error, delivery = delivery.id,
                        "webhook bookkeeping failed; the delivery is retried when its claim ends");
                }
            });
        }
        while sending.join_next().await.is_some() {}
    }
}

/// The HTTP client of deliveries: every name resolved through the address
/// check, no redirects followed (one could lead anywhere), no proxy from
/// the environment (it would resolve names itself).
fn client(config: &WebhookConfig) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(CheckedResolver::shared(config.allow_private))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(config.timeout)
        .timeout(config.timeout)
        .user_agent(concat!("nexus-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// On SQLite only this process delivers: claims found at start were left
/// by a run that ended without settling them.
async fn take_over_claims(nexus: &Nexus) {
    let result = async {
        let mut tx = nexus.store().begin().await?;
        let released = store::release_all(&mut tx).await?;
        commit(tx).await?;
        Ok::<_, StoreError>(released)
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(released) => tracing::info!(
            released,
            "took over webhook deliveries claimed by an earlier run"
        ),
        Err(error) => {
            tracing::warn!(%error, "releasing the webhook claims of an earlier run failed; they end with their lease")
        }
    }
}

async fn claim(nexus: &Nexus, config: &WebhookConfig, owner: &str) -> Vec<ClaimedDelivery> {
    let result = async {
        let mut conn = nexus.store().read_one().await?;
        if !store::any_due(&mut conn).await? {
            return Ok(Vec::new());
        }
        drop(conn);
        let mut tx = nexus.store().begin().await?;
        let claimed = store::claim(&mut tx, owner, config.batch, config.lease()).await?;
        commit(tx).await?;
        Ok::<_, StoreError>(claimed)
    }
    .await;
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming webhook deliveries failed");
        Vec::new()
    })
}

/// The body of a delivery (webhook or NATS message): the event's type and
/// time, and the audit event as `GET /v1/audit-events` shows it. The same
/// bytes on every attempt.
pub fn payload(event_type: &str, event: &AuditEvent) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": event_type,
        "timestamp": event.time,
        "data": event,
    }))
    .expect("an audit event serializes")
}

/// What deliveries go out through, by their subscription's kind.
#[derive(Clone, Copy)]
struct Senders<'a> {
    http: &'a reqwest::Client,
    /// None when this process has no NATS configured.
    nats: Option<&'a Publisher>,
}

async fn deliver(
    nexus: &Nexus,
    senders: Senders<'_>,
    config: &WebhookConfig,
    delivery: &ClaimedDelivery,
) -> Result<(), StoreError> {
    let (target, event) = {
        let mut tx = nexus.store().begin_read().await?;
        let target = store::target(&mut tx, &delivery.webhook_id).await?;
        let event = nexus_store::audit::get(&mut tx, delivery.event_id).await?;
        (target, event)
    };
    // A subscription deleted meanwhile took its deliveries with it.
    let Some(target) = target else { return Ok(()) };
    let started = Instant::now();
    let sent = match (event, target.kind) {
        (None, _) => Err(Failure::permanent(
            "the event is no longer in the audit trail",
        )),
        (Some(event), WebhookKind::Http) => {
            match nexus.auth0().sealer().open(&target.sealed_secret) {
                Err(error) => Err(Failure::transient(format!(
                    "the subscription's secret cannot be opened: {error}"
                ))),
                Ok(secret) => {
                    let body = payload(&delivery.event_type, &event);
                    send(senders.http, config, &target.url, &secret, delivery, body)
                        .await
                        .map(Some)
                }
            }
        }
        (Some(event), WebhookKind::Nats) => {
            let body = payload(&delivery.event_type, &event);
            publish(senders.nats, &target.url, delivery, body)
                .await
                .map(|()| None)
        }
    };
    let elapsed = started.elapsed();
    let attempt = settle_as(config, delivery, &sent);
    let outcome = match attempt.status {
        DeliveryStatus::Succeeded => WebhookOutcome::Succeeded,
        DeliveryStatus::Pending => WebhookOutcome::FailedAttempt,
        DeliveryStatus::Failed => WebhookOutcome::Failed,
    };
    nexus.metrics().observe_webhook(outcome, elapsed);
    match &sent {
        Ok(status) => {
            tracing::info!(webhook = %delivery.webhook_id, kind = target.kind.as_str(), delivery = delivery.id,
                status = ?status, "webhook delivered")
        }
        Err(failure) => {
            tracing::warn!(webhook = %delivery.webhook_id, kind = target.kind.as_str(), delivery = delivery.id,
                error = %failure.error, status = ?attempt.status, next = ?attempt.next_attempt_at.map(|t| t.to_text()),
                "webhook delivery failed")
        }
    }
    let mut tx = nexus.store().begin().await?;
    store::settle(&mut tx, delivery, &attempt).await?;
    commit(tx).await
}

/// Why an attempt failed, and the status of the answer if one came.
#[derive(Debug)]
struct Failure {
    error: String,
    response_status: Option<i32>,
    permanent: bool,
}

impl Failure {
    fn transient(error: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            response_status: None,
            permanent: false,
        }
    }

    fn permanent(error: impl Into<String>) -> Self {
        Failure {
            permanent: true,
            ..Failure::transient(error)
        }
    }
}

/// POSTs the signed body; the status of a 2xx answer, or why it failed.
async fn send(
    client: &reqwest::Client,
    config: &WebhookConfig,
    url: &str,
    secret: &str,
    delivery: &ClaimedDelivery,
    body: Vec<u8>,
) -> Result<i32, Failure> {
    let url = url::Url::parse(url).map_err(|e| Failure::permanent(format!("bad URL: {e}")))?;
    // A host written as an address is not resolved, so the resolver cannot
    // check it: it is checked here.
    check_url(&url, config.allow_private)
        .await
        .map_err(Failure::transient)?;
    let id = message_id(delivery.event_id);
    let timestamp = Timestamp::now().as_datetime().timestamp();
    let signature = standardwebhooks::Webhook::new(secret)
        .and_then(|signer| signer.sign(&id, timestamp, &body))
        .map_err(|e| Failure::transient(format!("signing failed: {e}")))?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|error| Failure::transient(error_chain(&error)))?;
    let status = response.status();
    if status.is_success() {
        Ok(i32::from(status.as_u16()))
    } else {
        Err(Failure {
            error: format!("the receiver answered {status}"),
            response_status: Some(i32::from(status.as_u16())),
            permanent: false,
        })
    }
}

/// Publishes the body to JetStream on `<prefix>.<event type>`, with the
/// message id that lets the stream drop a repeat.
async fn publish(
    publisher: Option<&Publisher>,
    prefix: &str,
    delivery: &ClaimedDelivery,
    body: Vec<u8>,
) -> Result<(), Failure> {
    let publisher = publisher.ok_or_else(|| {
        Failure::transient("NATS is not configured in this process (NEXUS_NATS_URL)")
    })?;
    let ack = publisher
        .publish(
            nats::subject(prefix, &delivery.event_type),
            &message_id(delivery.event_id),
            body,
        )
        .await
        .map_err(Failure::transient)?;
    tracing::debug!(stream = %ack.stream, sequence = ack.sequence, duplicate = ack.duplicate,
        "stored by JetStream");
    Ok(())
}

/// An error with its causes, which name what really went wrong (a refused
/// address, a timeout, a refused connection).
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What the attempt makes of the delivery.
fn settle_as<'a>(
    config: &WebhookConfig,
    delivery: &ClaimedDelivery,
    sent: &'a Result<Option<i32>, Failure>,
) -> Attempt<'a> {
    let failure = match sent {
        Ok(status) => {
            return Attempt {
                response_status: *status,
                error: None,
                status: DeliveryStatus::Succeeded,
                next_attempt_at: None,
            }
        }
        Err(failure) => failure,
    };
    let next = Timestamp::now().plus(retry_delay(config, delivery.attempts));
    let gives_up = failure.permanent || next > delivery.retry_from.plus(config.retry_period);
    Attempt {
        response_status: failure.response_status,
        error: Some(truncate(&failure.error)),
        status: if gives_up {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        },
        next_attempt_at: (!gives_up).then_some(next),
    }
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(ERROR_LEN) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// `first_retry` doubled per earlier attempt, capped, then between half
/// and all of it, so that receivers coming back are not hit all at once.
fn retry_delay(config: &WebhookConfig, attempts: i32) -> Duration {
    let exponential = config
        .first_retry
        .saturating_mul(2u32.saturating_pow(attempts.clamp(0, 20) as u32));
    exponential
        .min(config.max_retry_delay)
        .mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(attempts: i32, retry_from: Timestamp) -> ClaimedDelivery {
        ClaimedDelivery {
            id: 1,
            webhook_id: "w".into(),
            event_id: 7,
            event_type: "user.created".into(),
            attempts,
            retry_from,
            claimed_by: "me".into(),
        }
    }

    #[test]
    fn the_first_retry_comes_within_thirty_seconds_and_later_ones_back_off() {
        let config = WebhookConfig::default();
        for _ in 0..100 {
            assert!(retry_delay(&config, 0) <= Duration::from_secs(30));
            assert!(retry_delay(&config, 0) >= Duration::from_secs(5));
        }
        assert!(retry_delay(&config, 4) >= Duration::from_secs(80));
        assert!(retry_delay(&config, 30) <= config.max_retry_delay);
    }

    #[test]
    fn failures_are_retried_for_the_retry_period_then_fail() {
        let config = WebhookConfig::default();
        let failed = Err(Failure {
            error: "the receiver answered 500".into(),
            response_status: Some(500),
            permanent: false,
        });
        let fresh = settle_as(&config, &claimed(0, Timestamp::now()), &failed);
        assert_eq!(fresh.status, DeliveryStatus::Pending);
        assert_eq!(fresh.response_status, Some(500));
        assert!(fresh.next_attempt_at.is_some());
        let old = Timestamp::now().plus_seconds(-24 * 3600 + 1);
        let last = settle_as(&config, &claimed(12, old), &failed);
        assert_eq!(last.status, DeliveryStatus::Failed);
        assert_eq!(last.next_attempt_at, None);
        let ok = settle_as(&config, &claimed(3, old), &Ok(Some(204)));
        assert_eq!(
            (ok.status, ok.response_status),
            (DeliveryStatus::Succeeded, Some(204))
        );
    }

    #[test]
    fn errors_are_kept_short() {
        assert_eq!(truncate(&"é".repeat(400)).chars().count(), ERROR_LEN);
        assert_eq!(truncate("short"), "short");
    }
}
