//! The control API (`/__sim/…`), for tests and development: seeds clients,
//! connections and users, sets faults and the rate limit, reports statistics.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::connections::connection_json;
use crate::middleware::faults::Faults;
use crate::state::{Connection, EmailKind, DEFAULT_PASSWORD_MIN_LENGTH};
use crate::users::insert_user;
use crate::{Client, Simulator};

#[derive(Deserialize)]
pub(crate) struct SeedClient {
    client_id: String,
    client_secret: String,
    name: Option<String>,
    scopes: Option<Vec<String>>,
    client_metadata: Option<Value>,
    /// Other Auth0 settings of the application (`app_type`, `callbacks`, …).
    #[serde(flatten)]
    settings: serde_json::Map<String, Value>,
}

pub(crate) async fn seed_client(
    State(sim): State<Simulator>,
    Json(seed): Json<SeedClient>,
) -> Response {
    let client = Client {
        name: seed.name.unwrap_or_else(|| seed.client_id.clone()),
        client_id: seed.client_id,
        client_secret: seed.client_secret,
        scopes: seed.scopes.unwrap_or_default(),
        client_metadata: seed.client_metadata.unwrap_or(json!({})),
        settings: seed.settings,
    };
    sim.with(|t| {
        t.clients.retain(|c| c.client_id != client.client_id);
        t.clients.push(client);
    });
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub(crate) struct SeedConnection {
    id: Option<String>,
    name: String,
    strategy: Option<String>,
    /// The shortest password a database connection allows (8 by default).
    password_min_length: Option<usize>,
    /// The clients enabled on the connection (the default client only, by
    /// default).
    enabled_clients: Option<Vec<String>>,
}

pub(crate) async fn seed_connection(
    State(sim): State<Simulator>,
    Json(seed): Json<SeedConnection>,
) -> Response {
    let connection = Connection {
        id: seed
            .id
            .unwrap_or_else(|| format!("con_{}", &uuid::Uuid::now_v7().simple().to_string()[16..])),
        name: seed.name,
        strategy: seed.strategy.unwrap_or_else(|| "auth0".to_owned()),
        password_min_length: seed
            .password_min_length
            .unwrap_or(DEFAULT_PASSWORD_MIN_LENGTH),
        enabled_clients: seed
            .enabled_clients
            .unwrap_or_else(|| vec![crate::DEFAULT_CLIENT_ID.to_owned()]),
    };
    let body = connection_json(&connection);
    sim.with(|t| {
        t.connections.retain(|c| c.name != connection.name);
        t.connections.push(connection);
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

pub(crate) async fn seed_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match insert_user(&sim, &headers, &body) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub(crate) struct FaultsBody {
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

pub(crate) async fn set_faults(
    State(sim): State<Simulator>,
    Json(body): Json<FaultsBody>,
) -> Response {
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
pub(crate) struct RateLimitBody {
    per_second: u32,
}

pub(crate) async fn set_rate_limit(
    State(sim): State<Simulator>,
    Json(body): Json<RateLimitBody>,
) -> Response {
    sim.with(|t| t.rate_limit = body.per_second);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn stats(State(sim): State<Simulator>) -> Json<Value> {
    sim.with(|t| Json(json!({"requests": t.stats.requests, "rateLimited": t.stats.rate_limited, "users": t.users.len(),
        "verificationEmails": t.emails.iter().filter(|e| e.kind == EmailKind::VerifyEmail).map(|e| e.to.clone()).collect::<Vec<_>>(), "overlappingPatches": t.stats.overlapping_patches,
        "traceparents": t.stats.traceparents,
        "logDeliveries": t.stats.log_deliveries.iter().map(|(id, (accepted, failed))| (id.clone(), json!({"accepted": accepted, "failed": failed}))).collect::<serde_json::Map<String, Value>>()})))
}

#[derive(Deserialize)]
pub(crate) struct ClockBody {
    advance_seconds: u64,
}

/// Moves the tenant's clock forward (authorization codes expire by it).
pub(crate) async fn advance_clock(
    State(sim): State<Simulator>,
    Json(body): Json<ClockBody>,
) -> Response {
    sim.with(|t| t.clock_offset += body.advance_seconds);
    StatusCode::NO_CONTENT.into_response()
}
