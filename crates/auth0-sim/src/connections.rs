//! `GET /api/v2/connections` and `GET /api/v2/connections/{id}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::error;
use crate::listing::{listed, Listing};
use crate::middleware::auth::authorize;
use crate::middleware::validation::check_connection_id;
use crate::state::Connection;
use crate::Simulator;

const CONNECTIONS: Listing = Listing {
    key: "connections",
    with_length: false,
    min_per_page: 1,
};

/// A connection as the list shows it (`ConnectionForList`).
pub(crate) fn connection_json(c: &Connection) -> Value {
    json!({"id": c.id, "name": c.name, "strategy": c.strategy})
}

/// A connection as `GET /connections/{id}` shows it, with its clients.
fn connection_detail(c: &Connection) -> Value {
    let mut detail = connection_json(c);
    detail["enabled_clients"] = json!([]);
    detail
}

pub(crate) async fn list_connections(
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

pub(crate) async fn get_connection(
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
