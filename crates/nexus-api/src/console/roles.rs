//! The console's roles: the list, and a role's page with its permissions
//! and the connection maps that give it to members of IdP groups.

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Problem;
use super::view::{self, encode, filled, text, Page};
use super::{pages, Console, CsrfField, Posted, Signed, ROLES};

pub(super) fn routes() -> Router<Console> {
    Router::new()
        .route(ROLES, get(list))
        .route("/console/roles/{role_id}", get(show))
        .route("/console/roles/{role_id}/maps", post(add_map))
        .route(
            "/console/roles/{role_id}/maps/{map_id}/delete",
            post(delete_map),
        )
}

#[derive(Deserialize, Default)]
struct ListQuery {
    page: Option<String>,
}

async fn list(
    State(console): State<Console>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut path = "/v1/roles?$top=50".to_owned();
    if let Some(token) = query.page.as_deref().filter(|t| !t.is_empty()) {
        path.push_str(&format!("&$skiptoken={}", encode(token)));
    }
    let found = console.api.get::<Page<Value>>(&signed.caller, &path).await;
    let page = pages::layout(
        "Roles",
        Some(&signed.frame()),
        html! {
            h1 { "Roles" }
            @match &found {
                Err(problem) => (pages::problem(problem)),
                Ok(page) if page.value.is_empty() => p { "No roles." },
                Ok(page) => {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Audience" } th scope="col" { "Description" } } }
                        tbody {
                            @for role in &page.value {
                                tr {
                                    td { a href={ (ROLES) "/" (encode(&text(role, "id"))) } { (text(role, "name")) } }
                                    td { (text(role, "audience")) }
                                    td { (text(role, "description")) }
                                }
                            }
                        }
                    }
                    @if let Some(token) = page.next_token() {
                        p { a rel="next" href={ (ROLES) "?page=" (encode(&token)) } { "Next page" } }
                    }
                }
            }
        },
    );
    (view::status_of(found.as_ref().err()), page).into_response()
}

const CONFIRMATIONS: &[(&str, &str)] = &[
    ("map-added", "The connection map is added."),
    ("map-deleted", "The connection map is deleted."),
];

async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(role_id): Path<String>,
    Query(query): Query<view::Done>,
) -> Response {
    role_page(&console, &signed, &role_id, query.done.as_deref(), None).await
}

async fn role_page(
    console: &Console,
    signed: &Signed,
    role_id: &str,
    done: Option<&str>,
    refused: Option<Problem>,
) -> Response {
    let api = format!("/v1/roles/{}", encode(role_id));
    let role = match console.api.get::<Value>(&signed.caller, &api).await {
        Ok(role) => role,
        Err(problem) => return view::problem_page(signed, &problem, (ROLES, "Back to the roles")),
    };
    let maps = console
        .api
        .get::<Page<Value>>(&signed.caller, &format!("{api}/connection-maps"))
        .await;
    let page_path = format!("{ROLES}/{}", encode(role_id));
    let can_write = signed.allows("role.write");
    let name = text(&role, "name");
    let page = pages::layout(
        &name,
        Some(&signed.frame()),
        html! {
            h1 { "Role " (name) }
            (view::confirmation(done, CONFIRMATIONS).unwrap_or_default())
            @if let Some(problem) = &refused { (pages::problem(problem)) }
            dl {
                dt { "Id" } dd { code { (text(&role, "id")) } }
                dt { "Audience" } dd { (text(&role, "audience")) }
                dt { "Description" } dd { (text(&role, "description")) }
            }
            section aria-labelledby="permissions" {
                h2 #permissions { "Permissions" }
                @match role["permissions"].as_array().filter(|p| !p.is_empty()) {
                    None => p { "None." },
                    Some(permissions) => ul.permissions {
                        @for permission in permissions { li { (text(permission, "code")) } }
                    },
                }
            }
            section aria-labelledby="maps" {
                h2 #maps { "Connection maps" }
                p { "Members of these IdP groups, signing in through these connections, hold the role." }
                @match &maps {
                    Err(problem) => (pages::problem(problem)),
                    Ok(page) if page.value.is_empty() => p { "None." },
                    Ok(page) => table {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Group" } th scope="col" { "Connection" }
                            @if can_write { th scope="col" { span.visually-hidden { "Actions" } } }
                        } }
                        tbody {
                            @for map in &page.value {
                                tr {
                                    td { (text(map, "name")) }
                                    td { (text(map, "groupName")) }
                                    td { (text(map, "azoConnectionId")) }
                                    @if can_write {
                                        td { (view::button(signed, &format!("{page_path}/maps/{}/delete", encode(&text(map, "id"))), "Delete", &format!("Delete the map of group {}", text(map, "groupName")))) }
                                    }
                                }
                            }
                        }
                    },
                }
                @if can_write {
                    @let path = format!("{page_path}/maps");
                    details {
                        summary { "Add a connection map" }
                        form.stacked method="post" action=(path) {
                            (view::csrf_field(signed, &path))
                            label for="map-group" { "IdP group name" input #map-group type="text" name="groupName" required; }
                            label for="map-connection" { "Auth0 connection id" input #map-connection type="text" name="azoConnectionId" required; }
                            label for="map-name" { "Name (optional)" input #map-name type="text" name="name"; }
                            button type="submit" { "Add the map" }
                        }
                    }
                }
            }
        },
    );
    (view::status_of(refused.as_ref()), page).into_response()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MapForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    group_name: Option<String>,
    azo_connection_id: Option<String>,
}

async fn add_map(
    State(console): State<Console>,
    Path(role_id): Path<String>,
    Posted { signed, form }: Posted<MapForm>,
) -> Response {
    let role = encode(&role_id);
    let mut body = json!({
        "groupName": form.group_name.as_deref().unwrap_or("").trim(),
        "azoConnectionId": form.azo_connection_id.as_deref().unwrap_or("").trim(),
    });
    if let Some(name) = filled(&form.name) {
        body["name"] = json!(name);
    }
    let call = (
        Method::POST,
        format!("/v1/roles/{role}/connection-maps"),
        Some(body),
    );
    finish(&console, &signed, &role_id, call, "map-added").await
}

async fn delete_map(
    State(console): State<Console>,
    Path((role_id, map_id)): Path<(String, String)>,
    Posted { signed, .. }: Posted<MapForm>,
) -> Response {
    let (role, map) = (encode(&role_id), encode(&map_id));
    let call = (
        Method::DELETE,
        format!("/v1/roles/{role}/connection-maps/{map}"),
        None,
    );
    finish(&console, &signed, &role_id, call, "map-deleted").await
}

async fn finish(
    console: &Console,
    signed: &Signed,
    role_id: &str,
    call: (Method, String, Option<Value>),
    done: &str,
) -> Response {
    let page = format!("{ROLES}/{}", encode(role_id));
    match view::act(console, signed, call, &page, done).await {
        Ok(redirect) => redirect,
        Err(problem) => role_page(console, signed, role_id, None, Some(problem)).await,
    }
}

impl CsrfField for MapForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}
