//! The list operations' query parameters and their offset paging, with and
//! without the `include_totals` envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::error;

/// The query parameters of the list operations, read by hand so that a
/// malformed value gets Auth0's JSON error and a repeated `strategy` is a list.
#[derive(Default)]
pub(crate) struct ListQuery {
    pub(crate) page: Option<usize>,
    pub(crate) per_page: Option<usize>,
    pub(crate) include_totals: bool,
    pub(crate) q: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) strategies: Vec<String>,
    pub(crate) email: Option<String>,
}

fn query_error(field: &str, rule: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Query validation error: '{rule}' on property {field}."),
        "invalid_query_string",
    )
}

pub(crate) fn list_query(raw: Option<&str>) -> Result<ListQuery, Response> {
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
pub(crate) struct Listing {
    pub(crate) key: &'static str,
    pub(crate) with_length: bool,
    pub(crate) min_per_page: usize,
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
pub(crate) fn listed(
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
