//! A local Auth0 tenant: client-credentials tokens (RS256), JWKS, OpenID
//! configuration, and the Management API v2 operations Nexus uses, with
//! Auth0's scopes, error bodies, rate-limit headers and `app_metadata` merge
//! rules; plus a control API (`/__sim/…`) that seeds data and injects faults.
//! For development and tests only: state is in memory and the signing key is
//! a fixed development key.

// Helpers fail with the ready Auth0-shaped `Response`; it is built once per
// failed request, so its size is of no consequence.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Map, Value};

const SIGNING_KEY: &str = include_str!("dev-signing-key.pem");
const SIGNING_KEY_N: &str = include_str!("dev-signing-key.n");
const KID: &str = "auth0-sim-dev";

/// Every Management scope the simulator knows; the default client holds all.
pub const SCOPES: &[&str] = &[
    "read:users",
    "create:users",
    "update:users",
    "update:users_app_metadata",
    "delete:users",
    "read:clients",
    "read:connections",
];

/// A machine-to-machine application allowed to get Management API tokens.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub client_metadata: Value,
}

#[derive(Debug, Clone)]
struct Connection {
    id: String,
    name: String,
    strategy: String,
}

#[derive(Debug, Default, Clone)]
struct Faults {
    latency: Duration,
    fail_until: Option<Instant>,
    fail_status: u16,
    /// Only requests with these methods fail; empty means all.
    fail_methods: Vec<String>,
    burst_429: u32,
    /// Requests on these routes (as the statistics name them) are carried
    /// out, then answered `late_answer` later: a client that times out does
    /// not know that they happened.
    late_routes: Vec<String>,
    late_answer: Duration,
    /// How many more late answers to give; `None` means no limit.
    late_answers: Option<u32>,
    /// PATCHes of users that set one of these fields are refused with 400.
    refuse_fields: Vec<String>,
}

#[derive(Debug, Default)]
struct Stats {
    requests: BTreeMap<String, u64>,
    rate_limited: u64,
    /// Addresses a verification email went to (`verify_email` on create).
    verification_emails: Vec<String>,
    /// PATCHes of a user being answered now, by path.
    patching: BTreeMap<String, u32>,
    /// PATCHes that arrived while another PATCH of the same user was still
    /// being answered: two writers pushing one user at once.
    overlapping_patches: u64,
}

struct Window {
    second: u64,
    used: u32,
}

struct Tenant {
    base_url: String,
    clients: Vec<Client>,
    connections: Vec<Connection>,
    users: BTreeMap<String, Value>,
    faults: Faults,
    rate_limit: u32,
    window: Window,
    stats: Stats,
}

/// The simulator's state; clone it to share.
#[derive(Clone)]
pub struct Simulator {
    tenant: Arc<Mutex<Tenant>>,
}

/// The default client's credentials and the default database connection.
pub const DEFAULT_CLIENT_ID: &str = "nexus-sim-client";
pub const DEFAULT_CLIENT_SECRET: &str = "nexus-sim-secret-do-not-use-in-production";
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";
pub const DEFAULT_CONNECTION_ID: &str = "con_sim000000000001";

impl Simulator {
    /// A tenant served at `base_url` (e.g. `http://127.0.0.1:4010`), with one
    /// client holding every scope, one database connection and `rate_limit`
    /// Management requests per second.
    pub fn new(base_url: &str, rate_limit: u32) -> Self {
        let tenant = Tenant {
            base_url: base_url.trim_end_matches('/').to_owned(),
            clients: vec![Client {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
                name: "Nexus (simulator)".to_owned(),
                scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
                client_metadata: json!({}),
            }],
            connections: vec![Connection {
                id: DEFAULT_CONNECTION_ID.to_owned(),
                name: DEFAULT_CONNECTION.to_owned(),
                strategy: "auth0".to_owned(),
            }],
            users: BTreeMap::new(),
            faults: Faults::default(),
            rate_limit,
            window: Window { second: 0, used: 0 },
            stats: Stats::default(),
        };
        Simulator {
            tenant: Arc::new(Mutex::new(tenant)),
        }
    }

    pub fn router(&self) -> Router {
        let management = Router::new()
            .route("/api/v2/users", get(list_users).post(create_user))
            .route(
                "/api/v2/users/{id}",
                get(get_user).patch(patch_user).delete(delete_user),
            )
            .route("/api/v2/users-by-email", get(users_by_email))
            .route("/api/v2/clients", get(list_clients))
            .route("/api/v2/connections", get(list_connections))
            .route("/api/v2/connections/{id}", get(get_connection))
            .layer(middleware::from_fn_with_state(self.clone(), rate_limit));
        Router::new()
            .route("/oauth/token", post(token))
            .route("/.well-known/jwks.json", get(jwks))
            .route(
                "/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .merge(management)
            .route("/__sim/clients", post(seed_client))
            .route("/__sim/connections", post(seed_connection))
            .route("/__sim/users", post(seed_user))
            .route("/__sim/faults", put(set_faults))
            .route("/__sim/rate-limit", put(set_rate_limit))
            .route("/__sim/stats", get(stats))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                faults_and_stats,
            ))
            .with_state(self.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tenant) -> T) -> T {
        f(&mut self.tenant.lock().expect("simulator state"))
    }
}

/// An Auth0-shaped error: `{statusCode, error, message, errorCode}`.
fn error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "errorCode": code,
    });
    (status, Json(body)).into_response()
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// --- faults, statistics, rate limit ---------------------------------------

async fn faults_and_stats(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let control = path.starts_with("/__sim/");
    let method = request.method().as_str().to_owned();
    let route = format!("{method} {}", route_name(&path));
    let patch_of_user = (!control && route == "PATCH /api/v2/users/{id}").then(|| path.clone());
    let (latency, failing, late) = sim.with(|t| {
        let late = if control {
            None
        } else {
            t.faults.answers_late(&route)
        };
        if let Some(path) = &patch_of_user {
            let patching = t.stats.patching.entry(path.clone()).or_default();
            if *patching > 0 {
                t.stats.overlapping_patches += 1;
            }
            *patching += 1;
        }
        if !control {
            *t.stats.requests.entry(route).or_default() += 1;
        }
        let failing = t
            .faults
            .fail_until
            .is_some_and(|until| Instant::now() < until)
            && (t.faults.fail_methods.is_empty() || t.faults.fail_methods.contains(&method));
        (
            t.faults.latency,
            failing.then_some(t.faults.fail_status),
            late,
        )
    });
    if control {
        return next.run(request).await;
    }
    // Counted out when the answer is done or the client gave up on it.
    let _patching = patch_of_user.map(|path| Patching {
        sim: sim.clone(),
        path,
    });
    answer(request, next, latency, failing, late).await
}

struct Patching {
    sim: Simulator,
    path: String,
}

impl Drop for Patching {
    fn drop(&mut self) {
        self.sim.with(|t| {
            if let Some(patching) = t.stats.patching.get_mut(&self.path) {
                *patching = patching.saturating_sub(1);
            }
        });
    }
}

async fn answer(
    request: Request,
    next: Next,
    latency: Duration,
    failing: Option<u16>,
    late: Option<Duration>,
) -> Response {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = failing {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(
            status,
            "The service is temporarily unavailable (injected fault)",
            "service_unavailable",
        );
    }
    let response = next.run(request).await;
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    response
}

impl Faults {
    /// Whether this request on `route` is answered late (and for how long);
    /// counts it against `late_answers`.
    fn answers_late(&mut self, route: &str) -> Option<Duration> {
        if !self.late_routes.iter().any(|r| r == route) || self.late_answers == Some(0) {
            return None;
        }
        if let Some(left) = &mut self.late_answers {
            *left -= 1;
        }
        Some(self.late_answer)
    }
}

/// Groups `/api/v2/users/auth0|123` as `/api/v2/users/{id}` in the statistics.
fn route_name(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "api", "v2", resource, _id] => format!("/api/v2/{resource}/{{id}}"),
        _ => path.to_owned(),
    }
}

/// Management API rate limit: `rate_limit` requests per second, with
/// `x-ratelimit-*` headers on every answer and a 429 when spent.
async fn rate_limit(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let second = now_seconds();
    let (limit, remaining, limited) = sim.with(|t| {
        if t.window.second != second {
            t.window = Window { second, used: 0 };
        }
        let burst = t.faults.burst_429 > 0;
        if burst {
            t.faults.burst_429 -= 1;
        }
        let limited = burst || t.window.used >= t.rate_limit;
        if limited {
            t.stats.rate_limited += 1;
        } else {
            t.window.used += 1;
        }
        // A refused request has nothing left to spend, whatever the window says.
        let remaining = if limited {
            0
        } else {
            t.rate_limit.saturating_sub(t.window.used)
        };
        (t.rate_limit, remaining, limited)
    });
    let mut response = if limited {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "Global limit has been reached",
            "too_many_requests",
        )
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(second + 1));
    response
}

// --- tokens -------------------------------------------------------------------

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
}

async fn token(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed: Result<TokenRequest, String> = if form {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let Ok(request) = parsed else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is malformed",
        );
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unsupported_grant_type",
            "Only client_credentials is supported",
        );
    }
    let base = sim.with(|t| t.base_url.clone());
    let client = sim.with(|t| {
        t.clients
            .iter()
            .find(|c| {
                Some(&c.client_id) == request.client_id.as_ref()
                    && Some(&c.client_secret) == request.client_secret.as_ref()
            })
            .cloned()
    });
    let Some(client) = client else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let audience = format!("{base}/api/v2/");
    if request.audience.as_deref() != Some(audience.as_str()) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Service not enabled within domain",
        );
    }
    let now = now_seconds();
    let claims = json!({
        "iss": format!("{base}/"),
        "sub": format!("{}@clients", client.client_id),
        "aud": audience,
        "iat": now,
        "exp": now + 86_400,
        "azp": client.client_id,
        "scope": client.scopes.join(" "),
        "gty": "client-credentials",
        "permissions": client.scopes,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let key = EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).expect("the development key");
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("signing");
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 86_400, "scope": client.scopes.join(" ")}))
        .into_response()
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

async fn jwks() -> Json<Value> {
    Json(
        json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": SIGNING_KEY_N.trim(), "e": "AQAB"}]}),
    )
}

async fn openid_configuration(State(sim): State<Simulator>) -> Json<Value> {
    let base = sim.with(|t| t.base_url.clone());
    Json(json!({
        "issuer": format!("{base}/"),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

/// Checks the Management API token and that it holds one of `scopes`.
fn authorize(
    sim: &Simulator,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Vec<String>, Response> {
    let unauthorized = || {
        error(
            StatusCode::UNAUTHORIZED,
            "Missing authentication",
            "unauthorized",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let base = sim.with(|t| t.base_url.clone());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{base}/api/v2/")]);
    validation.set_issuer(&[format!("{base}/")]);
    let key = DecodingKey::from_rsa_components(SIGNING_KEY_N.trim(), "AQAB")
        .expect("the development key");
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|_| error(StatusCode::UNAUTHORIZED, "Invalid token", "invalid_token"))?
        .claims;
    let granted: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
        let message = format!("Insufficient scope, expected any of: {}", scopes.join(","));
        return Err(error(StatusCode::FORBIDDEN, &message, "insufficient_scope"));
    }
    Ok(granted)
}

// --- users --------------------------------------------------------------------

/// The query parameters of the list operations, read by hand so that a
/// malformed value gets Auth0's JSON error and a repeated `strategy` is a list.
#[derive(Default)]
struct ListQuery {
    page: Option<usize>,
    per_page: Option<usize>,
    include_totals: bool,
    q: Option<String>,
    name: Option<String>,
    strategies: Vec<String>,
    email: Option<String>,
}

fn query_error(field: &str, rule: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Query validation error: '{rule}' on property {field}."),
        "invalid_query_string",
    )
}

fn list_query(raw: Option<&str>) -> Result<ListQuery, Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| query_error("query", "Malformed query string"))?;
    let number = |key: &str, value: &str| {
        value
            .parse::<usize>()
            .map_err(|_| query_error(key, "Expected type integer"))
    };
    let mut query = ListQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "page" => query.page = Some(number(&key, &value)?),
            "per_page" => query.per_page = Some(number(&key, &value)?),
            "include_totals" => {
                query.include_totals = value
                    .parse()
                    .map_err(|_| query_error(&key, "Expected type boolean"))?
            }
            "q" => query.q = Some(value),
            "name" => query.name = Some(value),
            "strategy" => query.strategies.push(value),
            "email" => query.email = Some(value),
            _ => {}
        }
    }
    Ok(query)
}

/// How one list operation pages: the envelope's key, whether the envelope
/// carries `length` (only the users list does), and the smallest `per_page`.
struct Listing {
    key: &'static str,
    with_length: bool,
    min_per_page: usize,
}

const USERS: Listing = Listing {
    key: "users",
    with_length: true,
    min_per_page: 0,
};
const CLIENTS: Listing = Listing {
    key: "clients",
    with_length: false,
    min_per_page: 0,
};
const CONNECTIONS: Listing = Listing {
    key: "connections",
    with_length: false,
    min_per_page: 1,
};

/// `q` supports the Lucene forms the client uses: `email:"x"` and `user_id:"x"`.
fn matches_query(user: &Value, q: &str) -> Result<bool, Response> {
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            "Only email:\"…\" and user_id:\"…\" queries are supported",
            "invalid_query_string",
        )
    };
    let (field, value) = q.split_once(':').ok_or_else(bad)?;
    let value = value.trim().trim_matches('"');
    match field.trim() {
        "email" => Ok(user["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(value))),
        "user_id" => Ok(user["user_id"].as_str() == Some(value)),
        _ => Err(bad()),
    }
}

fn page_of(items: Vec<Value>, listing: &Listing, query: &ListQuery) -> Result<Value, Response> {
    let per_page = query.per_page.unwrap_or(50);
    if per_page < listing.min_per_page {
        return Err(query_error(
            "per_page",
            &format!("Number is less than minimum {}", listing.min_per_page),
        ));
    }
    if per_page > 100 {
        return Err(query_error(
            "per_page",
            "Number is greater than maximum 100",
        ));
    }
    let page = query.page.unwrap_or(0);
    let total = items.len();
    let chunk: Vec<Value> = items
        .into_iter()
        .skip(page * per_page)
        .take(per_page)
        .collect();
    if !query.include_totals {
        return Ok(Value::Array(chunk));
    }
    let mut envelope = json!({"start": page * per_page, "limit": per_page, "total": total});
    if listing.with_length {
        envelope["length"] = json!(chunk.len());
    }
    envelope[listing.key] = Value::Array(chunk);
    Ok(envelope)
}

/// A list answer, or the error that refused its query.
fn listed(
    raw: Option<String>,
    listing: &Listing,
    items: impl FnOnce(&ListQuery) -> Result<Vec<Value>, Response>,
) -> Response {
    let answer =
        list_query(raw.as_deref()).and_then(|query| page_of(items(&query)?, listing, &query));
    match answer {
        Ok(body) => Json(body).into_response(),
        Err(response) => response,
    }
}

async fn list_users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]) {
        return response;
    }
    let users: Vec<Value> = sim.with(|t| t.users.values().cloned().collect());
    listed(raw, &USERS, |query| {
        let mut selected = Vec::new();
        for user in users {
            let matches = match &query.q {
                Some(q) => matches_query(&user, q)?,
                None => true,
            };
            if matches {
                selected.push(user);
            }
        }
        Ok(selected)
    })
}

async fn users_by_email(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]) {
        return response;
    }
    let query = match list_query(raw.as_deref()) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(email) = query.email else {
        return error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: email'",
            "invalid_query_string",
        );
    };
    let users: Vec<Value> = sim.with(|t| {
        t.users
            .values()
            .filter(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            })
            .cloned()
            .collect()
    });
    Json(Value::Array(users)).into_response()
}

/// Auth0 user ids are `provider|id`; anything else is refused before a lookup.
fn check_user_id(id: &str) -> Result<(), Response> {
    match id.split_once('|') {
        Some((provider, local)) if !provider.is_empty() && !local.is_empty() => Ok(()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Path validation error: 'Object didn't pass validation for format user-id: {id}' on property id."
            ),
            "invalid_uri",
        )),
    }
}

/// Connection ids are `con_` and letters or digits.
fn check_connection_id(id: &str) -> Result<(), Response> {
    let well_formed = id
        .strip_prefix("con_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if well_formed {
        return Ok(());
    }
    Err(error(
        StatusCode::BAD_REQUEST,
        "Path validation error: 'String does not match pattern ^con_[A-Za-z0-9]+$' on property id.",
        "invalid_uri",
    ))
}

async fn get_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]).and(check_user_id(&id)) {
        return response;
    }
    match sim.with(|t| t.users.get(&id).cloned()) {
        Some(user) => Json(user).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "The user does not exist.",
            "inexistent_user",
        ),
    }
}

async fn create_user(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:users"]) {
        return response;
    }
    match insert_user(&sim, &headers, &body) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(response) => response,
    }
}

/// Fields that a form body carries as `true`/`false` text.
const BOOLEAN_FIELDS: &[&str] = &[
    "blocked",
    "email_verified",
    "phone_verified",
    "verify_email",
    "verify_phone_number",
];

/// A request body as an object: JSON, or a form (both are allowed for user
/// writes), whose boolean fields are read as booleans.
fn body_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Response> {
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            "Payload validation error: 'Expected type object'",
            "invalid_body",
        )
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(bad()),
        };
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| bad())?;
    Ok(pairs
        .into_iter()
        .map(|(key, text)| {
            let value = match text.as_str() {
                "true" | "false" if BOOLEAN_FIELDS.contains(&key.as_str()) => json!(text == "true"),
                _ => json!(text),
            };
            (key, value)
        })
        .collect())
}

/// The defaults Auth0 gives a new user: `name` and `nickname` from the
/// e-mail (or the phone number or username), a picture, and no logins yet.
fn profile_defaults(user: &mut Map<String, Value>) {
    let handle = ["email", "phone_number", "username"]
        .iter()
        .find_map(|field| user.get(*field).and_then(Value::as_str))
        .map(str::to_owned);
    if let Some(handle) = handle {
        let nickname = handle.split('@').next().unwrap_or(&handle).to_owned();
        let initials: String = nickname
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(2)
            .collect::<String>()
            .to_ascii_lowercase();
        let initials = if initials.is_empty() {
            "u".to_owned()
        } else {
            initials
        };
        user.entry("name").or_insert(json!(handle));
        user.entry("nickname").or_insert(json!(nickname));
        user.entry("picture").or_insert(json!(format!(
            "https://cdn.auth0.com/avatars/{initials}.png"
        )));
    }
    user.insert("logins_count".into(), json!(0));
}

fn insert_user(sim: &Simulator, headers: &HeaderMap, body: &[u8]) -> Result<Value, Response> {
    let bad = |message: &str| error(StatusCode::BAD_REQUEST, message, "invalid_body");
    let body = body_object(headers, body)?;
    let connection_name = body
        .get("connection")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Payload validation error: 'Missing required property: connection'"))?;
    let connection = sim
        .with(|t| {
            t.connections
                .iter()
                .find(|c| c.name == connection_name)
                .cloned()
        })
        .ok_or_else(|| bad("The connection does not exist."))?;
    let email = body.get("email").and_then(Value::as_str).map(str::to_owned);
    if connection.strategy == "auth0" {
        if email.is_none() {
            return Err(bad(
                "Payload validation error: 'Missing required property: email'",
            ));
        }
        if body
            .get("password")
            .and_then(Value::as_str)
            .is_none_or(|p| p.len() < 8)
        {
            return Err(bad("PasswordStrengthError: Password is too weak"));
        }
    }
    let provider = if connection.strategy == "auth0" {
        "auth0"
    } else {
        connection.strategy.as_str()
    };
    let local_id = body
        .get("user_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string()[8..].to_owned());
    let user_id = format!("{provider}|{local_id}");
    let now = now_iso();
    let mut user = Map::new();
    for field in [
        "email",
        "username",
        "phone_number",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
    ] {
        if let Some(value) = body.get(field) {
            user.insert(field.to_owned(), value.clone());
        }
    }
    user.insert("user_id".into(), json!(user_id));
    user.insert(
        "email_verified".into(),
        body.get("email_verified").cloned().unwrap_or(json!(false)),
    );
    user.insert(
        "blocked".into(),
        body.get("blocked").cloned().unwrap_or(json!(false)),
    );
    user.insert("created_at".into(), json!(now));
    user.insert("updated_at".into(), json!(now));
    user.insert(
        "identities".into(),
        json!([{"connection": connection.name, "user_id": local_id, "provider": provider, "isSocial": false}]),
    );
    user.insert(
        "app_metadata".into(),
        body.get("app_metadata").cloned().unwrap_or(json!({})),
    );
    user.insert(
        "user_metadata".into(),
        body.get("user_metadata").cloned().unwrap_or(json!({})),
    );
    profile_defaults(&mut user);
    let user = Value::Object(user);
    sim.with(|t| {
        let taken = t.users.values().any(|u| {
            u["identities"][0]["connection"] == json!(connection.name)
                && (u["user_id"] == json!(user_id)
                    || (email.is_some()
                        && u["email"].as_str().map(str::to_lowercase)
                            == email.as_deref().map(str::to_lowercase)))
        });
        if taken {
            return Err(error(
                StatusCode::CONFLICT,
                "The user already exists.",
                "auth0_idp_error",
            ));
        }
        t.users.insert(user_id.clone(), user.clone());
        if body.get("verify_email") == Some(&json!(true)) {
            t.stats.verification_emails.extend(email.clone());
        }
        Ok(user)
    })
}

/// Auth0's metadata merge: top-level keys merge, nested objects are
/// replaced, `null` deletes a key, and `{}` clears the whole object.
pub fn merge_metadata(current: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return current.clone();
    };
    if patch.is_empty() {
        return json!({});
    }
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    Value::Object(merged)
}

const PROFILE_FIELDS: &[&str] = &[
    "blocked",
    "email_verified",
    "email",
    "phone_number",
    "phone_verified",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "username",
    "password",
    "verify_email",
    "verify_phone_number",
    "connection",
    "client_id",
];

/// Length limits of `UpdateUserRequestContent`'s text fields (Management
/// API v2 schema): (field, minLength, maxLength).
const UPDATE_LENGTHS: &[(&str, usize, usize)] = &[
    ("given_name", 1, 150),
    ("family_name", 1, 150),
    ("name", 1, 300),
    ("nickname", 1, 300),
    ("username", 1, 128),
    ("password", 1, usize::MAX),
    ("connection", 1, usize::MAX),
    ("client_id", 1, usize::MAX),
];

/// The schema's rules for a PATCH body, each failure worded as Auth0 words
/// it: `'<rule>' on property <field>.`
fn check_update(patch: &Map<String, Value>) -> Result<(), String> {
    static PHONE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\+[0-9]{1,15}$").expect("valid regex"));
    static EMAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("valid regex"));
    let on = |field: &str, rule: String| format!("'{rule}' on property {field}.");
    for field in BOOLEAN_FIELDS {
        if patch.get(*field).is_some_and(|value| !value.is_boolean()) {
            return Err(on(field, "Expected type boolean".into()));
        }
    }
    for field in ["app_metadata", "user_metadata"] {
        if patch.get(field).is_some_and(|value| !value.is_object()) {
            return Err(on(field, "Expected type object".into()));
        }
    }
    for field in ["email", "phone_number", "picture"] {
        if patch
            .get(field)
            .is_some_and(|value| !value.is_string() && !value.is_null())
        {
            return Err(on(field, "Expected type string".into()));
        }
    }
    for (field, min, max) in UPDATE_LENGTHS {
        let Some(value) = patch.get(*field) else {
            continue;
        };
        let nullable = !matches!(*field, "connection" | "client_id");
        let text = match value {
            Value::String(text) => text,
            Value::Null if nullable => continue,
            _ => return Err(on(field, "Expected type string".into())),
        };
        let count = text.chars().count();
        if count < *min {
            return Err(on(
                field,
                format!("String is too short ({count} chars), minimum {min}"),
            ));
        }
        if count > *max {
            return Err(on(
                field,
                format!("String is too long ({count} chars), maximum {max}"),
            ));
        }
    }
    let text = |field: &str| patch.get(field).and_then(Value::as_str);
    if text("email").is_some_and(|email| !EMAIL.is_match(email)) {
        return Err(on(
            "email",
            "Object didn't pass validation for format email".into(),
        ));
    }
    if text("phone_number").is_some_and(|phone| !PHONE.is_match(phone)) {
        return Err(on(
            "phone_number",
            "String does not match pattern ^\\+[0-9]{1,15}$".into(),
        ));
    }
    let strict_uri = |value: &str| url::Url::parse(value).is_ok_and(|url| url.has_host());
    if text("picture").is_some_and(|picture| !strict_uri(picture)) {
        return Err(on(
            "picture",
            "Object didn't pass validation for format strict-uri".into(),
        ));
    }
    Ok(())
}

async fn patch_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let granted = match authorize(
        &sim,
        &headers,
        &["update:users", "update:users_app_metadata"],
    ) {
        Ok(granted) => granted,
        Err(response) => return response,
    };
    if let Err(response) = check_user_id(&id) {
        return response;
    }
    let patch = match body_object(&headers, &body) {
        Ok(patch) => patch,
        Err(response) => return response,
    };
    let only_app_metadata = !granted.iter().any(|g| g == "update:users");
    if only_app_metadata && patch.keys().any(|k| k != "app_metadata") {
        return error(
            StatusCode::FORBIDDEN,
            "Insufficient scope, expected any of: update:users",
            "insufficient_scope",
        );
    }
    if let Err(message) = check_update(&patch) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Payload validation error: {message}"),
            "invalid_body",
        );
    }
    let refused = sim.with(|t| {
        t.faults
            .refuse_fields
            .iter()
            .find(|field| patch.contains_key(field.as_str()))
            .cloned()
    });
    if let Some(field) = refused {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Payload validation error: 'Value refused (injected fault)' on property {field}."
            ),
            "invalid_body",
        );
    }
    sim.with(|t| {
        let Some(user) = t.users.get_mut(&id) else {
            return error(
                StatusCode::NOT_FOUND,
                "The user does not exist.",
                "inexistent_user",
            );
        };
        for (key, value) in &patch {
            match key.as_str() {
                "app_metadata" | "user_metadata" => {
                    user[key.as_str()] = merge_metadata(&user[key.as_str()], value)
                }
                "password"
                | "verify_email"
                | "verify_phone_number"
                | "connection"
                | "client_id" => {}
                // The schema allows other properties; Auth0 does not store them.
                _ if !PROFILE_FIELDS.contains(&key.as_str()) => {}
                _ if value.is_null() => {
                    user.as_object_mut().expect("a user object").remove(key);
                }
                _ => user[key.as_str()] = value.clone(),
            }
        }
        user["updated_at"] = json!(now_iso());
        Json(user.clone()).into_response()
    })
}

async fn delete_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["delete:users"]).and(check_user_id(&id)) {
        return response;
    }
    sim.with(|t| t.users.remove(&id));
    StatusCode::NO_CONTENT.into_response()
}

// --- clients and connections -------------------------------------------------------

async fn list_clients(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:clients"]) {
        return response;
    }
    let clients: Vec<Value> = sim.with(|t| {
        t.clients
            .iter()
            .map(|c| json!({"client_id": c.client_id, "name": c.name, "app_type": "non_interactive", "client_metadata": c.client_metadata}))
            .collect()
    });
    listed(raw, &CLIENTS, |_| Ok(clients))
}

/// A connection as the list shows it (`ConnectionForList`).
fn connection_json(c: &Connection) -> Value {
    json!({"id": c.id, "name": c.name, "strategy": c.strategy})
}

/// A connection as `GET /connections/{id}` shows it, with its clients.
fn connection_detail(c: &Connection) -> Value {
    let mut detail = connection_json(c);
    detail["enabled_clients"] = json!([]);
    detail
}

async fn list_connections(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:connections"]) {
        return response;
    }
    let connections: Vec<Connection> = sim.with(|t| t.connections.clone());
    listed(raw, &CONNECTIONS, |query| {
        Ok(connections
            .iter()
            .filter(|c| query.name.as_ref().is_none_or(|n| *n == c.name))
            .filter(|c| query.strategies.is_empty() || query.strategies.contains(&c.strategy))
            .map(connection_json)
            .collect())
    })
}

async fn get_connection(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) =
        authorize(&sim, &headers, &["read:connections"]).and(check_connection_id(&id))
    {
        return response;
    }
    match sim.with(|t| {
        t.connections
            .iter()
            .find(|c| c.id == id)
            .map(connection_detail)
    }) {
        Some(connection) => Json(connection).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "The connection does not exist",
            "inexistent_connection",
        ),
    }
}

// --- control API ------------------------------------------------------------------

#[derive(Deserialize)]
struct SeedClient {
    client_id: String,
    client_secret: String,
    name: Option<String>,
    scopes: Option<Vec<String>>,
    client_metadata: Option<Value>,
}

async fn seed_client(State(sim): State<Simulator>, Json(seed): Json<SeedClient>) -> Response {
    let client = Client {
        name: seed.name.unwrap_or_else(|| seed.client_id.clone()),
        client_id: seed.client_id,
        client_secret: seed.client_secret,
        scopes: seed.scopes.unwrap_or_default(),
        client_metadata: seed.client_metadata.unwrap_or(json!({})),
    };
    sim.with(|t| {
        t.clients.retain(|c| c.client_id != client.client_id);
        t.clients.push(client);
    });
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct SeedConnection {
    id: Option<String>,
    name: String,
    strategy: Option<String>,
}

async fn seed_connection(
    State(sim): State<Simulator>,
    Json(seed): Json<SeedConnection>,
) -> Response {
    let connection = Connection {
        id: seed
            .id
            .unwrap_or_else(|| format!("con_{}", &uuid::Uuid::now_v7().simple().to_string()[16..])),
        name: seed.name,
        strategy: seed.strategy.unwrap_or_else(|| "auth0".to_owned()),
    };
    let body = connection_json(&connection);
    sim.with(|t| {
        t.connections.retain(|c| c.name != connection.name);
        t.connections.push(connection);
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn seed_user(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    match insert_user(&sim, &headers, &body) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct FaultsBody {
    /// Delay added to every token and Management request.
    latency_ms: Option<u64>,
    /// Answer every token and Management request with `fail_status` (503 by
    /// default) for this long.
    fail_for_ms: Option<u64>,
    fail_status: Option<u16>,
    /// Limit `fail_for_ms` to requests with these methods, e.g. `["PATCH"]`.
    fail_methods: Option<Vec<String>>,
    /// Answer the next N Management requests with 429.
    burst_429: Option<u32>,
    /// Carry out requests on these routes (e.g. `"POST /api/v2/users"`) but
    /// answer them `late_answer_ms` later, at most `late_answers` times.
    late_routes: Option<Vec<String>>,
    late_answer_ms: Option<u64>,
    late_answers: Option<u32>,
    /// Refuse (400) every PATCH of a user that sets one of these fields.
    refuse_fields: Option<Vec<String>>,
}

async fn set_faults(State(sim): State<Simulator>, Json(body): Json<FaultsBody>) -> Response {
    sim.with(|t| {
        t.faults = Faults {
            latency: Duration::from_millis(body.latency_ms.unwrap_or(0)),
            fail_until: body
                .fail_for_ms
                .filter(|ms| *ms > 0)
                .map(|ms| Instant::now() + Duration::from_millis(ms)),
            fail_status: body.fail_status.unwrap_or(503),
            fail_methods: body
                .fail_methods
                .unwrap_or_default()
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            burst_429: body.burst_429.unwrap_or(0),
            late_routes: body.late_routes.unwrap_or_default(),
            late_answer: Duration::from_millis(body.late_answer_ms.unwrap_or(0)),
            late_answers: body.late_answers,
            refuse_fields: body.refuse_fields.unwrap_or_default(),
        }
    });
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct RateLimitBody {
    per_second: u32,
}

async fn set_rate_limit(State(sim): State<Simulator>, Json(body): Json<RateLimitBody>) -> Response {
    sim.with(|t| t.rate_limit = body.per_second);
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): State<Simulator>) -> Json<Value> {
    sim.with(|t| Json(json!({"requests": t.stats.requests, "rateLimited": t.stats.rate_limited, "users": t.users.len(),
        "verificationEmails": t.stats.verification_emails, "overlappingPatches": t.stats.overlapping_patches})))
}

/// Serves a simulator on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    rate_limit: u32,
) -> std::io::Result<Simulator> {
    let base = format!("http://{}", listener.local_addr()?);
    let sim = Simulator::new(&base, rate_limit);
    let app = sim.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(sim)
}

impl Simulator {
    pub fn base_url(&self) -> String {
        self.with(|t| t.base_url.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_merge_follows_auth0() {
        let current = json!({"a": 1, "nested": {"x": 1, "y": 2}, "gone": true});
        let merged = merge_metadata(&current, &json!({"b": 2, "nested": {"x": 9}, "gone": null}));
        assert_eq!(merged, json!({"a": 1, "b": 2, "nested": {"x": 9}}));
        assert_eq!(merge_metadata(&current, &json!({})), json!({}));
    }

    #[test]
    fn statistics_group_user_ids() {
        assert_eq!(route_name("/api/v2/users/auth0|abc"), "/api/v2/users/{id}");
        assert_eq!(route_name("/api/v2/users"), "/api/v2/users");
    }
}
