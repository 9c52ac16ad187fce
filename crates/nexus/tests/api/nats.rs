//! Change events to NATS JetStream, against the NATS server of
//! `NEXUS_TEST_NATS_URL` (scripts/test starts one): each test publishes to a
//! stream and subject prefix of its own, and deletes the stream at the end.

use std::time::Duration;

use async_nats::jetstream::{self, message::StreamMessage};
use nexus_core::webhook::{DeliveryStatus, WebhookDelivery};
use nexus_service::webhooks::nats::SINK_ID;
use nexus_service::webhooks::NatsConfig;
use nexus_store::ListParams;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::metrics::{sample, scrape};
use crate::support::{both_backends, TestApp};
use crate::webhooks::Receiver;

both_backends!(
    change_events_are_published_to_jetstream_once_each,
    events_wait_in_the_outbox_while_nats_is_unreachable,
);

/// A stream and subject prefix of this test's own on the test NATS server.
struct TestStream {
    url: String,
    context: jetstream::Context,
    name: String,
    prefix: String,
}

impl TestStream {
    /// None (with a note) when `NEXUS_TEST_NATS_URL` is unset.
    async fn new() -> Option<TestStream> {
        let Ok(url) = std::env::var("NEXUS_TEST_NATS_URL") else {
            eprintln!("NEXUS_TEST_NATS_URL is not set: NATS case not run");
            return None;
        };
        let client = async_nats::connect(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("NEXUS_TEST_NATS_URL {url}: {e}"));
        let unique = uuid::Uuid::now_v7().simple().to_string();
        Some(TestStream {
            url,
            context: jetstream::new(client),
            name: format!("NEXUS_TEST_{unique}"),
            prefix: format!("nexus-test.{unique}"),
        })
    }

    fn config(&self) -> NatsConfig {
        NatsConfig::new(&self.url, &self.prefix, &self.name).unwrap()
    }

    /// Every message of the stream, in stream order.
    async fn messages(&self) -> Vec<StreamMessage> {
        let mut stream = self.context.get_stream(&self.name).await.unwrap();
        let state = stream.info().await.unwrap().state.clone();
        let mut messages = Vec::new();
        if state.messages == 0 {
            return messages;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            messages.push(stream.get_raw_message(sequence).await.unwrap());
        }
        messages
    }

    /// Waits until the stream holds `count` messages.
    async fn wait_for(&self, count: usize) -> Vec<StreamMessage> {
        let mut held = 0;
        for _ in 0..400 {
            if self.context.get_stream(&self.name).await.is_ok() {
                let messages = self.messages().await;
                held = messages.len();
                if held >= count {
                    return messages;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{count} messages expected in the stream, {held} arrived");
    }
}

impl Drop for TestStream {
    /// Deletes the stream, whether the test passed or not (on a runtime of
    /// its own: the test's may be going away).
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = async_nats::connect(url.as_str()).await.ok()?;
                jetstream::new(client).delete_stream(&name).await.ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            eprintln!("the test stream {} was not deleted", self.name);
        }
    }
}

fn header<'a>(message: &'a StreamMessage, name: &str) -> &'a str {
    message
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header on {}", message.subject))
        .as_str()
}

/// The sink's deliveries, newest first, as the store holds them (the API
/// does not show them).
async fn sink_deliveries(app: &TestApp) -> Vec<WebhookDelivery> {
    let params = ListParams {
        filter: None,
        search: None,
        order: nexus_store::webhooks::DELIVERIES
            .parse_orderby(Some("id desc"))
            .unwrap(),
        top: 100,
        skip: 0,
        count: false,
        after: None,
    };
    let mut tx = app.store.begin_read().await.unwrap();
    nexus_store::webhooks::deliveries(&mut tx, SINK_ID, &params)
        .await
        .unwrap()
        .items
}

/// Waits until every sink delivery satisfies `done` (and there are `count`).
async fn wait_for_sink(
    app: &TestApp,
    count: usize,
    done: impl Fn(&WebhookDelivery) -> bool,
) -> Vec<WebhookDelivery> {
    let mut last = Vec::new();
    for _ in 0..400 {
        last = sink_deliveries(app).await;
        if last.len() == count && last.iter().all(&done) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the sink's deliveries did not come to the expected state: {last:#?}");
}

/// The public webhook API knows nothing of the sink.
async fn assert_sink_hidden(app: &TestApp, http_subscriptions: usize) {
    let listed = app.get("/v1/webhooks").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let listed = listed.body["value"].as_array().unwrap();
    assert_eq!(listed.len(), http_subscriptions, "{listed:?}");
    assert!(listed.iter().all(|w| w["id"] != SINK_ID), "{listed:?}");
    for path in [
        format!("/v1/webhooks/{SINK_ID}"),
        format!("/v1/webhooks/{SINK_ID}/deliveries"),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    let delivery = sink_deliveries(app).await.first().map_or(1, |d| d.id);
    let redeliver = app
        .post(
            &format!("/v1/webhooks/{SINK_ID}/deliveries/{delivery}/redeliver"),
            json!(null),
        )
        .await;
    assert_eq!(
        redeliver.status,
        StatusCode::NOT_FOUND,
        "{}",
        redeliver.body
    );
    let deleted = app.delete(&format!("/v1/webhooks/{SINK_ID}")).await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND, "{}", deleted.body);
}

async fn change_events_are_published_to_jetstream_once_each(mut app: TestApp) {
    let Some(stream) = TestStream::new().await else {
        return;
    };
    app.webhooks.nats = Some(stream.config());
    app.restart().await;
    // A webhook subscriber beside the sink gets the same message.
    let receiver = Receiver::start(&[]).await;
    let hook = app
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "eventTypes": ["user.created"]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);

    // A user (in a new organization), a role, and the role assigned.
    let user = app.user().await;
    let role = app
        .post(
            "/v1/roles",
            json!({"name": format!("nats-{}", &stream.name[11..]), "audience": "https://nats.example.com",
                "permissions": ["report.read"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let role_id = role.body["id"].as_str().unwrap();
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [role_id]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);

    let messages = stream.wait_for(4).await;
    let mut types: Vec<&str> = messages
        .iter()
        .map(|m| {
            m.subject
                .as_str()
                .strip_prefix(&format!("{}.", stream.prefix))
                .unwrap()
        })
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "organization.created",
            "role.created",
            "user.created",
            "user.roles.changed"
        ]
    );
    for message in &messages {
        let payload: Value = serde_json::from_slice(&message.payload).unwrap();
        let event_type = payload["type"].as_str().unwrap();
        assert_eq!(
            message.subject.as_str(),
            format!("{}.{event_type}", stream.prefix)
        );
        let event_id = payload["data"]["id"].as_i64().unwrap();
        assert_eq!(header(message, "Nats-Msg-Id"), format!("msg_{event_id}"));
        // The audit event as the API shows it.
        let data = &payload["data"];
        let events = crate::audit::events_of(
            &app,
            data["resourceType"].as_str().unwrap(),
            data["resourceId"].as_str().unwrap(),
        )
        .await;
        let event = events.iter().find(|e| e["id"] == event_id).unwrap();
        assert_eq!(data, event);
        assert_eq!(payload["timestamp"], event["time"]);
    }
    let assignment = messages
        .iter()
        .find(|m| m.subject.as_str().ends_with(".user.roles.changed"))
        .unwrap();
    let assignment: Value = serde_json::from_slice(&assignment.payload).unwrap();
    assert_eq!(assignment["data"]["resourceId"], json!(user));
    assert_eq!(
        assignment["data"]["changes"]["roles"]["after"][0]["id"],
        json!(role_id)
    );

    // The webhook got the very bytes, under the same message id.
    let delivered = receiver.wait_for(1).await;
    let created = messages
        .iter()
        .find(|m| m.subject.as_str().ends_with(".user.created"))
        .unwrap();
    assert_eq!(delivered[0].body, created.payload.to_vec());
    assert_eq!(
        delivered[0].headers["webhook-id"].to_str().unwrap(),
        header(created, "Nats-Msg-Id")
    );

    let settled = wait_for_sink(&app, 4, |d| d.status == DeliveryStatus::Succeeded).await;
    assert!(settled
        .iter()
        .all(|d| d.attempts == 1 && d.last_response_status.is_none()));
    let hook_id = hook.body["id"].as_str().unwrap();
    crate::webhooks::wait_for_delivery(&app, hook_id, |d| d["status"] == "succeeded").await;
    assert_sink_hidden(&app, 1).await;

    // Sent again, the event is published again and dropped by the stream.
    let succeeded = |text: &str| {
        sample(
            text,
            "nexus_webhook_deliveries_total{outcome=\"succeeded\"}",
        )
        .unwrap()
    };
    let before = succeeded(&scrape(&app).await);
    let again = settled
        .iter()
        .find(|d| d.event_type == "user.created")
        .unwrap();
    let mut tx = app.store.begin().await.unwrap();
    let pending = nexus_store::webhooks::redeliver(&mut tx, SINK_ID, again.id)
        .await
        .unwrap()
        .unwrap();
    nexus_store::commit(tx).await.unwrap();
    assert_eq!(pending.status, DeliveryStatus::Pending);
    wait_for_sink(&app, 4, |d| d.status == DeliveryStatus::Succeeded).await;
    assert_eq!(
        succeeded(&scrape(&app).await),
        before + 1.0,
        "published again"
    );
    assert_eq!(stream.messages().await.len(), 4, "no second message");
}

async fn events_wait_in_the_outbox_while_nats_is_unreachable(mut app: TestApp) {
    let Some(stream) = TestStream::new().await else {
        return;
    };
    // A port where nothing listens.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = format!("nats://127.0.0.1:{closed}");
    app.webhooks.nats = Some(NatsConfig::new(&unreachable, &stream.prefix, &stream.name).unwrap());
    app.restart().await;
    let user = app.user().await;
    let waiting = wait_for_sink(&app, 2, |d| d.attempts >= 1).await;
    for delivery in &waiting {
        assert_eq!(delivery.status, DeliveryStatus::Pending, "{delivery:?}");
        assert!(delivery.next_attempt_at.is_some());
        let error = delivery.last_error.as_deref().unwrap();
        assert!(error.contains("connecting to NATS"), "{error}");
    }
    let text = scrape(&app).await;
    assert!(
        sample(
            &text,
            "nexus_webhook_deliveries_total{outcome=\"failed_attempt\"}"
        )
        .unwrap()
            >= 2.0,
        "{text}"
    );
    assert!(
        stream.context.get_stream(&stream.name).await.is_err(),
        "nothing reached the NATS server"
    );

    // With NATS reachable, the events still in the outbox go out, once each.
    app.webhooks.nats = Some(stream.config());
    app.restart().await;
    let messages = stream.wait_for(2).await;
    let settled = wait_for_sink(&app, 2, |d| d.status == DeliveryStatus::Succeeded).await;
    assert!(
        settled
            .iter()
            .all(|d| d.attempts >= 2 && d.last_error.is_none()),
        "{settled:?}"
    );
    let created = messages
        .iter()
        .find(|m| m.subject.as_str() == format!("{}.user.created", stream.prefix))
        .unwrap();
    let payload: Value = serde_json::from_slice(&created.payload).unwrap();
    assert_eq!(payload["data"]["resourceId"], json!(user));
    let delivery = settled
        .iter()
        .find(|d| d.event_type == "user.created")
        .unwrap();
    assert_eq!(header(created, "Nats-Msg-Id"), delivery.message_id);

    // Without NATS configured, the sink goes, with its deliveries, and
    // changes enqueue nothing for it.
    app.webhooks.nats = None;
    app.restart().await;
    let mut tx = app.store.begin_read().await.unwrap();
    let sink = nexus_store::webhooks::get_of_kind(
        &mut tx,
        SINK_ID,
        nexus_core::webhook::WebhookKind::Nats,
    )
    .await
    .unwrap();
    drop(tx);
    assert!(sink.is_none());
    app.user().await;
    assert!(sink_deliveries(&app).await.is_empty());
    let audit = crate::audit::events_of(&app, "webhook", SINK_ID).await;
    let operations: Vec<&str> = audit
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations,
        ["RegisterEventSink", "RemoveEventSink"],
        "{audit:?}"
    );
    assert_eq!(messages.len(), 2);
    assert_eq!(stream.messages().await.len(), 2);
}
