//! What `GET /metrics` shows: requests by route and status with their
//! latency, database pool use, the push backlog and its outcomes, and the
//! Auth0 Management API calls with their answers and rate-limit waits. One
//! registry per `Nexus`, so servers in one process (tests) do not mix counts.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::Nexus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/v1/users/{userId}`), never the raw path.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum PushOutcome {
    Pushed,
    Retried,
    Failed,
}

/// What became of a webhook delivery attempt.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WebhookOutcome {
    Succeeded,
    /// Failed; retried later.
    FailedAttempt,
    /// Failed, and the retry period is over (or it can never succeed).
    Failed,
}

impl WebhookOutcome {
    fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Succeeded => "succeeded",
            WebhookOutcome::FailedAttempt => "failed_attempt",
            WebhookOutcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PushLabels {
    outcome: PushOutcome,
}

/// An Auth0 Management API answer: the operation with its ids left out,
/// and the status (`none` when no answer came).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Auth0Labels {
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthFailureLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Auth0OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    pushes: Family<PushLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    push_pending: Gauge,
    push_failed: Gauge,
    auth0_requests: Family<Auth0Labels, Counter>,
    auth0_latency: Family<Auth0OperationLabels, Histogram, fn() -> Histogram>,
    auth0_rate_limit_wait: Counter<f64, AtomicU64>,
    auth_failures: Family<AuthFailureLabels, Counter>,
    webhook_deliveries: Family<WebhookLabels, Counter>,
    webhook_latency: Family<WebhookLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nexus");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by method, route and status",
            latency.clone(),
        );
        let pushes = Family::<PushLabels, Counter>::default();
        registry.register(
            "push_attempts",
            "Pushes to Auth0 by outcome: pushed, retried later, failed for good",
            pushes.clone(),
        );
        let push_pending = Gauge::default();
        registry.register(
            "push_pending",
            "Auth0 users waiting for a push",
            push_pending.clone(),
        );
        let push_failed = Gauge::default();
        registry.register(
            "push_failed",
            "Pushes set aside as failed for good",
            push_failed.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by pool (read, write) and state (idle, in_use)",
            pool.clone(),
        );
        let auth0_requests = Family::<Auth0Labels, Counter>::default();
        registry.register(
            "auth0_requests",
            "Auth0 Management API answers, by operation and status (none: no answer)",
            auth0_requests.clone(),
        );
        let auth0_latency: Family<Auth0OperationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "auth0_request_duration_seconds",
            "Time from an Auth0 Management API call to its answer, by operation",
            auth0_latency.clone(),
        );
        let auth0_rate_limit_wait = Counter::<f64, AtomicU64>::default();
        registry.register(
            "auth0_rate_limit_wait_seconds",
            "Time spent waiting for Auth0 tenants' rate limits to reset",
            auth0_rate_limit_wait.clone(),
        );
        let auth_failures = Family::<AuthFailureLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Refused requests by reason: the 401 kinds, throttled (429), permission (403)",
            auth_failures.clone(),
        );
        let webhook_deliveries = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: succeeded, failed_attempt (retried later), failed (for good)",
            webhook_deliveries.clone(),
        );
        let webhook_latency: Family<WebhookLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "webhook_delivery_duration_seconds",
            "Time from sending a webhook delivery to its answer (or failure), by outcome",
            webhook_latency.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                webhook_deliveries,
                webhook_latency,
                auth_failures,
                auth0_requests,
                auth0_latency,
                auth0_rate_limit_wait,
                registry,
                requests,
                latency,
                pushes,
                pool,
                push_pending,
                push_failed,
            }),
        }
    }
}

impl Metrics {
    pub fn observe_request(&self, labels: RequestLabels, elapsed: Duration) {
        self.inner
            .latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.inner.requests.get_or_create(&labels).inc();
    }

    /// A refused request: a `Rejection` label, `throttled` or `permission`.
    pub fn observe_auth_failure(&self, reason: &str) {
        self.inner
            .auth_failures
            .get_or_create(&AuthFailureLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub fn observe_webhook(&self, outcome: WebhookOutcome, elapsed: Duration) {
        let labels = WebhookLabels {
            outcome: outcome.as_str(),
        };
        self.inner.webhook_deliveries.get_or_create(&labels).inc();
        self.inner
            .webhook_latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_push(&self, outcome: PushOutcome) {
        self.inner
            .pushes
            .get_or_create(&PushLabels { outcome })
            .inc();
    }
}

impl auth0::Observer for Metrics {
    fn answered(&self, operation: &str, status: Option<u16>, elapsed: Duration) {
        let status = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        self.inner
            .auth0_requests
            .get_or_create(&Auth0Labels {
                operation: operation.to_owned(),
                status,
            })
            .inc();
        self.inner
            .auth0_latency
            .get_or_create(&Auth0OperationLabels {
                operation: operation.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn waited(&self, wait: Duration) {
        self.inner.auth0_rate_limit_wait.inc_by(wait.as_secs_f64());
    }
}

/// The longest a scrape waits for the push backlog.
const BACKLOG_TIMEOUT: Duration = Duration::from_secs(1);

/// The OpenMetrics text exposition, with the gauges read now.
pub async fn render(nexus: &Nexus) -> String {
    let metrics = &nexus.metrics().inner;
    for (pool, size, idle) in nexus.store().pool_usage() {
        let gauge = |state| metrics.pool.get_or_create(&PoolLabels { pool, state });
        gauge("idle").set(idle as i64);
        gauge("in_use").set((size as usize).saturating_sub(idle) as i64);
    }
    // A database that hangs must not hang the scrape: the gauges then keep
    // their last values.
    match tokio::time::timeout(BACKLOG_TIMEOUT, crate::push::backlog(nexus)).await {
        Ok(Ok((pending, failed))) => {
            metrics.push_pending.set(pending);
            metrics.push_failed.set(failed);
        }
        Ok(Err(error)) => tracing::warn!(%error, "push backlog unknown for /metrics"),
        Err(_) => {
            tracing::warn!("push backlog unknown for /metrics: the database did not answer in time")
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry)
        .expect("writing to a String cannot fail");
    text
}
