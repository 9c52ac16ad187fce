//! The console's users: search and lists, a user's page, and the actions
//! on a user, each made through the API as the signed-in session.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use nexus_service::roles::RoleSource;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Problem;
use super::view::{self, encode, filled, Page};
use super::{pages, Console, CsrfField, Posted, Signed, ORGANIZATIONS, USERS};

pub(super) fn routes() -> Router<Console> {
    Router::new()
        .route(USERS, get(list))
        .route("/console/users/results", get(results))
        .route("/console/users/{user_id}", get(show))
        .route("/console/users/{user_id}/{action}", post(act))
        .route(
            "/console/users/{user_id}/{collection}/{item}/{action}",
            post(act_on_item),
        )
}

/// Users shown per page of a list.
const PAGE_SIZE: u32 = 25;

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    /// The API's `$skiptoken` of the page to show.
    #[serde(default)]
    page: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserRow {
    id: String,
    display_name: String,
    email_address: Option<String>,
    is_active: bool,
}

/// The API list path for a query: `$search` over the users' names and
/// addresses, the page's `$skiptoken`.
fn list_path(query: &ListQuery) -> String {
    let mut path = format!("/v1/users?$top={PAGE_SIZE}&$orderby=displayName");
    let search = query.q.trim();
    if !search.is_empty() {
        path.push_str("&$search=");
        path.push_str(&encode(search));
    }
    if let Some(token) = query.page.as_deref().filter(|t| !t.is_empty()) {
        path.push_str("&$skiptoken=");
        path.push_str(&encode(token));
    }
    path
}

async fn list(
    State(console): State<Console>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let (status, results) = search(&console, &signed, &query).await;
    let page = pages::layout(
        "Users",
        Some(&signed.frame()),
        html! {
            h1 { "Users" }
            form.search role="search" method="get" action=(USERS) {
                label for="user-search" { "Search by name, email address or user name" }
                input #user-search type="search" name="q" value=(query.q)
                    autocomplete="off" data-results="user-results"
                    data-source="/console/users/results";
                button type="submit" { "Search" }
            }
            div #user-results aria-live="polite" { (results) }
        },
    );
    (status, page).into_response()
}

/// The results alone, for search as you type.
async fn results(
    State(console): State<Console>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    search(&console, &signed, &query).await.into_response()
}

/// One page of the users the query finds, as a table (or the problem).
async fn search(console: &Console, signed: &Signed, query: &ListQuery) -> (StatusCode, Markup) {
    let found = console
        .api
        .get::<Page<UserRow>>(&signed.caller, &list_path(query))
        .await;
    let status = found.as_ref().err().map_or(StatusCode::OK, |p| p.status);
    (status, results_fragment(query, &found))
}

fn results_fragment(query: &ListQuery, found: &Result<Page<UserRow>, Problem>) -> Markup {
    match found {
        Err(problem) => pages::problem(problem),
        Ok(page) if page.value.is_empty() => html! { p { "No user matches." } },
        Ok(page) => html! {
            table.users {
                caption.visually-hidden { "Users" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Email address" } th scope="col" { "State" } } }
                tbody {
                    @for user in &page.value {
                        tr {
                            td { a href={ (USERS) "/" (user.id) } { (user.display_name) } }
                            td { (user.email_address.as_deref().unwrap_or("—")) }
                            td { @if user.is_active { "active" } @else { "blocked" } }
                        }
                    }
                }
            }
            @if let Some(token) = page.next_token() {
                p {
                    a rel="next" href={ (USERS) "?q=" (encode(query.q.trim())) "&page=" (encode(&token)) } { "Next page" }
                }
            }
        },
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    display_name: String,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    username: Option<String>,
    email_address: Option<String>,
    #[serde(rename = "email-verified")]
    email_verified: bool,
    phone_number: Option<String>,
    is_active: bool,
    created: String,
    modified: String,
    roles: Vec<UserRole>,
    member_of: Vec<Membership>,
    attributes: Vec<Attribute>,
    custom_upns: Vec<CustomUpn>,
    identities: Vec<Identity>,
}

#[derive(Deserialize)]
struct UserRole {
    id: String,
    name: String,
}

/// A role the user holds, one way it holds it, and until when.
type HeldRole = (String, RoleSource, Option<nexus_core::Timestamp>);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    organization_id: Option<i32>,
    organization_display_name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    is_guest: bool,
}

#[derive(Deserialize)]
struct Attribute {
    name: String,
    value: String,
    expires: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomUpn {
    id: String,
    client_upn_key: Option<String>,
    custom_upn_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    idp_tenant_id: i32,
    idp_tenant_name: String,
    azo_user_id: String,
    azo_connection_id: String,
    strategy: String,
    groups: Vec<Group>,
    missing_in_auth0_since: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "groupName")]
    name: String,
}

#[derive(Deserialize)]
struct RoleOption {
    id: String,
    name: String,
}

/// The confirmations an action's redirect may ask for: a fixed set, so no
/// text of the URL is shown.
const CONFIRMATIONS: &[(&str, &str)] = &[
    ("profile", "The profile is saved."),
    ("blocked", "The user is blocked."),
    ("unblocked", "The user is unblocked."),
    ("upn-added", "The custom UPN is added."),
    ("upn-changed", "The custom UPN is changed."),
    ("upn-deleted", "The custom UPN is deleted."),
    ("role-assigned", "The role is assigned."),
    ("role-removed", "The role is removed."),
    ("password-reset", "A password reset email is on its way."),
    ("linked", "The account is linked."),
    ("unlinked", "The account is unlinked."),
];

async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(user_id): Path<String>,
    Query(query): Query<view::Done>,
) -> Response {
    user_page(&console, &signed, &user_id, query.done.as_deref(), None).await
}

/// The user's page, with a confirmation or the problem of a refused action.
async fn user_page(
    console: &Console,
    signed: &Signed,
    user_id: &str,
    done: Option<&str>,
    refused: Option<Problem>,
) -> Response {
    let path = format!("/v1/users/{}", encode(user_id));
    let user = match console.api.get::<User>(&signed.caller, &path).await {
        Ok(user) => user,
        Err(problem) => return view::problem_page(signed, &problem, (USERS, "Back to the users")),
    };
    let accounts: Vec<(i32, String)> = user
        .identities
        .iter()
        .map(|i| (i.idp_tenant_id, i.azo_user_id.clone()))
        .collect();
    let pushes = if signed.allows("push.read") {
        match nexus_service::push::of_accounts(&console.nexus, &accounts).await {
            Ok(states) => Some(states),
            Err(error) => return super::service_error(error),
        }
    } else {
        None
    };
    let roles = if signed.allows("role.write") {
        console
            .api
            .get::<Page<RoleOption>>(&signed.caller, "/v1/roles?$top=1000")
            .await
            .map(|page| page.value)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let sources = match nexus_service::roles::sources_of(&console.nexus, &user.id).await {
        Ok(sources) => sources,
        Err(error) => return super::service_error(error),
    };
    let history = super::audit::history(console, signed, "user", &user.id).await;
    let status = view::status_of(refused.as_ref());
    let page = render_user(
        signed,
        &user,
        pushes.as_deref(),
        (&roles, &sources),
        (done, refused.as_ref()),
        history,
    );
    (status, page).into_response()
}

fn render_user(
    signed: &Signed,
    user: &User,
    pushes: Option<&[Option<nexus_service::push::AccountPush>]>,
    (roles, sources): (&[RoleOption], &[HeldRole]),
    (done, refused): (Option<&str>, Option<&Problem>),
    history: Markup,
) -> Markup {
    let base = format!("{USERS}/{}", encode(&user.id));
    let action = |name: &str| format!("{base}/{name}");
    let can_write = signed.allows("user.write");
    let form = |name: &str| {
        let path = action(name);
        let token = signed.csrf(&path);
        (path, token)
    };
    pages::layout(
        &user.display_name,
        Some(&signed.frame()),
        html! {
            h1 { (user.display_name) }
            (view::confirmation(done, CONFIRMATIONS).unwrap_or_default())
            @if let Some(problem) = refused {
                (pages::problem(problem))
            }
            section aria-labelledby="profile" {
                h2 #profile { "Profile" }
                dl {
                    dt { "Id" } dd { code { (user.id) } }
                    dt { "State" } dd { @if user.is_active { "active" } @else { "blocked" } }
                    dt { "Email address" } dd {
                        (user.email_address.as_deref().unwrap_or("—"))
                        @if user.email_address.is_some() {
                            @if user.email_verified { " (verified)" } @else { " (not verified)" }
                        }
                    }
                    dt { "User name" } dd { (user.username.as_deref().unwrap_or("—")) }
                    dt { "Phone number" } dd { (user.phone_number.as_deref().unwrap_or("—")) }
                    dt { "Created" } dd { (user.created) }
                    dt { "Modified" } dd { (user.modified) }
                }
                @if can_write {
                    @let (path, token) = form("profile");
                    form.stacked method="post" action=(path) {
                        input type="hidden" name="csrf" value=(token);
                        label for="display-name" { "Display name"
                            input #display-name type="text" name="displayName" value=(user.display_name) required; }
                        label for="given-name" { "Given name"
                            input #given-name type="text" name="givenName" value=(user.given_name.as_deref().unwrap_or("")); }
                        label for="family-name" { "Family name"
                            input #family-name type="text" name="familyName" value=(user.family_name.as_deref().unwrap_or("")); }
                        label for="nickname" { "Nickname"
                            input #nickname type="text" name="nickname" value=(user.nickname.as_deref().unwrap_or("")); }
                        button type="submit" { "Save profile" }
                    }
                    div.actions {
                        @let (path, token) = form(if user.is_active { "block" } else { "unblock" });
                        form method="post" action=(path) {
                            input type="hidden" name="csrf" value=(token);
                            button type="submit" { @if user.is_active { "Block user" } @else { "Unblock user" } }
                        }
                    }
                }
                @if signed.allows("user.password") && user.email_address.is_some() {
                    @let (path, token) = form("password-reset");
                    details {
                        summary { "Send a password reset email" }
                        form.stacked method="post" action=(path) {
                            input type="hidden" name="csrf" value=(token);
                            label for="reset-client" { "Auth0 application (client id) the reset returns to"
                                input #reset-client type="text" name="clientId" required; }
                            button type="submit" { "Send the email" }
                        }
                    }
                }
            }
            section aria-labelledby="identities" {
                h2 #identities { "Auth0 accounts" }
                @if user.identities.is_empty() {
                    p { "None." }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { "IdP tenant" } th scope="col" { "Auth0 user id" }
                            th scope="col" { "Connection" } th scope="col" { "Groups" } th scope="col" { "Push" }
                            @if can_write { th scope="col" { span.visually-hidden { "Actions" } } }
                        } }
                        tbody {
                            @for (index, identity) in user.identities.iter().enumerate() {
                                tr {
                                    td { (identity.idp_tenant_name) }
                                    td { code { (identity.azo_user_id) } }
                                    td { (identity.azo_connection_id) " (" (identity.strategy) ")" }
                                    td { @if identity.groups.is_empty() { "—" } @else {
                                        ul.inline { @for group in &identity.groups { li { (group.name) } } } } }
                                    td.push-state { (push_state(pushes.map(|p| &p[index]), identity)) }
                                    @if can_write {
                                        td {
                                            @let (path, token) = form(&format!("unlink-{}", identity.idp_tenant_id));
                                            form method="post" action=(path) {
                                                input type="hidden" name="csrf" value=(token);
                                                button type="submit" aria-label={ "Unlink the account in " (identity.idp_tenant_name) } { "Unlink" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can_write {
                    @let (path, token) = form("link");
                    details {
                        summary { "Link an Auth0 account" }
                        form.stacked method="post" action=(path) {
                            input type="hidden" name="csrf" value=(token);
                            label for="link-tenant" { "IdP tenant (id or name)" input #link-tenant type="text" name="idpTenant" required; }
                            label for="link-user" { "Auth0 user id" input #link-user type="text" name="azoUserId" required; }
                            label for="link-strategy" { "Strategy" input #link-strategy type="text" name="strategy" value="auth0" required; }
                            label for="link-connection" { "Connection (id or name)" input #link-connection type="text" name="azoConnectionId"; }
                            button type="submit" { "Link" }
                        }
                    }
                }
            }
            section aria-labelledby="upns" {
                h2 #upns { "Custom UPNs" }
                @if user.custom_upns.is_empty() {
                    p { "None." }
                } @else {
                    ul.upns {
                        @for upn in &user.custom_upns {
                            li {
                                span.upn { (upn.custom_upn_value) }
                                @if let Some(key) = &upn.client_upn_key { " (key " code { (key) } ")" }
                                @if can_write {
                                    @let base_upn = format!("{base}/upns/{}", encode(&upn.id));
                                    @let change = format!("{base_upn}/change");
                                    @let delete = format!("{base_upn}/delete");
                                    form.inline method="post" action=(change) {
                                        input type="hidden" name="csrf" value=(signed.csrf(&change));
                                        label { span.visually-hidden { "New value of " (upn.custom_upn_value) }
                                            input type="text" name="customUpnValue" value=(upn.custom_upn_value) required; }
                                        button type="submit" { "Change" }
                                    }
                                    form.inline method="post" action=(delete) {
                                        input type="hidden" name="csrf" value=(signed.csrf(&delete));
                                        button type="submit" aria-label={ "Delete " (upn.custom_upn_value) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can_write {
                    @let (path, token) = form("upns");
                    form.stacked method="post" action=(path) {
                        input type="hidden" name="csrf" value=(token);
                        label for="upn-value" { "New custom UPN (user@domain)"
                            input #upn-value type="text" name="customUpnValue" required minlength="3" maxlength="1024"; }
                        label for="upn-key" { "Client UPN key (optional)"
                            input #upn-key type="text" name="clientUpnKey" maxlength="255"; }
                        button type="submit" { "Add custom UPN" }
                    }
                }
            }
            section aria-labelledby="roles" {
                h2 #roles { "Roles" }
                @if sources.is_empty() {
                    p { "None." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Role" } th scope="col" { "Held through" } th scope="col" { "Expires" }
                            @if signed.allows("role.write") { th scope="col" { span.visually-hidden { "Actions" } } } } }
                        tbody {
                            @for (role_id, source, expires) in sources {
                                @let name = user.roles.iter().find(|r| &r.id == role_id).map_or(role_id.as_str(), |r| r.name.as_str());
                                tr {
                                    td { (name) }
                                    td { @match source {
                                        RoleSource::Assigned => "assignment",
                                        RoleSource::Group { group_name } => { "IdP group " (group_name) },
                                        RoleSource::Membership { organization_id } => {
                                            "membership of " a href={ (ORGANIZATIONS) "/" (organization_id) } { "organization " (organization_id) }
                                        },
                                    } }
                                    td { (expires.as_ref().map_or_else(|| "never".to_owned(), |e| e.to_text())) }
                                    @if signed.allows("role.write") {
                                        td {
                                            @if *source == RoleSource::Assigned {
                                                @let remove = format!("{base}/roles/{}/remove", encode(role_id));
                                                form method="post" action=(remove) {
                                                    input type="hidden" name="csrf" value=(signed.csrf(&remove));
                                                    button type="submit" aria-label={ "Remove the role " (name) } { "Remove" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if signed.allows("role.write") && !signed.allows("role.read") {
                    p.muted { "Assigning a role here needs the role.read permission too, to list the roles." }
                }
                @if signed.allows("role.write") && !roles.is_empty() {
                    @let (path, token) = form("roles");
                    form.stacked method="post" action=(path) {
                        input type="hidden" name="csrf" value=(token);
                        label for="role" { "Role"
                            select #role name="roleId" required {
                                @for role in roles { option value=(role.id) { (role.name) } }
                            }
                        }
                        label for="role-expires" { "Expires (RFC 3339, optional)"
                            input #role-expires type="text" name="expires" placeholder="2027-01-31T00:00:00Z"; }
                        button type="submit" { "Assign role" }
                    }
                }
            }
            section aria-labelledby="memberships" {
                h2 #memberships { "Organizations" }
                @if user.member_of.is_empty() { p { "None." } } @else {
                    ul {
                        @for membership in &user.member_of {
                            li {
                                @if let Some(id) = membership.organization_id {
                                    a href={ (ORGANIZATIONS) "/" (id) } {
                                        (membership.organization_display_name.as_deref().unwrap_or("Organization"))
                                    }
                                }
                                @if membership.is_guest { " (guest)" }
                                @if !membership.roles.is_empty() { ": " (membership.roles.join(", ")) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="attributes" {
                h2 #attributes { "Attributes" }
                @if user.attributes.is_empty() { p { "None." } } @else {
                    dl {
                        @for attribute in &user.attributes {
                            dt { (attribute.name) }
                            dd { (attribute.value) @if let Some(expires) = &attribute.expires { " (until " (expires) ")" } }
                        }
                    }
                }
            }
            (history)
        },
    )
}

fn push_state(
    state: Option<&Option<nexus_service::push::AccountPush>>,
    identity: &Identity,
) -> Markup {
    if let Some(since) = &identity.missing_in_auth0_since {
        return html! { "missing in Auth0 since " (since) };
    }
    match state {
        None => html! { span.muted { "needs push.read" } },
        Some(None) => html! { span.state-pushed { "pushed" } },
        Some(Some(push)) if push.failed => html! {
            span.state-failed { "failed" } ": " (push.last_error.as_deref().unwrap_or("no error recorded"))
        },
        Some(Some(push)) => html! {
            span.state-pending { "pending" }
            @if let Some(error) = &push.last_error { " (attempt " (push.attempts) " failed: " (error) ")" }
        },
    }
}

/// The fields of every action form; each action reads those it needs.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    custom_upn_value: Option<String>,
    client_upn_key: Option<String>,
    role_id: Option<String>,
    expires: Option<String>,
    idp_tenant: Option<String>,
    azo_user_id: Option<String>,
    strategy: Option<String>,
    azo_connection_id: Option<String>,
    client_id: Option<String>,
}

async fn act(
    State(console): State<Console>,
    Path((user_id, action)): Path<(String, String)>,
    Posted { signed, form }: Posted<ActionForm>,
) -> Response {
    let user = format!("/v1/users/{}", encode(&user_id));
    let (method, path, body, done) = match action.as_str() {
        "profile" => {
            let mut patch = serde_json::Map::new();
            if let Some(name) = filled(&form.display_name) {
                patch.insert("displayName".into(), json!(name));
            }
            for (key, value) in [
                ("givenName", &form.given_name),
                ("familyName", &form.family_name),
                ("nickname", &form.nickname),
            ] {
                patch.insert(key.into(), filled(value).map_or(Value::Null, |v| json!(v)));
            }
            (Method::PATCH, user, Some(Value::Object(patch)), "profile")
        }
        "block" => (
            Method::PATCH,
            user,
            Some(json!({ "isBlocked": true })),
            "blocked",
        ),
        "unblock" => (
            Method::PATCH,
            user,
            Some(json!({ "isBlocked": false })),
            "unblocked",
        ),
        "password-reset" => (
            Method::POST,
            format!(
                "{user}/password-reset?clientId={}",
                encode(form.client_id.as_deref().unwrap_or("").trim())
            ),
            None,
            "password-reset",
        ),
        "upns" => {
            let mut body =
                json!({ "customUpnValue": form.custom_upn_value.as_deref().unwrap_or("").trim() });
            if let Some(key) = filled(&form.client_upn_key) {
                body["clientUpnKey"] = json!(key);
            }
            (
                Method::POST,
                format!("{user}/custom-upns"),
                Some(body),
                "upn-added",
            )
        }
        "roles" => {
            let mut body = json!({ "value": [form.role_id.as_deref().unwrap_or("")] });
            if let Some(expires) = filled(&form.expires) {
                body["expires"] = json!(expires);
            }
            (
                Method::PUT,
                format!("{user}/roles"),
                Some(body),
                "role-assigned",
            )
        }
        "link" => {
            let tenant = filled(&form.idp_tenant).unwrap_or("");
            let mut body = json!({
                "azoUserId": filled(&form.azo_user_id).unwrap_or(""),
                "strategy": filled(&form.strategy).unwrap_or(""),
            });
            if let Some(connection) = filled(&form.azo_connection_id) {
                body["azoConnectionId"] = json!(connection);
            }
            (
                Method::PUT,
                format!("{user}/idp_tenants/{}", encode(tenant)),
                Some(body),
                "linked",
            )
        }
        unlink if unlink.starts_with("unlink-") => {
            let tenant = &unlink["unlink-".len()..];
            (
                Method::DELETE,
                format!("{user}/idp_tenants/{}", encode(tenant)),
                None,
                "unlinked",
            )
        }
        _ => return super::not_found(signed).await,
    };
    finish(&console, &signed, &user_id, method, &path, body, done).await
}

/// An action on one of the user's custom UPNs or roles.
async fn act_on_item(
    State(console): State<Console>,
    Path((user_id, collection, item, action)): Path<(String, String, String, String)>,
    Posted { signed, form }: Posted<ActionForm>,
) -> Response {
    let user = encode(&user_id);
    let item = encode(&item);
    let (method, path, body, done) = match (collection.as_str(), action.as_str()) {
        ("upns", "change") => (
            Method::PATCH,
            format!("/v1/users/{user}/custom-upns/{item}"),
            Some(
                json!({ "customUpnValue": form.custom_upn_value.as_deref().unwrap_or("").trim() }),
            ),
            "upn-changed",
        ),
        ("upns", "delete") => (
            Method::DELETE,
            format!("/v1/users/{user}/custom-upns/{item}"),
            None,
            "upn-deleted",
        ),
        ("roles", "remove") => (
            Method::DELETE,
            format!("/v1/users/{user}/roles/{item}"),
            None,
            "role-removed",
        ),
        _ => return super::not_found(signed).await,
    };
    finish(&console, &signed, &user_id, method, &path, body, done).await
}

/// Makes the action's API call: back to the user's page with the
/// confirmation, or the page with the problem.
async fn finish(
    console: &Console,
    signed: &Signed,
    user_id: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    done: &str,
) -> Response {
    let page = format!("{USERS}/{}", encode(user_id));
    match view::act(
        console,
        signed,
        (method, path.to_owned(), body),
        &page,
        done,
    )
    .await
    {
        Ok(redirect) => redirect,
        Err(problem) => user_page(console, signed, user_id, None, Some(problem)).await,
    }
}

impl CsrfField for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}
