//! `GET /api/v2/clients`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use crate::listing::{listed, Listing};
use crate::middleware::auth::authorize;
use crate::Simulator;

const CLIENTS: Listing = Listing {
    key: "clients",
    with_length: false,
    min_per_page: 0,
};

pub(crate) async fn list_clients(
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
