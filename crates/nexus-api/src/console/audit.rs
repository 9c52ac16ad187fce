//! The audit trail in the console: the whole trail, newest first, and the
//! history of one user or organization on its page.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::api::Problem;
use super::view::{self, encode, text, Page};
use super::{pages, Console, Signed, AUDIT};

pub(super) fn routes() -> Router<Console> {
    Router::new().route(AUDIT, get(trail))
}

/// Events shown per page.
const PAGE_SIZE: u32 = 50;

#[derive(Deserialize, Default)]
struct TrailQuery {
    page: Option<String>,
}

async fn trail(
    State(console): State<Console>,
    signed: Signed,
    Query(query): Query<TrailQuery>,
) -> Response {
    let mut path = format!("/v1/audit-events?$top={PAGE_SIZE}&$orderby=time%20desc");
    if let Some(token) = query.page.as_deref().filter(|t| !t.is_empty()) {
        path.push_str(&format!("&$skiptoken={}", encode(token)));
    }
    let found = console.api.get::<Page<Value>>(&signed.caller, &path).await;
    let page = pages::layout(
        "Audit trail",
        Some(&signed.frame()),
        html! {
            h1 { "Audit trail" }
            (events(&found, true))
            @if let Ok(page) = &found {
                @if let Some(token) = page.next_token() {
                    p { a rel="next" href={ (AUDIT) "?page=" (encode(&token)) } { "Older events" } }
                }
            }
        },
    );
    (view::status_of(found.as_ref().err()), page).into_response()
}

/// The latest events of one resource, as a section of its page; nothing for
/// a session without `audit.read`.
pub(super) async fn history(
    console: &Console,
    signed: &Signed,
    resource_type: &str,
    resource_id: &str,
) -> Markup {
    if !signed.allows("audit.read") {
        return Markup::default();
    }
    let filter = format!(
        "resourceType eq '{}' and resourceId eq '{}'",
        quoted(resource_type),
        quoted(resource_id)
    );
    let path = format!(
        "/v1/audit-events?$top=20&$orderby=time%20desc&$filter={}",
        encode(&filter)
    );
    let found = console.api.get::<Page<Value>>(&signed.caller, &path).await;
    html! {
        section aria-labelledby="history" {
            h2 #history { "History" }
            (events(&found, false))
        }
    }
}

/// A value inside an OData string literal.
fn quoted(value: &str) -> String {
    value.replace('\'', "''")
}

fn events(found: &Result<Page<Value>, Problem>, with_resource: bool) -> Markup {
    match found {
        Err(problem) => pages::problem(problem),
        Ok(page) if page.value.is_empty() => html! { p { "No events." } },
        Ok(page) => html! {
            table.events {
                thead { tr {
                    th scope="col" { "Time" } th scope="col" { "Actor" } th scope="col" { "Operation" }
                    @if with_resource { th scope="col" { "Resource" } }
                    th scope="col" { "Outcome" } th scope="col" { "Changes" }
                } }
                tbody {
                    @for event in &page.value {
                        tr {
                            td { (text(event, "time")) }
                            td { (text(event, "actor")) " (" (text(event, "actorType")) ")" }
                            td { (text(event, "operation")) }
                            @if with_resource { td { (text(event, "resourceType")) " " code { (text(event, "resourceId")) } } }
                            td { (text(event, "outcome")) }
                            td { (changes(&event["changes"])) }
                        }
                    }
                }
            }
        },
    }
}

/// The fields an event changed, each before → after.
fn changes(changes: &Value) -> Markup {
    let Some(fields) = changes.as_object().filter(|f| !f.is_empty()) else {
        return html! { "—" };
    };
    html! {
        ul.changes {
            @for (field, change) in fields {
                li { code { (field) } ": " (short(&change["before"])) " → " (short(&change["after"])) }
            }
        }
    }
}

/// A changed value, cut short when long.
fn short(value: &Value) -> String {
    let text = match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}
