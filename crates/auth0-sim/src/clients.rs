//! Applications: `GET` and `POST /api/v2/clients`, `GET /api/v2/clients/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{error, invalid_body};
use crate::listing::{listed, Listing};
use crate::middleware::auth::authorize;
use crate::middleware::validation::body_object;
use crate::{Client, Simulator};

const CLIENTS: Listing = Listing {
    key: "clients",
    with_length: false,
    min_per_page: 0,
};

/// The settings a create may give (`CreateClientRequestContent`'s
/// properties that the simulator keeps); others are refused.
const SETTINGS: &[&str] = &[
    "description",
    "app_type",
    "logo_uri",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "allowed_origins",
    "grant_types",
    "token_endpoint_auth_method",
    "cross_origin_authentication",
    "mobile",
    "jwt_configuration",
    "refresh_token",
    "is_first_party",
];

/// A client as Auth0 shows it; its secret only to a token holding
/// `read:client_keys` (or on create).
fn client_json(c: &Client, with_secret: bool) -> Value {
    let mut client = json!({"client_id": c.client_id, "name": c.name, "app_type": "non_interactive",
        "client_metadata": c.client_metadata});
    for (key, value) in &c.settings {
        client[key] = value.clone();
    }
    if with_secret {
        client["client_secret"] = json!(c.client_secret);
    }
    client
}

/// `fields` and `include_fields`: the properties kept (or left out).
fn shown(client: Value, fields: Option<&[String]>, include: bool) -> Value {
    let (Some(fields), Value::Object(object)) = (fields, &client) else {
        return client;
    };
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| fields.contains(key) == include)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Value::Object(kept)
}

/// `fields` and `include_fields` of the query.
fn field_options(raw: Option<&str>) -> Result<(Option<Vec<String>>, bool), Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| invalid_query("query", "Malformed query string"))?;
    let mut fields = None;
    let mut include = true;
    for (key, value) in pairs {
        match key.as_str() {
            "fields" => fields = Some(value.split(',').map(str::to_owned).collect()),
            "include_fields" => {
                include = value
                    .parse()
                    .map_err(|_| invalid_query(&key, "Expected type boolean"))?
            }
            _ => {}
        }
    }
    Ok((fields, include))
}

fn invalid_query(field: &str, rule: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Query validation error: '{rule}' on property {field}."),
        "invalid_query_string",
    )
}

/// What a read of clients may show: the secret (with `read:client_keys`),
/// and the `fields`/`include_fields` it asks for.
fn read_options(
    sim: &Simulator,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<(bool, Option<Vec<String>>, bool), Response> {
    let granted = authorize(sim, headers, &["read:clients"])?;
    let (fields, include) = field_options(raw)?;
    Ok((
        granted.iter().any(|s| s == "read:client_keys"),
        fields,
        include,
    ))
}

pub(crate) async fn list_clients(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (with_secret, fields, include) = match read_options(&sim, &headers, raw.as_deref()) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let clients: Vec<Value> = sim.with(|t| {
        t.clients
            .iter()
            .map(|c| shown(client_json(c, with_secret), fields.as_deref(), include))
            .collect()
    });
    listed(raw, &CLIENTS, |_| Ok(clients))
}

pub(crate) async fn get_client(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (with_secret, fields, include) = match read_options(&sim, &headers, raw.as_deref()) {
        Ok(options) => options,
        Err(response) => return response,
    };
    match sim.with(|t| t.clients.iter().find(|c| c.client_id == id).cloned()) {
        Some(client) => Json(shown(
            client_json(&client, with_secret),
            fields.as_deref(),
            include,
        ))
        .into_response(),
        None => no_client(),
    }
}

pub(crate) fn no_client() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The client does not exist",
        "inexistent_client",
    )
}

/// `POST /api/v2/clients`: a new application with generated credentials,
/// enabled on no connection; the answer shows its secret.
pub(crate) async fn create_client(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:clients"]) {
        return response;
    }
    let mut body = match body_object(&headers, &body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let name = match body.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        Some(_) => {
            return invalid_body("'String is too short (0 chars), minimum 1' on property name.")
        }
        None => return invalid_body("'Missing required property: name' on property name."),
    };
    let client_metadata =
        match body.remove("client_metadata") {
            None => json!({}),
            Some(Value::Object(metadata)) if metadata.len() <= 10 => Value::Object(metadata),
            Some(_) => return invalid_body(
                "'Expected type object with at most 10 properties' on property client_metadata.",
            ),
        };
    if let Some(extra) = body.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
        return invalid_body(&format!("'Additional properties not allowed: {extra}'"));
    }
    let client = Client {
        client_id: random_text(32),
        client_secret: random_text(64),
        name,
        scopes: Vec::new(),
        client_metadata,
        settings: body,
    };
    let answer = client_json(&client, true);
    sim.with(|t| t.clients.push(client));
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// Letters and digits, as Auth0's client ids and secrets.
fn random_text(length: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
