//! Change events to NATS JetStream. The sink is a subscription of kind
//! `nats` to every event type, registered at start from the configuration:
//! its deliveries go through the webhook outbox and worker (claims, retries,
//! settling) and are published here, on `<prefix>.<event type>` with the
//! event's message id as `Nats-Msg-Id`, so that JetStream drops a repeat.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, publish::PublishAck};
use nexus_core::audit::resource_type::WEBHOOK;
use nexus_core::webhook::WebhookKind;
use nexus_core::Actor;
use nexus_store::commit;
use nexus_store::webhooks as store;

use super::delivery::error_chain;
use crate::{audit, Nexus, Result};

/// The id of the sink's subscription row.
pub const SINK_ID: &str = "nats";

/// Where change events are published: the server, the subject prefix and
/// the stream that stores them.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsConfig {
    url: String,
    subject_prefix: String,
    stream: String,
}

impl std::fmt::Debug for NatsConfig {
    // The URL may carry credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsConfig")
            .field("subject_prefix", &self.subject_prefix)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl NatsConfig {
    pub const DEFAULT_SUBJECT_PREFIX: &'static str = "nexus.events";
    pub const DEFAULT_STREAM: &'static str = "NEXUS_EVENTS";

    /// Checks the prefix (dot-separated tokens, no wildcards or spaces) and
    /// the stream name (no dots, wildcards, slashes or spaces).
    pub fn new(url: &str, subject_prefix: &str, stream: &str) -> std::result::Result<Self, String> {
        if url.trim().is_empty() {
            return Err("the NATS URL is empty".to_owned());
        }
        let bad_token = |token: &str| {
            token.is_empty()
                || token
                    .chars()
                    .any(|c| c.is_whitespace() || c == '*' || c == '>')
        };
        if subject_prefix.split('.').any(bad_token) {
            return Err(format!(
                "'{subject_prefix}' is not a subject prefix: dot-separated tokens without spaces or wildcards, e.g. nexus.events"
            ));
        }
        if stream.is_empty()
            || stream
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
        {
            return Err(format!(
                "'{stream}' is not a stream name: no spaces, dots, wildcards or slashes, e.g. NEXUS_EVENTS"
            ));
        }
        Ok(NatsConfig {
            url: url.trim().to_owned(),
            subject_prefix: subject_prefix.to_owned(),
            stream: stream.to_owned(),
        })
    }

    pub fn subject_prefix(&self) -> &str {
        &self.subject_prefix
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }
}

/// The subject an event of `event_type` is published on.
pub fn subject(prefix: &str, event_type: &str) -> String {
    format!("{prefix}.{event_type}")
}

/// At the start of a process that delivers: registers the sink when NATS
/// is configured (pointing it at the configured prefix), removes it with
/// its pending deliveries when not. A paused process (one that serves only
/// the API) leaves it as it is.
#[tracing::instrument(skip_all)]
pub async fn sync_sink(nexus: &Nexus) -> Result<()> {
    let config = nexus.webhooks();
    if config.paused {
        return Ok(());
    }
    let actor = Actor::internal("config", "RegisterEventSink");
    let mut tx = nexus.store().begin().await?;
    match &config.nats {
        Some(nats) => {
            let before = store::put_sink(
                &mut tx,
                SINK_ID,
                WebhookKind::Nats,
                nats.subject_prefix(),
                &actor,
            )
            .await?;
            let after = store::get_of_kind(&mut tx, SINK_ID, WebhookKind::Nats).await?;
            if before != after {
                audit::record(
                    &mut tx,
                    &actor,
                    WEBHOOK,
                    SINK_ID,
                    before.as_ref(),
                    after.as_ref(),
                )
                .await?;
                tracing::info!(
                    subject_prefix = nats.subject_prefix(),
                    stream = nats.stream(),
                    "change events go to NATS JetStream"
                );
            }
        }
        None => {
            if let Some(before) = store::get_of_kind(&mut tx, SINK_ID, WebhookKind::Nats).await? {
                store::delete(&mut tx, SINK_ID).await?;
                let actor = Actor::internal("config", "RemoveEventSink");
                audit::record(&mut tx, &actor, WEBHOOK, SINK_ID, Some(&before), None).await?;
                tracing::info!(
                    "NATS is no longer configured: its sink and pending events are removed"
                );
            }
        }
    }
    commit(tx).await?;
    Ok(())
}

/// The delivery worker's JetStream connection: made on first use and kept
/// (the client reconnects by itself), with the stream created if missing.
pub struct Publisher {
    config: NatsConfig,
    /// Bounds connecting, stream requests and each publish's ack.
    timeout: Duration,
    context: tokio::sync::Mutex<Option<jetstream::Context>>,
    stream_ready: AtomicBool,
}

impl Publisher {
    pub fn new(config: NatsConfig, timeout: Duration) -> Publisher {
        Publisher {
            config,
            timeout,
            context: tokio::sync::Mutex::new(None),
            stream_ready: AtomicBool::new(false),
        }
    }

    async fn context(&self) -> std::result::Result<jetstream::Context, String> {
        let mut context = self.context.lock().await;
        if let Some(context) = &*context {
            return Ok(context.clone());
        }
        let client = async_nats::ConnectOptions::new()
            .name(concat!("nexus/", env!("CARGO_PKG_VERSION")))
            .connection_timeout(self.timeout)
            .max_reconnects(None)
            .connect(self.config.url.as_str())
            .await
            .map_err(|error| format!("connecting to NATS: {}", error_chain(&error)))?;
        let mut connected = jetstream::new(client);
        connected.set_timeout(self.timeout);
        *context = Some(connected.clone());
        Ok(connected)
    }

    /// Creates the stream (capturing `<prefix>.>`) unless it exists.
    pub async fn ensure_stream(&self) -> std::result::Result<(), String> {
        if self.stream_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let context = self.context().await?;
        context
            .get_or_create_stream(jetstream::stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![format!("{}.>", self.config.subject_prefix)],
                ..Default::default()
            })
            .await
            .map_err(|error| {
                format!(
                    "creating the JetStream stream {}: {}",
                    self.config.stream,
                    error_chain(&error)
                )
            })?;
        self.stream_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Publishes `body` and waits for the stream's ack: only then is it
    /// stored.
    pub async fn publish(
        &self,
        subject: String,
        message_id: &str,
        body: Vec<u8>,
    ) -> std::result::Result<PublishAck, String> {
        self.ensure_stream().await?;
        let context = self.context().await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
        let acked = async {
            context
                .publish_with_headers(subject, headers, body.into())
                .await?
                .await
        }
        .await;
        acked.map_err(|error| {
            // A stream deleted meanwhile is created again by the next attempt.
            self.stream_ready.store(false, Ordering::Release);
            format!("publishing to NATS: {}", error_chain(&error))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_stream_names_are_checked() {
        let ok =
            NatsConfig::new(" nats://127.0.0.1:4222 ", "nexus.events", "NEXUS_EVENTS").unwrap();
        assert_eq!(ok.url, "nats://127.0.0.1:4222");
        assert_eq!(
            subject(ok.subject_prefix(), "user.roles.changed"),
            "nexus.events.user.roles.changed"
        );
        assert!(NatsConfig::new("nats://h", "acme-prod", "acme_events-1").is_ok());
        for prefix in [
            "",
            "nexus.",
            ".nexus",
            "nexus..events",
            "nexus.*",
            "nexus.>",
            "a b",
        ] {
            assert!(
                NatsConfig::new("nats://h", prefix, "S").is_err(),
                "{prefix:?}"
            );
        }
        for stream in ["", "a.b", "a*", "a>", "a/b", "a\\b", "a b"] {
            assert!(
                NatsConfig::new("nats://h", "p", stream).is_err(),
                "{stream:?}"
            );
        }
        assert!(NatsConfig::new("  ", "p", "S").is_err());
        let secret = NatsConfig::new("nats://user:hunter2@h", "p", "S").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
