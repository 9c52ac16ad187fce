//! Log streams (`/log-streams`): an `http` stream (Auth0's *Custom
//! Webhook*) posts the tenant's log events to its endpoint as they happen,
//! in its content format (`JSONARRAY`, `JSONLINES`, `JSONOBJECT`) with its
//! `Authorization` header. The simulator logs the events Nexus acts on:
//! `sv` (an address verified), `scp` (a password changed), `sdu` (a user
//! deleted), `limit_wc` (brute-force protection blocked an account) and
//! `gd_enrollment_complete` (an MFA enrollment confirmed).
//!
//! Delivery is a background task per event and stream, retried a few times
//! on failure; the request that caused the event never waits for it. Auth0
//! requires an `https://` endpoint; the simulator, which runs on loopback,
//! also takes plain `http://` to a loopback host.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::clock::now_iso;
use crate::error::{error, invalid_body};
use crate::middleware::auth::authorize;
use crate::middleware::validation::closed_body_object;
use crate::state::Tenant;
use crate::Simulator;

const FIELDS: &[&str] = &[
    "filters",
    "isPriority",
    "name",
    "pii_config",
    "sink",
    "startFrom",
    "type",
];
const SINK_FIELDS: &[&str] = &[
    "httpAuthorization",
    "httpContentFormat",
    "httpContentType",
    "httpCustomHeaders",
    "httpEndpoint",
];
const FORMATS: &[&str] = &["JSONARRAY", "JSONLINES", "JSONOBJECT"];

/// Attempts per event and stream, and the pause before each retry.
const ATTEMPTS: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// An event waiting to be posted to a stream.
pub(crate) struct Delivery {
    stream: Value,
    event: Value,
}

/// `POST /log-streams`.
pub(crate) async fn create_log_stream(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:log_streams"]) {
        return response;
    }
    let body = match closed_body_object(&headers, &body, FIELDS) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let stream = match stream_of(&body) {
        Ok(stream) => stream,
        Err(message) => return invalid_body(&message),
    };
    sim.with(|t| t.log_streams.push(stream.clone()));
    Json(stream).into_response()
}

/// The stream a create body describes, as Auth0 answers it.
fn stream_of(body: &Map<String, Value>) -> Result<Value, String> {
    match body.get("type").and_then(Value::as_str) {
        Some("http") => {}
        Some(other) => {
            return Err(format!(
                "the simulator streams to http (custom webhook) sinks only, not {other}"
            ))
        }
        None => return Err("Missing required property: type".to_owned()),
    }
    let Some(Value::Object(sink)) = body.get("sink") else {
        return Err("Missing required property: sink".to_owned());
    };
    if let Some(extra) = sink.keys().find(|k| !SINK_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "'Additional properties not allowed: {extra}' on property sink"
        ));
    }
    let endpoint = sink
        .get("httpEndpoint")
        .and_then(Value::as_str)
        .ok_or("Missing required property: httpEndpoint")?;
    if !endpoint_allowed(endpoint) {
        return Err(format!(
            "'String does not match pattern ^https://.*: {endpoint}' on property sink.httpEndpoint"
        ));
    }
    for field in ["httpAuthorization", "httpContentType"] {
        if sink.get(field).is_some_and(|v| !v.is_string()) {
            return Err(format!("'Expected type string' on property sink.{field}"));
        }
    }
    if let Some(format) = sink.get("httpContentFormat") {
        if !format.as_str().is_some_and(|f| FORMATS.contains(&f)) {
            return Err(format!(
                "'No enum match for: {format}' on property sink.httpContentFormat"
            ));
        }
    }
    for field in ["name", "startFrom"] {
        if body.get(field).is_some_and(|v| !v.is_string()) {
            return Err(format!("'Expected type string' on property {field}"));
        }
    }
    let mut stream = json!({
        "id": format!("lst_{:016x}", rand::random::<u64>()),
        "name": body.get("name").cloned().unwrap_or(json!("Custom Webhook")),
        "type": "http",
        "status": "active",
        "sink": sink,
    });
    for field in ["filters", "isPriority", "pii_config"] {
        if let Some(value) = body.get(field) {
            stream[field] = value.clone();
        }
    }
    Ok(stream)
}

/// `https://`, or plain `http://` to a loopback host.
fn endpoint_allowed(endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

/// `GET /log-streams`.
pub(crate) async fn list_log_streams(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:log_streams"]) {
        return response;
    }
    Json(sim.with(|t| t.log_streams.clone())).into_response()
}

/// `GET /log-streams/{id}`.
pub(crate) async fn get_log_stream(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:log_streams"]) {
        return response;
    }
    match sim.with(|t| {
        t.log_streams
            .iter()
            .find(|s| s["id"] == id.as_str())
            .cloned()
    }) {
        Some(stream) => Json(stream).into_response(),
        None => no_stream(),
    }
}

/// `DELETE /log-streams/{id}`.
pub(crate) async fn delete_log_stream(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["delete:log_streams"]) {
        return response;
    }
    let removed = sim.with(|t| {
        let before = t.log_streams.len();
        t.log_streams.retain(|s| s["id"] != id.as_str());
        before != t.log_streams.len()
    });
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        no_stream()
    }
}

fn no_stream() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The log stream does not exist.",
        "inexistent_log_stream",
    )
}

impl Tenant {
    /// Logs an event of type `code` about the user `user_id` (read before it
    /// changes or goes), queued for every active stream.
    pub(crate) fn log_event(&mut self, code: &str, user: &Value, description: &str) {
        if self.log_streams.is_empty() {
            return;
        }
        self.log_sequence += 1;
        let millis = chrono::Utc::now().timestamp_millis();
        let log_id = format!("9002{millis:016}{:016}", self.log_sequence);
        let connection = user["identities"][0]["connection"].clone();
        let mut data = json!({
            "date": now_iso(),
            "type": code,
            "description": description,
            "connection": connection,
            "connection_id": self.connections.iter()
                .find(|c| Some(c.name.as_str()) == connection.as_str())
                .map(|c| c.id.clone()).unwrap_or_default(),
            "client_id": crate::DEFAULT_CLIENT_ID,
            "client_name": "Nexus (simulator)",
            "ip": "127.0.0.1",
            "user_agent": "auth0-sim",
            "user_id": user["user_id"],
            "user_name": user.get("email").or_else(|| user.get("username")).cloned().unwrap_or(Value::Null),
            "strategy": "auth0",
            "strategy_type": "database",
            "log_id": log_id,
        });
        if data["user_name"].is_null() {
            data.as_object_mut().expect("an object").remove("user_name");
        }
        let event = json!({"log_id": log_id, "data": data});
        for stream in &self.log_streams {
            if stream["status"] == "active" {
                self.log_outbox.push(Delivery {
                    stream: stream.clone(),
                    event: event.clone(),
                });
            }
        }
    }
}

/// Posts the queued events in the background (called once the tenant's
/// lock is released).
pub(crate) fn dispatch(sim: &Simulator, deliveries: Vec<Delivery>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for delivery in deliveries {
        let sim = sim.clone();
        runtime.spawn(async move {
            let id = delivery.stream["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let delivered = deliver(&delivery).await;
            sim.with(|t| {
                let counts = t.stats.log_deliveries.entry(id).or_default();
                if delivered {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
            });
        });
    }
}

/// Posts one event to one stream, retrying with backoff; whether it was
/// accepted (a 2xx).
async fn deliver(delivery: &Delivery) -> bool {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client")
    });
    let sink = &delivery.stream["sink"];
    let endpoint = sink["httpEndpoint"].as_str().unwrap_or_default();
    let event = delivery.event.to_string();
    let body = match sink["httpContentFormat"].as_str().unwrap_or("JSONARRAY") {
        "JSONLINES" => format!("{event}\n"),
        "JSONOBJECT" => event,
        _ => format!("[{event}]"),
    };
    let content_type = sink["httpContentType"]
        .as_str()
        .unwrap_or("application/json");
    let mut pause = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let mut request = CLIENT
            .post(endpoint)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(authorization) = sink["httpAuthorization"].as_str() {
            request = request.header("authorization", authorization);
        }
        for header in sink["httpCustomHeaders"].as_array().into_iter().flatten() {
            if let (Some(name), Some(value)) = (header["header"].as_str(), header["value"].as_str())
            {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(reply) if reply.status().is_success() => return true,
            Ok(reply) => {
                tracing::info!(endpoint, attempt, status = %reply.status(), "log stream delivery refused")
            }
            Err(error) => tracing::info!(endpoint, attempt, %error, "log stream delivery failed"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    false
}
