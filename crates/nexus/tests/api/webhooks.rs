//! Webhooks: subscriptions, signed deliveries of change events to a real
//! receiver on loopback, retries, redelivery, restarts and the SSRF rule.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::metrics::{sample, scrape};
use crate::support::{basic, both_backends, TestApp};

both_backends!(
    a_change_is_delivered_signed_to_its_subscribers,
    a_failing_receiver_is_retried_until_it_succeeds,
    a_delivery_committed_before_a_restart_is_made_after_it,
    private_addresses_are_refused_unless_allowed,
    a_delivery_can_be_sent_again,
    subscriptions_are_validated,
);

/// What a receiver got: headers and the body as sent.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 204 once they are used up.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

/// A webhook receiver on loopback that records every request.
pub struct Receiver {
    pub url: String,
    inbox: Inbox,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(answers: &[u16]) -> Receiver {
        let inbox = Inbox::default();
        inbox.answers.lock().unwrap().extend(answers);
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, inbox, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived; answers them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "{count} deliveries expected, {} arrived",
            self.received().len()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AxumStatus {
    inbox.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let status = inbox.answers.lock().unwrap().pop_front().unwrap_or(204);
    AxumStatus::from_u16(status).unwrap()
}

/// Subscribes `url` to `event_types`; returns the answer's body (with the secret).
async fn subscribe(app: &TestApp, url: &str, event_types: Value) -> Value {
    let reply = app
        .post(
            "/v1/webhooks",
            json!({"url": url, "eventTypes": event_types, "description": "test receiver"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn deliveries(app: &TestApp, webhook_id: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"].as_array().unwrap().clone()
}

/// Waits until the subscription's newest delivery satisfies `done`.
pub async fn wait_for_delivery(
    app: &TestApp,
    webhook_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        if let Some(newest) = deliveries(app, webhook_id).await.first() {
            if done(newest) {
                return newest.clone();
            }
            last = newest.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the delivery did not come to the expected state: {last}");
}

fn verify(secret: &str, received: &Received) {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&received.body, &received.headers)
        .unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
}

async fn a_change_is_delivered_signed_to_its_subscribers(app: TestApp) {
    let users = Receiver::start(&[]).await;
    let upns = Receiver::start(&[]).await;
    let hook = subscribe(&app, &users.url, json!(["user.*"])).await;
    subscribe(&app, &upns.url, json!(["customUpn.*"])).await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = hook["id"].as_str().unwrap();
    assert_eq!(hook["eventTypes"], json!(["user.*"]));
    assert_eq!(hook["createdBy"], json!(app.admin_id));

    // The secret is shown once, and never in the subscription or its audit event.
    let shown = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["url"], json!(users.url));
    assert!(shown.body.get("secret").is_none(), "{}", shown.body);
    let listed = app.get("/v1/webhooks").await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 2);
    let audit = crate::audit::events_of(&app, "webhook", id).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["operation"], "CreateWebhook");
    assert!(!audit[0].to_string().contains(secret));

    let user_id = app.user().await;
    let received = users.wait_for(1).await;
    let delivery = &received[0];
    verify(secret, delivery);
    let payload = delivery.json();
    assert_eq!(payload["type"], "user.created");
    let events = crate::audit::events_of(&app, "user", &user_id).await;
    assert_eq!(
        payload["data"], events[0],
        "the audit event as the API shows it"
    );
    assert_eq!(payload["timestamp"], events[0]["time"]);
    let event_id = events[0]["id"].as_i64().unwrap();
    assert_eq!(delivery.header("webhook-id"), format!("msg_{event_id}"));
    assert_eq!(delivery.header("content-type"), "application/json");
    let timestamp: i64 = delivery.header("webhook-timestamp").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - timestamp).abs() < 60, "{timestamp} vs {now}");
    assert!(delivery.header("webhook-signature").starts_with("v1,"));

    // Every change of the user's types reaches it, and only those.
    let patched = app
        .patch(
            &format!("/v1/users/{user_id}"),
            json!({"displayName": "J. B."}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let received = users.wait_for(2).await;
    assert_eq!(received[1].json()["type"], "user.updated");
    assert_eq!(
        received[1].json()["data"]["changes"]["displayName"]["after"],
        "J. B."
    );
    verify(secret, &received[1]);

    let done = wait_for_delivery(&app, id, |d| d["status"] == "succeeded").await;
    assert_eq!(done["eventType"], "user.updated");
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["lastResponseStatus"], 204);
    assert_eq!(done["nextAttemptAt"], Value::Null);
    let all = deliveries(&app, id).await;
    assert_eq!(all.len(), 2, "newest first: {all:?}");
    assert_eq!(all[1]["eventId"], event_id);
    assert!(upns.received().is_empty(), "customUpn.* got no user events");

    let text = scrape(&app).await;
    assert!(
        sample(
            &text,
            "nexus_webhook_deliveries_total{outcome=\"succeeded\"}"
        )
        .unwrap()
            >= 2.0,
        "{text}"
    );
    assert!(text.contains("nexus_webhook_delivery_duration_seconds_bucket"));

    // A deleted subscription gets nothing more, and its deletion is audited.
    assert_eq!(
        app.delete(&format!("/v1/webhooks/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/v1/webhooks/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let deleted = app.delete(&format!("/v1/users/{user_id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(users.received().len(), 2);
    let audit = crate::audit::events_of(&app, "webhook", id).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1]["operation"], "DeleteWebhook");
}

async fn a_failing_receiver_is_retried_until_it_succeeds(app: TestApp) {
    let receiver = Receiver::start(&[500, 503]).await;
    let hook = subscribe(&app, &receiver.url, json!(["user.created"])).await;
    let id = hook["id"].as_str().unwrap();
    app.user().await;
    let received = receiver.wait_for(3).await;
    // The same message each time: one id to de-duplicate on, one body.
    let ids: Vec<&str> = received.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(received.iter().all(|r| r.body == received[0].body));
    for delivery in &received {
        verify(hook["secret"].as_str().unwrap(), delivery);
    }
    let done = wait_for_delivery(&app, id, |d| d["status"] == "succeeded").await;
    assert_eq!(done["attempts"], 3);
    assert_eq!(done["lastResponseStatus"], 204);
    assert_eq!(done["lastError"], Value::Null);
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "nexus_webhook_deliveries_total{outcome=\"failed_attempt\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "nexus_webhook_deliveries_total{outcome=\"succeeded\"}"
        ),
        Some(1.0)
    );
}

async fn a_delivery_committed_before_a_restart_is_made_after_it(mut app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    app.webhooks.paused = true;
    app.restart().await;
    let hook = subscribe(&app, &receiver.url, json!(["user.created", "user.deleted"])).await;
    let id = hook["id"].as_str().unwrap();
    let user_id = app.user().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
    let waiting = deliveries(&app, id).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["status"], "pending");
    assert_eq!(waiting[0]["attempts"], 0);
    assert!(waiting[0]["nextAttemptAt"].is_string());

    // The server stops with the delivery only in the outbox; the next one sends it.
    app.webhooks.paused = false;
    app.restart().await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["type"], "user.created");
    assert_eq!(received[0].json()["data"]["resourceId"], json!(user_id));
    verify(hook["secret"].as_str().unwrap(), &received[0]);
    wait_for_delivery(&app, id, |d| d["status"] == "succeeded").await;
}

async fn private_addresses_are_refused_unless_allowed(mut app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    // Made while the operator allowed private addresses.
    let hook = subscribe(&app, &receiver.url, json!(["user.*"])).await;
    let id = hook["id"].as_str().unwrap();

    app.webhooks.allow_private = false;
    app.restart().await;
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "https://10.1.2.3/hook",
        "https://192.168.0.1/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ] {
        let reply = app
            .post(
                "/v1/webhooks",
                json!({"url": url, "eventTypes": ["user.created"]}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{url}: {}",
            reply.body
        );
        let message = reply.body["errors"]["url"][0].as_str().unwrap();
        assert!(message.contains("not a public address"), "{url}: {message}");
    }
    let http = app
        .post(
            "/v1/webhooks",
            json!({"url": "http://hooks.example.com/x", "eventTypes": ["user.created"]}),
        )
        .await;
    assert_eq!(http.status, StatusCode::BAD_REQUEST);
    assert!(http.body["errors"]["url"][0]
        .as_str()
        .unwrap()
        .contains("https"));
    assert_eq!(
        app.get("/v1/webhooks").await.body["value"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing refused was stored"
    );

    // At delivery time the address is checked again, and refused.
    app.user().await;
    let refused = wait_for_delivery(&app, id, |d| d["attempts"].as_i64() >= Some(1)).await;
    assert_eq!(refused["status"], "pending", "retried: {refused}");
    assert_eq!(refused["lastResponseStatus"], Value::Null);
    let error = refused["lastError"].as_str().unwrap();
    assert!(error.contains("not a public address"), "{error}");
    assert!(receiver.received().is_empty());

    // A name is checked by the resolver the client connects through. The
    // first webhook goes first: allowed again, its pending retry would reach
    // the receiver.
    assert_eq!(
        app.delete(&format!("/v1/webhooks/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    app.webhooks.allow_private = true;
    app.restart().await;
    let named = subscribe(&app, &by_name, json!(["user.created"])).await;
    let named_id = named["id"].as_str().unwrap().to_owned();
    app.webhooks.allow_private = false;
    app.restart().await;
    app.user().await;
    let refused = wait_for_delivery(&app, &named_id, |d| d["attempts"].as_i64() >= Some(1)).await;
    let error = refused["lastError"].as_str().unwrap();
    assert!(error.contains("not a public address"), "{error}");
    assert!(receiver.received().is_empty());
}

async fn a_delivery_can_be_sent_again(app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    let hook = subscribe(&app, &receiver.url, json!(["user.created"])).await;
    let id = hook["id"].as_str().unwrap();
    let other = subscribe(&app, &receiver.url, json!(["role.created"])).await;
    app.user().await;
    receiver.wait_for(1).await;
    let done = wait_for_delivery(&app, id, |d| d["status"] == "succeeded").await;
    let delivery_id = done["id"].as_i64().unwrap();

    let again = app
        .post(
            &format!("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
            json!(null),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["status"], "pending");
    assert_eq!(again.body["attempts"], 0);
    assert_eq!(again.body["id"], delivery_id);
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    assert_eq!(received[0].body, received[1].body);
    let resent = wait_for_delivery(&app, id, |d| d["status"] == "succeeded").await;
    assert_eq!(resent["attempts"], 1);
    let audit = crate::audit::events_of(&app, "webhook", id).await;
    assert_eq!(
        audit.last().unwrap()["operation"],
        "RedeliverWebhookDelivery"
    );

    for (path, resource) in [
        (
            format!("/v1/webhooks/nope/deliveries/{delivery_id}/redeliver"),
            "webhook 'nope'",
        ),
        (
            format!("/v1/webhooks/{id}/deliveries/999999/redeliver"),
            "'999999'",
        ),
        (
            format!("/v1/webhooks/{id}/deliveries/abc/redeliver"),
            "'abc'",
        ),
        (
            format!(
                "/v1/webhooks/{}/deliveries/{delivery_id}/redeliver",
                other["id"].as_str().unwrap()
            ),
            &format!("'{delivery_id}'"),
        ),
    ] {
        let reply = app.post(&path, json!(null)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains(resource), "{path}: {detail}");
    }
    let missing = app.get("/v1/webhooks/nope/deliveries").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn subscriptions_are_validated(app: TestApp) {
    let ok_types = json!(["user.created"]);
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"eventTypes": ok_types}), "url", "is required"),
        (
            json!({"url": "hooks.example.com", "eventTypes": ok_types}),
            "url",
            "absolute URL",
        ),
        (
            json!({"url": "ftp://hooks.example.com/", "eventTypes": ok_types}),
            "url",
            "https",
        ),
        (
            json!({"url": "https://u:p@hooks.example.com/", "eventTypes": ok_types}),
            "url",
            "credentials",
        ),
        (
            json!({"url": "https://hooks.example.com/#x", "eventTypes": ok_types}),
            "url",
            "fragment",
        ),
        (
            json!({"url": format!("https://hooks.example.com/{}", "a".repeat(2048)), "eventTypes": ok_types}),
            "url",
            "at most 2048",
        ),
        (
            json!({"url": "https://127.0.0.1:9/"}),
            "eventTypes",
            "is required",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": []}),
            "eventTypes",
            "at least one",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ["user.renamed"]}),
            "eventTypes",
            "'user.renamed' is not a known event type",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ["subscription.*"]}),
            "eventTypes",
            "not a known event type",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ["*"]}),
            "eventTypes",
            "not a known event type",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ["user.*", "user.*"]}),
            "eventTypes",
            "appears twice",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": vec!["user.created"; 51]}),
            "eventTypes",
            "at most 50",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ok_types, "secret": "hunter2"}),
            "secret",
            "whsec_",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ok_types, "secret": "whsec_c2hvcnQ="}),
            "secret",
            "16 to 64 bytes",
        ),
        (
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ok_types, "description": "d".repeat(251)}),
            "description",
            "at most 250",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post("/v1/webhooks", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.content_type, "application/problem+json");
        let errors = reply.body["errors"][field].to_string();
        assert!(errors.contains(message), "{body}: {}", reply.body);
    }
    let unknown = app
        .post(
            "/v1/webhooks",
            json!({"url": "https://127.0.0.1:9/", "eventTypes": ok_types, "headers": {}}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let listed = app.get("/v1/webhooks?$count=true").await;
    assert_eq!(listed.body["@odata.count"], 0, "nothing refused was stored");

    // A secret of the caller's own is kept; wildcards over nested types are accepted.
    let own = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let made = app
        .post(
            "/v1/webhooks",
            json!({"url": "https://127.0.0.1:9/hook", "eventTypes": ["user.roles.*", "membership.*"], "secret": own}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["secret"], own);
    assert_eq!(
        made.body["eventTypes"],
        json!(["user.roles.*", "membership.*"])
    );
    let location = made.headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!("/v1/webhooks/{}", made.body["id"].as_str().unwrap())
    );

    // Reading and writing subscriptions take their own permissions.
    let reader = app.key("webhook.read").await;
    let refused = app
        .request_as(
            Method::POST,
            "/v1/webhooks",
            &[("authorization", basic(&reader))],
            Some(&json!({"url": "https://127.0.0.1:9/", "eventTypes": ok_types})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let read = app
        .request_as(
            Method::GET,
            "/v1/webhooks",
            &[("authorization", basic(&reader))],
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["value"].as_array().unwrap().len(), 1);
    for missing in ["/v1/webhooks/nope"] {
        assert_eq!(app.get(missing).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.delete(missing).await.status, StatusCode::NOT_FOUND);
    }
}

/// Secrets are stored sealed: without a secret key none can be stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_key_no_subscription_is_made() {
    let auth = nexus_service::auth::AuthConfig {
        sealer: nexus_service::secrets::Sealer::default(),
        ..crate::support::test_auth()
    };
    let app = TestApp::sqlite_with(auth).await;
    let reply = app
        .post(
            "/v1/webhooks",
            json!({"url": "https://127.0.0.1:9/hook", "eventTypes": ["user.created"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let message = reply.body["errors"]["secret"][0].as_str().unwrap();
    assert!(message.contains("NEXUS_SECRET_KEY"), "{message}");
    assert_eq!(
        app.get("/v1/webhooks?$count=true").await.body["@odata.count"],
        0
    );
}

/// A list whose items have no searchable field refuses a search, and does
/// not document one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_of_a_list_without_searchable_fields_is_refused() {
    let app = TestApp::sqlite().await;
    subscribe(&app, "https://127.0.0.1:9/hook", json!(["user.created"])).await;
    let document = app.get("/openapi.json").await.body;
    for path in ["/v1/webhooks", "/v1/audit-events"] {
        let reply = app.get(&format!("{path}?$search=hook&$count=true")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        assert!(
            reply.body["errors"]["$search"][0]
                .as_str()
                .is_some_and(|m| m.contains("not supported")),
            "{path}: {}",
            reply.body
        );
        let parameters: Vec<&str> = document["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(parameters.contains(&"$filter"), "{path}: {parameters:?}");
        assert!(!parameters.contains(&"$search"), "{path}: {parameters:?}");
    }
}
