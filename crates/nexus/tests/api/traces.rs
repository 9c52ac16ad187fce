//! OpenTelemetry traces, as a collector receives them: the `nexus` binary
//! exports over OTLP/HTTP (protobuf) to a receiver of the test's own, and
//! the test reads the span tree of a login and of the Auth0 calls around it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::EmptyPostgres;

const ADMIN: &str = "trace-admin:trace-admin-secret-for-the-tests";

/// Spans as an OTLP collector gets them, with the service that sent them.
#[derive(Clone, Default)]
struct Receiver {
    addr: Option<SocketAddr>,
    spans: Arc<Mutex<Vec<(String, Span)>>>,
    exports: Arc<Mutex<usize>>,
}

impl Receiver {
    /// Listens on `addr` (`POST /v1/traces`, protobuf bodies).
    async fn start(addr: &str) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let receiver = Receiver {
            addr: Some(listener.local_addr()?),
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .route("/v1/traces", post(export))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr.expect("listening"))
    }

    fn exports(&self) -> usize {
        *self.exports.lock().unwrap()
    }

    /// The spans received once `done` holds of them, within a deadline.
    async fn spans_when(&self, done: impl Fn(&[(String, Span)]) -> bool) -> Vec<(String, Span)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let spans = self.spans.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
            assert!(Instant::now() < deadline, "spans received: {names:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn export(State(receiver): State<Receiver>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    *receiver.exports.lock().unwrap() += 1;
    let mut spans = receiver.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| string(&r.attributes, "service.name"))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
        }
    }
    (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key)? {
        Any::StringValue(value) => Some(value.clone()),
        _ => None,
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key)? {
        Any::IntValue(value) => Some(*value),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A caller's trace context: (trace id, span id, `traceparent`).
fn caller_context() -> (String, String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let trace = id.clone();
    let span = id[16..].to_owned();
    let header = format!("00-{trace}-{span}-01");
    (trace, span, header)
}

/// A `nexus serve` process with its own settings; stopped with SIGTERM.
struct Server {
    child: tokio::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(database_url: &str, settings: &[(&str, String)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus"));
        for (name, _) in std::env::vars() {
            if name.starts_with("OTEL_") || name.starts_with("NEXUS_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .env("NEXUS_DATABASE_URL", database_url)
            .env("NEXUS_LISTEN", format!("127.0.0.1:{port}"))
            .env("NEXUS_BOOTSTRAP_API_KEY", ADMIN)
            .env("NEXUS_SECRET_KEY", crate::support::TEST_SECRET_KEY)
            .env("NEXUS_LOG", "warn")
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("nexus starts");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            crate::support::basic(ADMIN).parse().unwrap(),
        );
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(format!("{}/readyz", server.base)).await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return server;
            }
            assert!(Instant::now() < deadline, "nexus did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `body` with these extra headers; the status and JSON answer.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// SIGTERM, as an orchestrator stops a server, and its exit.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let signalled = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(signalled.success());
        let exit = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("nexus stops on SIGTERM")
            .unwrap();
        assert!(exit.success(), "{exit}");
    }
}

/// A simulated Auth0 tenant registered in the server as `sim`, with an
/// organization to put users in.
async fn sim_tenant(server: &Server) -> auth0_sim::Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = auth0_sim::serve(listener, 100).await.unwrap();
    let (status, body) = server
        .send(reqwest::Method::POST, "/v1/idp_tenants", &[],
            json!({"name": "sim", "azoTenantName": "eci-sim", "fqdn": "eci-sim.us.auth0.com", "baseUrl": sim.base_url(),
                   "managementClientId": auth0_sim::DEFAULT_CLIENT_ID, "managementClientSecret": auth0_sim::DEFAULT_CLIENT_SECRET}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .send(
            reqwest::Method::POST,
            "/v1/organizations",
            &[],
            json!({"name": "acme", "displayName": "Acme", "crmAccountId": "1", "type": "Customer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    sim
}

/// A Nexus user linked to a new Auth0 account, created with `headers`:
/// (Nexus id, Auth0 id). The link is checked with Auth0 (a Management call
/// inside the request) and then pushed to it (by the push worker).
async fn linked_user(
    server: &Server,
    sim: &auth0_sim::Simulator,
    headers: &[(&str, &str)],
) -> (String, String) {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/__sim/users", sim.base_url()))
        .json(&json!({"connection": auth0_sim::DEFAULT_CONNECTION, "email": "ada@example.com", "password": "Passw0rd!long"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let azo = created["user_id"].as_str().unwrap().to_owned();
    let (status, user) = server
        .send(reqwest::Method::POST, "/v1/users", headers,
            json!({"authenticationMethod": "Database", "displayName": "Ada Lovelace", "emailAddress": "ada@example.com",
                   "idpTenantId": "sim", "organization": "acme",
                   "idpMetadata": {"azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    (user["id"].as_str().unwrap().to_owned(), azo)
}

async fn sim_stats(sim: &auth0_sim::Simulator) -> Value {
    reqwest::get(format!("{}/__sim/stats", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whether `span` descends from `ancestor` within `spans`.
fn descends(spans: &HashMap<Vec<u8>, &Span>, span: &Span, ancestor: &Span) -> bool {
    let mut parent = span.parent_span_id.clone();
    while let Some(next) = spans.get(&parent) {
        if next.span_id == ancestor.span_id {
            return true;
        }
        parent = next.parent_span_id.clone();
    }
    false
}

mod a_login_is_traced_from_the_caller_through_nexus_to_auth0 {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        super::a_login_is_traced_from_the_caller_through_nexus_to_auth0(&url, "sqlite", "text")
            .await
    }

    // JSON logs here, text logs above: both formats run with the exporter.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        match super::EmptyPostgres::create().await {
            Some(database) => {
                super::a_login_is_traced_from_the_caller_through_nexus_to_auth0(
                    &database.url,
                    "postgresql",
                    "json",
                )
                .await
            }
            None => eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run"),
        }
    }
}

async fn a_login_is_traced_from_the_caller_through_nexus_to_auth0(
    database_url: &str,
    db_system: &str,
    log_format: &str,
) {
    let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
    // Batches wait a minute: what arrives, arrives because stopping flushes it.
    let server = Server::start(
        database_url,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000".to_owned()),
            ("NEXUS_LOG_FORMAT", log_format.to_owned()),
        ],
    )
    .await;
    let sim = sim_tenant(&server).await;

    let (link_trace, link_parent, link_header) = caller_context();
    let (user, _azo) = linked_user(&server, &sim, &[("traceparent", &link_header)]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim_stats(&sim).await["requests"]["PATCH /api/v2/users/{id}"].as_u64() < Some(1) {
        assert!(
            Instant::now() < deadline,
            "the link was not pushed to Auth0"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (login_trace, login_parent, login_header) = caller_context();
    let (status, info) = server
        .send(
            reqwest::Method::PUT,
            &format!("/v1/users/{user}/$sync"),
            &[
                ("traceparent", login_header.as_str()),
                ("tracestate", "vendor=opaque"),
                ("x-request-id", "traced-login-1"),
            ],
            json!({"audience": "https://api.example.com", "attributes": [{"key": "department", "value": "finance"}],
                   "connection": {"connectionId": auth0_sim::DEFAULT_CONNECTION, "groups": ["Staff"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(
        receiver.exports(),
        0,
        "nothing is sent before the batch is due"
    );
    server.stop().await;

    let route = "PUT /v1/users/{userId}/$sync";
    let received = receiver
        .spans_when(|spans| {
            let has = |name: &str| spans.iter().any(|(_, s)| s.name == name);
            has(route) && has("push") && has("POST /v1/users")
        })
        .await;
    assert!(
        received.iter().all(|(service, _)| service == "nexus"),
        "the service is named nexus by default"
    );
    let spans: Vec<&Span> = received.iter().map(|(_, s)| s).collect();
    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), *s)).collect();
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);

    // The login: the caller's span → request → service operation → database.
    let request = named(route).next().unwrap();
    assert_eq!(hex(&request.trace_id), login_trace);
    assert_eq!(hex(&request.parent_span_id), login_parent);
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(request.trace_state, "vendor=opaque");
    let attributes = &request.attributes;
    assert_eq!(
        string(attributes, "http.request.method").as_deref(),
        Some("PUT")
    );
    assert_eq!(
        string(attributes, "http.route").as_deref(),
        Some("/v1/users/{userId}/$sync")
    );
    assert_eq!(
        string(attributes, "url.path"),
        Some(format!("/v1/users/{user}/$sync"))
    );
    assert_eq!(int(attributes, "http.response.status_code"), Some(200));
    assert_eq!(
        string(attributes, "request_id").as_deref(),
        Some("traced-login-1")
    );
    let service = named("sync")
        .find(|s| s.parent_span_id == request.span_id)
        .expect("the service operation's span is a child of the request's");
    assert_eq!(service.trace_id, request.trace_id);
    let statements: Vec<&&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id == service.span_id)
        .filter(|s| string(&s.attributes, "db.system.name").as_deref() == Some(db_system))
        .collect();
    assert!(
        statements.iter().any(|s| s.name == "read user")
            && statements.iter().any(|s| s.name == "login write"),
        "database spans under the service span: {:?}",
        statements.iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    // The link checked with Auth0 inside the request: a client span of the
    // caller's trace, whose context Auth0 received.
    let create = named("POST /v1/users").next().unwrap();
    assert_eq!(hex(&create.trace_id), link_trace);
    assert_eq!(hex(&create.parent_span_id), link_parent);
    let stats = sim_stats(&sim).await;
    let check = auth0_call(&by_id, &stats, "GET /api/v2/users/{id}");
    assert_eq!(check.name, "get /users/{id}");
    assert_eq!(hex(&check.trace_id), link_trace);
    assert!(descends(&by_id, check, create));

    // The push runs after the request, in a trace of its own.
    let patch = auth0_call(&by_id, &stats, "PATCH /api/v2/users/{id}");
    assert_eq!(patch.name, "patch /users/{id}");
    let push = named("push")
        .find(|s| s.parent_span_id.is_empty() && descends(&by_id, patch, s))
        .expect("the push's Auth0 call is under a root span of its own");
    assert_ne!(push.trace_id, create.trace_id);
}

/// The client span of the last Auth0 call on `route`, found by the
/// `traceparent` Auth0 received (so that header names this span); it
/// records the operation's answer.
fn auth0_call<'a>(spans: &HashMap<Vec<u8>, &'a Span>, stats: &Value, route: &str) -> &'a Span {
    let header = stats["traceparents"][route]
        .as_str()
        .unwrap_or_else(|| panic!("no traceparent on {route}: {stats}"));
    let parts: Vec<&str> = header.split('-').collect();
    assert!(
        parts.len() == 4 && parts[0] == "00" && parts[3] == "01",
        "{header}"
    );
    let span = spans
        .values()
        .find(|s| hex(&s.span_id) == parts[2])
        .unwrap_or_else(|| panic!("no span {} sent {route}", parts[2]));
    assert_eq!(hex(&span.trace_id), parts[1]);
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(
        int(&span.attributes, "http.response.status_code"),
        Some(200),
        "{:?}",
        span.attributes
    );
    span
}

/// Without an endpoint nothing is set up: no export (not even to the
/// default endpoint, where this receiver listens when the port is free)
/// and no trace context on calls to Auth0, whatever other OTEL_ variables say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_exported_without_an_endpoint() {
    let receiver = match Receiver::start("127.0.0.1:4318").await {
        Ok(receiver) => receiver,
        Err(_) => Receiver::start("127.0.0.1:0").await.unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let server = Server::start(
        &url,
        &[
            ("OTEL_SERVICE_NAME", "nexus-quiet".to_owned()),
            ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "10".to_owned()),
        ],
    )
    .await;
    let sim = sim_tenant(&server).await;
    let (_, _, header) = caller_context();
    linked_user(&server, &sim, &[("traceparent", &header)]).await;
    let stats = sim_stats(&sim).await;
    assert!(stats["requests"]["GET /api/v2/users/{id}"].as_u64() >= Some(1));
    assert_eq!(stats["traceparents"], json!({}));
    server.stop().await;
    assert_eq!(receiver.exports(), 0);
}
