//! `GET /api/v2/connections`, `GET /api/v2/connections/{id}`, and the
//! clients enabled on a connection (`GET`/`PATCH …/{id}/clients`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::{error, invalid_body};
use crate::listing::{listed, Listing};
use crate::middleware::auth::authorize;
use crate::middleware::validation::{check_connection_id, json_body};
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
    detail["enabled_clients"] = json!(c.enabled_clients);
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

fn no_connection() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The connection does not exist",
        "inexistent_connection",
    )
}

/// `take` (1 to 1000, 50 by default) and `from` (a checkpoint: here the
/// position of the next client) of `GET …/{id}/clients`.
fn page_options(raw: Option<&str>) -> Result<(usize, usize), Response> {
    let bad = |field: &str, rule: &str| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("Query validation error: '{rule}' on property {field}."),
            "invalid_query_string",
        )
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| bad("query", "Malformed query string"))?;
    let (mut take, mut from) = (50, 0);
    for (key, value) in pairs {
        match key.as_str() {
            "take" => match value.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => take = n,
                _ => return Err(bad("take", "Expected an integer from 1 to 1000")),
            },
            "from" => {
                from = value
                    .parse()
                    .map_err(|_| bad("from", "Invalid checkpoint"))?
            }
            _ => {}
        }
    }
    Ok((take, from))
}

pub(crate) async fn get_connection_clients(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) =
        authorize(&sim, &headers, &["read:connections"]).and(check_connection_id(&id))
    {
        return response;
    }
    let (take, from) = match page_options(raw.as_deref()) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let Some(enabled) = sim.with(|t| {
        t.connections
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.enabled_clients.clone())
    }) else {
        return no_connection();
    };
    let page: Vec<Value> = enabled
        .iter()
        .skip(from)
        .take(take)
        .map(|client_id| json!({"client_id": client_id}))
        .collect();
    let mut answer = json!({"clients": page});
    if from + take < enabled.len() {
        answer["next"] = json!((from + take).to_string());
    }
    Json(answer).into_response()
}

/// `PATCH …/{id}/clients`: `[{client_id, status}]`, each client enabled
/// (`true`) or disabled on the connection.
pub(crate) async fn patch_connection_clients(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(response) =
        authorize(&sim, &headers, &["update:connections"]).and(check_connection_id(&id))
    {
        return response;
    }
    let items = match json_body(&body) {
        Ok(Value::Array(items)) if !items.is_empty() => items,
        Ok(Value::Array(_)) => return invalid_body("'Array is too short (0), minimum 1'"),
        _ => return invalid_body("'Expected type array'"),
    };
    let mut changes = Vec::new();
    for item in &items {
        let Some(object) = item.as_object() else {
            return invalid_body("'Expected type object' on property items.");
        };
        if let Some(extra) = object.keys().find(|k| *k != "client_id" && *k != "status") {
            return invalid_body(&format!("'Additional properties not allowed: {extra}'"));
        }
        match (object.get("client_id"), object.get("status")) {
            (Some(Value::String(client)), Some(Value::Bool(status))) => {
                changes.push((client.clone(), *status))
            }
            _ => {
                return invalid_body(
                    "'Missing required property: client_id or status, or of the wrong type'",
                )
            }
        }
    }
    let outcome = sim.with(|t| {
        if let Some((client, _)) = changes
            .iter()
            .find(|(client, _)| !t.clients.iter().any(|c| c.client_id == *client))
        {
            return Err(error(
                StatusCode::NOT_FOUND,
                &format!("The client {client} does not exist"),
                "inexistent_client",
            ));
        }
        let connection = t
            .connections
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(no_connection)?;
        for (client, status) in changes {
            connection.enabled_clients.retain(|c| *c != client);
            if status {
                connection.enabled_clients.push(client);
            }
        }
        Ok(())
    });
    match outcome {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}
