//! A real `nexus` server on loopback over a fresh database, and an HTTP client.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use nexus::RunningServer;
use nexus_core::auth::{NewApiKey, Permissions};
use nexus_core::{Actor, Timestamp};
use nexus_service::auth::AuthConfig;
use nexus_service::push::PushConfig;
use nexus_service::secrets::{Sealer, SecretKey};
use nexus_service::webhooks::WebhookConfig;
use nexus_service::Nexus;
use nexus_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tokio::net::TcpListener;

/// Runs a test body once on SQLite and once on PostgreSQL (the latter when
/// `NEXUS_TEST_POSTGRES_URL` is set; CI sets it).
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::support::TestApp::sqlite().await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match crate::support::TestApp::postgres().await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run"),
                    }
                }
            }
        )*
    };
}
pub(crate) use both_backends;

/// The key that seals the test servers' Management client secrets.
pub const TEST_SECRET_KEY: &str = "bmV4dXMtdGVzdC1zZWNyZXQta2V5LTMyLWJ5dGVzISE=";

/// Webhooks as the test servers deliver them: to loopback receivers, and
/// retried within a second.
pub fn test_webhooks() -> WebhookConfig {
    WebhookConfig {
        allow_private: true,
        idle_poll: std::time::Duration::from_millis(25),
        first_retry: std::time::Duration::from_millis(200),
        max_retry_delay: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_secs(5),
        ..WebhookConfig::default()
    }
}

/// The audience of access tokens for the test servers.
pub const API_AUDIENCE: &str = "https://nexus.test/api";

pub struct TestApp {
    pub base: String,
    /// Sends the admin key (`read write user.sync`) with every request.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    /// The id of the admin key: the `createdBy` of what the tests create.
    pub admin_id: String,
    pub store: Store,
    pub nexus: Nexus,
    /// How the push worker of the next `restart` or `replica` is paced.
    pub push: PushConfig,
    /// How webhooks are checked and delivered by the next `restart` or
    /// `replica` (`test_webhooks()` at first).
    pub webhooks: WebhookConfig,
    /// How imports are run by the next `restart` or `replica`.
    pub imports: nexus_service::imports::ImportConfig,
    /// How reconciliations are run (and scheduled) by the next `restart`
    /// or `replica`.
    pub reconciliations: nexus_service::reconciliations::ReconcileConfig,
    /// How domains are verified by the next `restart` or `replica`.
    pub domains: nexus_service::organization_domains::DomainConfig,
    /// How the console signs people in through Auth0 after the next
    /// `restart` or `replica` (not at all at first).
    pub console_auth0: Option<nexus::ConsoleAuth0Options>,
    server: Option<RunningServer>,
    url: String,
    auth: AuthConfig,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

/// A response: status, content type and JSON body (Null when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub content_type: String,
    pub body: Value,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(test_auth()).await
    }

    pub async fn sqlite_with(auth: AuthConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        Self::start(&url, auth, Some(dir), None).await
    }

    pub async fn postgres() -> Option<TestApp> {
        Self::postgres_with(test_auth()).await
    }

    pub async fn postgres_with(auth: AuthConfig) -> Option<TestApp> {
        let (admin_url, name) = postgres_database().await?;
        let url = with_database(&admin_url, &name);
        Some(Self::start(&url, auth, None, Some((admin_url, name))).await)
    }

    async fn start(
        url: &str,
        auth: AuthConfig,
        dir: Option<tempfile::TempDir>,
        postgres: Option<(String, String)>,
    ) -> TestApp {
        let store = nexus::open_store(url).await.expect("open store");
        let nexus = Nexus::new(store.clone(), auth.clone());
        let admin = create_key(
            &nexus,
            "read write user.sync",
            Timestamp::now().plus_days(1),
        )
        .await;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let auth_config = auth.clone();
        let options = nexus::ServerOptions {
            webhooks: test_webhooks(),
            ..nexus::ServerOptions::default()
        };
        let server = nexus::start_with_options(store.clone(), auth, options, listener)
            .await
            .expect("start server");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            basic(&admin).parse().expect("header"),
        );
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("client"),
            anonymous: reqwest::Client::new(),
            admin_id: admin.split(':').next().expect("key id").to_owned(),
            store,
            nexus,
            push: PushConfig::default(),
            webhooks: test_webhooks(),
            imports: Default::default(),
            reconciliations: Default::default(),
            domains: Default::default(),
            console_auth0: None,
            server: Some(server),
            url: url.to_owned(),
            auth: auth_config,
            _dir: dir,
            postgres,
        }
    }

    /// Stops the server (as a crash or deploy would, after requests in
    /// flight) and starts a new one over the same database.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("stop");
        }
        let store = nexus::open_store(&self.url).await.expect("reopen store");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let server =
            nexus::start_with_options(store.clone(), self.auth.clone(), self.options(), listener)
                .await
                .expect("restart server");
        self.base = format!("http://{}", server.addr);
        self.nexus = Nexus::new(store.clone(), self.auth.clone());
        self.store = store;
        self.server = Some(server);
    }

    /// The database the server keeps its data in.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// A second `nexus serve` over the same database, as another replica.
    pub async fn replica(&self) -> RunningServer {
        self.replica_with(self.auth.clone()).await
    }

    /// A replica with its own settings.
    pub async fn replica_with(&self, auth: AuthConfig) -> RunningServer {
        let store = nexus::open_store(&self.url).await.expect("open store");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        nexus::start_with_options(store, auth, self.options(), listener)
            .await
            .expect("start replica")
    }

    fn options(&self) -> nexus::ServerOptions {
        nexus::ServerOptions {
            push: self.push.clone(),
            webhooks: self.webhooks.clone(),
            imports: self.imports.clone(),
            reconciliations: self.reconciliations.clone(),
            domains: self.domains.clone(),
            console_auth0: self.console_auth0.clone(),
            ..nexus::ServerOptions::default()
        }
    }

    /// A request without the admin key, with the given headers.
    pub async fn request_as(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .anonymous
            .request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::reply(request.send().await.expect("request sent")).await
    }

    /// A key with these permissions; returns its `keyId:secret`.
    pub async fn key(&self, permissions: &str) -> String {
        create_key(&self.nexus, permissions, Timestamp::now().plus_days(1)).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::reply(request.send().await.expect("request sent")).await
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else if !content_type.contains("json") {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(&body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(&body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(&body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Sends a body as given, with the given content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        Self::reply(request.send().await.expect("request sent")).await
    }

    // Fixtures -----------------------------------------------------------

    pub async fn tenant(&self, name: &str) -> Value {
        let reply = self
            .post(
                "/v1/idp_tenants",
                serde_json::json!({
                    "name": name,
                    "azoTenantName": format!("eci-{name}-prod"),
                    "fqdn": format!("eci-{name}-prod.us.auth0.com"),
                    "loginDomain": format!("login.{name}.example.com"),
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    pub async fn organization(&self, name: &str) -> Value {
        let reply = self
            .post(
                "/v1/organizations",
                serde_json::json!({"name": name, "displayName": format!("{name} Inc."), "crmAccountId": "crm-1", "type": "Customer"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    /// A user in a fresh organization of a fresh tenant; returns its id.
    pub async fn user(&self) -> String {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let tenant = self.tenant(&format!("t{}", &suffix[20..])).await;
        let organization = self.organization(&format!("org-{suffix}")).await;
        let reply = self
            .post(
                "/v1/users",
                serde_json::json!({
                    "authenticationMethod": "Database",
                    "displayName": "Justin Buchanan",
                    "idpTenantId": tenant["name"],
                    "organization": organization["name"],
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().expect("user id").to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let server = self.server.take();
        let postgres = self.postgres.take();
        let store = self.store.clone();
        // Stop the server and drop the test database on a runtime of our own:
        // the test's runtime is shutting down.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Some(server) = server {
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server.stop())
                        .await;
                }
                store.close().await;
                if let Some((admin_url, name)) = postgres {
                    drop_postgres_database(&admin_url, &name).await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// A fresh, empty PostgreSQL database, as (admin URL, database name), when
/// `NEXUS_TEST_POSTGRES_URL` is set.
pub async fn postgres_database() -> Option<(String, String)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin_url = std::env::var("NEXUS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!(
        "nexus_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    Some((admin_url, name))
}

/// Drops a database made by `postgres_database`.
pub async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}

/// An empty PostgreSQL database of its own (no migrations run), dropped
/// with this value.
pub struct EmptyPostgres {
    pub url: String,
    admin_url: String,
    name: String,
}

impl EmptyPostgres {
    /// None when `NEXUS_TEST_POSTGRES_URL` is unset.
    pub async fn create() -> Option<EmptyPostgres> {
        let (admin_url, name) = postgres_database().await?;
        Some(EmptyPostgres {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        })
    }
}

impl Drop for EmptyPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // On a runtime of our own, as in `TestApp`'s drop.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_postgres_database(&admin_url, &name));
        })
        .join()
        .ok();
    }
}

/// Test servers accept tokens for `API_AUDIENCE` and do not throttle (the
/// throttling test sets its own limit).
pub fn test_auth() -> AuthConfig {
    AuthConfig {
        api_audience: Some(API_AUDIENCE.to_owned()),
        sealer: Sealer::new(Some(SecretKey::parse(TEST_SECRET_KEY).unwrap()), vec![]),
        failures_per_minute: 100_000,
        jwks_min_refresh: std::time::Duration::from_secs(1),
        ..AuthConfig::default()
    }
}

/// Creates a key straight in the store (any expiry, even a past one).
pub async fn create_key(nexus: &Nexus, permissions: &str, expires_at: Timestamp) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let id = format!(
        "test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let secret = format!("secret-{}", uuid::Uuid::now_v7().simple());
    let new = NewApiKey {
        description: Some("test key".to_owned()),
        permissions: Permissions::parse(permissions).expect("permissions"),
        role_id: None,
        expires_at,
    };
    nexus_service::api_keys::create_with(
        nexus,
        &Actor::system("CreateApiKey"),
        &nexus_core::auth::Authority::Operator,
        &id,
        &secret,
        &new,
    )
    .await
    .expect("create key");
    format!("{id}:{secret}")
}

/// `Basic base64(keyId:secret)`.
pub fn basic(credential: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credential)
    )
}

/// The same server URL with another database name.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

/// A documented path with its parameters filled in.
pub fn concrete(path: &str) -> String {
    path.replace("{userId}", "u")
        .replace("{upnId}", "x")
        .replace("{idpTenantId}", "t")
        .replace("{tenantId}", "t")
        .replace("{connectionId}", "con_x")
        .replace("{organizationId}", "1")
        .replace("{domainId}", "1")
        .replace("{roleId}", "r")
        .replace("{mapId}", "1")
        .replace("{keyId}", "k")
        .replace("{clientId}", "c")
        .replace("{azoConnectionId}", "c")
        .replace("{azoUserId}", "a")
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Asserts a problem response: status, content type, and `instance` = path.
pub fn assert_problem(reply: &Reply, status: u16, instance: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], status);
    assert_eq!(reply.body["instance"], instance);
    assert!(reply.body["type"]
        .as_str()
        .is_some_and(|t| t.starts_with("urn:nexus:problem:")));
    assert!(reply.body["title"].is_string() && reply.body["detail"].is_string());
}

/// A component schema's own object: a schema the document refines with
/// rules across fields is `allOf: [object, rule]`.
pub fn schema_object<'a>(document: &'a Value, name: &str) -> &'a Value {
    let schema = &document["components"]["schemas"][name];
    if schema["allOf"].is_array() {
        &schema["allOf"][0]
    } else {
        schema
    }
}

/// Starts a background job (an import, a reconciliation) with `POST
/// collection`: 202, with the job's `Location` under `collection`.
pub async fn start_job(app: &TestApp, collection: &str, query: &str, body: Value) -> Value {
    let started = app.post(&format!("{collection}{query}"), body).await;
    assert_eq!(started.status.as_u16(), 202, "{}", started.body);
    let location = started.headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!("{collection}/{}", started.body["id"].as_str().unwrap())
    );
    started.body
}

/// Waits until the job of `collection` has ended (`Completed` or
/// `Failed`); the job.
pub async fn ended_job(app: &TestApp, collection: &str, job: &Value) -> Value {
    let path = format!("{collection}/{}", job["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let read = app.get(&path).await;
        assert_eq!(read.status.as_u16(), 200, "{}", read.body);
        if read.body["state"] == "Completed" || read.body["state"] == "Failed" {
            return read.body;
        }
        assert!(std::time::Instant::now() < deadline, "still {}", read.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
