//! The console's organizations: a searchable list, and an organization's
//! page with its members (and invitations), domains, aliases and history.

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use nexus_core::organization_domain::{verification_record_name, verification_record_value};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Problem;
use super::view::{self, encode, filled, text, Page};
use super::{audit, pages, Console, CsrfField, Posted, Signed, ORGANIZATIONS, USERS};

pub(super) fn routes() -> Router<Console> {
    Router::new()
        .route(ORGANIZATIONS, get(list))
        .route("/console/organizations/{organization_id}", get(show))
        .route(
            "/console/organizations/{organization_id}/{action}",
            post(act),
        )
        .route(
            "/console/organizations/{organization_id}/{collection}/{item}/{action}",
            post(act_on_item),
        )
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

async fn list(
    State(console): State<Console>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut path = "/v1/organizations?$top=25&$orderby=name".to_owned();
    if !query.q.trim().is_empty() {
        path.push_str(&format!("&$search={}", encode(query.q.trim())));
    }
    if let Some(token) = query.page.as_deref().filter(|t| !t.is_empty()) {
        path.push_str(&format!("&$skiptoken={}", encode(token)));
    }
    let found = console.api.get::<Page<Value>>(&signed.caller, &path).await;
    let status = view::status_of(found.as_ref().err());
    let page = pages::layout(
        "Organizations",
        Some(&signed.frame()),
        html! {
            h1 { "Organizations" }
            form.search role="search" method="get" action=(ORGANIZATIONS) {
                label for="organization-search" { "Search by name" }
                input #organization-search type="search" name="q" value=(query.q) autocomplete="off";
                button type="submit" { "Search" }
            }
            @match &found {
                Err(problem) => (pages::problem(problem)),
                Ok(page) if page.value.is_empty() => p { "No organization matches." },
                Ok(page) => {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "State" } } }
                        tbody {
                            @for organization in &page.value {
                                tr {
                                    td { a href={ (ORGANIZATIONS) "/" (text(organization, "id")) } { (text(organization, "displayName")) } }
                                    td { (text(organization, "type")) }
                                    td { @if organization["isActive"] == json!(true) { "active" } @else { "inactive" } }
                                }
                            }
                        }
                    }
                    @if let Some(token) = page.next_token() {
                        p { a rel="next" href={ (ORGANIZATIONS) "?q=" (encode(query.q.trim())) "&page=" (encode(&token)) } { "Next page" } }
                    }
                }
            }
        },
    );
    (status, page).into_response()
}

const CONFIRMATIONS: &[(&str, &str)] = &[
    ("invited", "The invitation is sent."),
    (
        "domain-added",
        "The domain is added; prove it with its verification code.",
    ),
    ("domain-deleted", "The domain is deleted."),
    (
        "code-generated",
        "A new verification code is ready: publish it as the TXT record shown.",
    ),
    ("domain-verified", "The domain is verified."),
    (
        "member-removed",
        "The member is removed from the organization.",
    ),
];

async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(organization_id): Path<String>,
    Query(query): Query<view::Done>,
) -> Response {
    organization_page(
        &console,
        &signed,
        &organization_id,
        query.done.as_deref(),
        None,
    )
    .await
}

async fn organization_page(
    console: &Console,
    signed: &Signed,
    organization_id: &str,
    done: Option<&str>,
    refused: Option<Problem>,
) -> Response {
    let base = format!("/v1/organizations/{}", encode(organization_id));
    let organization = match console.api.get::<Value>(&signed.caller, &base).await {
        Ok(organization) => organization,
        Err(problem) => {
            return view::problem_page(
                signed,
                &problem,
                (ORGANIZATIONS, "Back to the organizations"),
            )
        }
    };
    let members = console
        .api
        .get::<Page<Value>>(
            &signed.caller,
            &format!("{base}/members?$top=100&$expand=user"),
        )
        .await;
    let domains = console
        .api
        .get::<Page<Value>>(&signed.caller, &format!("{base}/domains?$top=100"))
        .await;
    let aliases = console
        .api
        .get::<Page<Value>>(&signed.caller, &format!("{base}/aliases"))
        .await;
    let history = audit::history(console, signed, "organization", organization_id).await;
    let page_path = format!("{ORGANIZATIONS}/{}", encode(organization_id));
    let can_write = signed.allows("organization.write");
    let name = text(&organization, "displayName");
    let page = pages::layout(
        &name,
        Some(&signed.frame()),
        html! {
            h1 { (name) }
            (view::confirmation(done, CONFIRMATIONS).unwrap_or_default())
            @if let Some(problem) = &refused { (pages::problem(problem)) }
            section aria-labelledby="details" {
                h2 #details { "Details" }
                dl {
                    dt { "Id" } dd { (text(&organization, "id")) }
                    dt { "Name" } dd { (text(&organization, "name")) }
                    dt { "Type" } dd { (text(&organization, "type")) }
                    dt { "CRM account" } dd { (text(&organization, "crmAccountId")) }
                    dt { "MFA required" } dd { (text(&organization, "isMfaRequired")) }
                    dt { "Domain verification required" } dd { (text(&organization, "isDomainVerificationRequired")) }
                }
            }
            section aria-labelledby="members" {
                h2 #members { "Members" }
                (members_table(signed, &page_path, &members, can_write))
                @if can_write {
                    @let path = format!("{page_path}/invite");
                    details {
                        summary { "Invite a member" }
                        form.stacked method="post" action=(path) {
                            (view::csrf_field(signed, &path))
                            label for="invite-email" { "Email address"
                                input #invite-email type="email" name="emailAddress" required maxlength="250"; }
                            label for="invite-name" { "Display name (optional)"
                                input #invite-name type="text" name="displayName" maxlength="250"; }
                            button type="submit" { "Send the invitation" }
                        }
                    }
                }
            }
            section aria-labelledby="domains" {
                h2 #domains { "Domains" }
                (domains_table(signed, &page_path, &domains, can_write))
                @if can_write {
                    @let path = format!("{page_path}/domains");
                    details {
                        summary { "Add a domain" }
                        form.stacked method="post" action=(path) {
                            (view::csrf_field(signed, &path))
                            label for="domain-name" { "Domain"
                                input #domain-name type="text" name="domain" required maxlength="253"; }
                            label for="domain-authentication" { "Authentication method"
                                select #domain-authentication name="authenticationMethod" {
                                    @for method in ["Database", "Ad", "Federation", "Email", "Sms"] {
                                        option value=(method) { (method) }
                                    }
                                }
                            }
                            button type="submit" { "Add the domain" }
                        }
                    }
                }
            }
            section aria-labelledby="aliases" {
                h2 #aliases { "Aliases" }
                @match &aliases {
                    Err(problem) => (pages::problem(problem)),
                    Ok(page) if page.value.is_empty() => p { "None." },
                    Ok(page) => ul {
                        @for alias in &page.value {
                            li { (text(alias, "systemName")) ": " code { (text(alias, "systemId")) } }
                        }
                    },
                }
            }
            (history)
        },
    );
    (view::status_of(refused.as_ref()), page).into_response()
}

fn members_table(
    signed: &Signed,
    page_path: &str,
    members: &Result<Page<Value>, Problem>,
    can_write: bool,
) -> Markup {
    match members {
        Err(problem) => pages::problem(problem),
        Ok(page) if page.value.is_empty() => html! { p { "None." } },
        Ok(page) => html! {
            table {
                thead { tr {
                    th scope="col" { "User" } th scope="col" { "Roles" } th scope="col" { "Guest" }
                    @if can_write { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for member in &page.value {
                        @let user_id = text(member, "userId");
                        @let name = member.pointer("/user/displayName").and_then(Value::as_str).unwrap_or(&user_id);
                        tr {
                            td { a href={ (USERS) "/" (encode(&text(member, "userId"))) } {
                                @match member.pointer("/user/displayName").and_then(Value::as_str) {
                                    Some(name) => (name),
                                    None => code { (text(member, "userId")) },
                                }
                            } }
                            td { (member["roles"].as_array().map(|roles| roles.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            td { @if member["isGuest"] == json!(true) { "yes" } @else { "no" } }
                            @if can_write {
                                td { (view::button(signed, &format!("{page_path}/members/{}/remove", encode(&user_id)), "Remove", &format!("Remove {name} from the organization"))) }
                            }
                        }
                    }
                }
            }
        },
    }
}

fn domains_table(
    signed: &Signed,
    page_path: &str,
    domains: &Result<Page<Value>, Problem>,
    can_write: bool,
) -> Markup {
    match domains {
        Err(problem) => pages::problem(problem),
        Ok(page) if page.value.is_empty() => html! { p { "None." } },
        Ok(page) => html! {
            table {
                thead { tr {
                    th scope="col" { "Domain" } th scope="col" { "Verified" } th scope="col" { "Authentication" }
                    @if can_write { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for domain in &page.value {
                        @let name = text(domain, "domain");
                        @let verified = domain["isVerified"] == json!(true);
                        @let item = format!("{page_path}/domains/{}", encode(&text(domain, "domainId")));
                        tr {
                            td {
                                (name)
                                @if let (false, Some(code)) = (verified, domain["verificationCode"].as_str()) {
                                    p.record {
                                        "Prove it with the TXT record " code { (verification_record_name(&name)) }
                                        " = " code { (verification_record_value(code)) }
                                        ", until " (text(domain, "verificationCodeExpires")) "."
                                    }
                                }
                            }
                            td { @if verified { "yes" } @else { "no" } }
                            td { (text(domain, "authenticationMethod")) }
                            @if can_write {
                                td {
                                    @if !verified {
                                        (view::button(signed, &format!("{item}/generate-code"), "New code", &format!("A new verification code for {name}")))
                                        (view::button(signed, &format!("{item}/verify"), "Verify", &format!("Verify {name}")))
                                    }
                                    (view::button(signed, &format!("{item}/delete"), "Delete", &format!("Delete the domain {name}")))
                                }
                            }
                        }
                    }
                }
            }
        },
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    email_address: Option<String>,
    display_name: Option<String>,
    domain: Option<String>,
    authentication_method: Option<String>,
}

async fn act(
    State(console): State<Console>,
    Path((organization_id, action)): Path<(String, String)>,
    Posted { signed, form }: Posted<ActionForm>,
) -> Response {
    let api = format!("/v1/organizations/{}", encode(&organization_id));
    let (call, done) = match action.as_str() {
        "invite" => {
            let mut body = json!({ "emailAddress": filled(&form.email_address).unwrap_or("") });
            if let Some(name) = filled(&form.display_name) {
                body["displayName"] = json!(name);
            }
            (
                (Method::POST, format!("{api}/members/invite"), Some(body)),
                "invited",
            )
        }
        "domains" => {
            let body = json!({
                "domain": filled(&form.domain).unwrap_or(""),
                "verificationMethod": "DnsTxt",
                "authenticationMethod": filled(&form.authentication_method).unwrap_or(""),
            });
            (
                (Method::POST, format!("{api}/domains"), Some(body)),
                "domain-added",
            )
        }
        _ => return super::not_found(signed).await,
    };
    finish(&console, &signed, &organization_id, call, done).await
}

/// An action on one of the organization's domains or members.
async fn act_on_item(
    State(console): State<Console>,
    Path((organization_id, collection, item, action)): Path<(String, String, String, String)>,
    Posted { signed, .. }: Posted<ActionForm>,
) -> Response {
    let (organization, item) = (encode(&organization_id), encode(&item));
    let api = format!("/v1/organizations/{organization}");
    let (call, done) = match (collection.as_str(), action.as_str()) {
        ("domains", "delete") => (
            (Method::DELETE, format!("{api}/domains/{item}"), None),
            "domain-deleted",
        ),
        ("domains", "generate-code") => (
            (
                Method::POST,
                format!("{api}/domains/{item}/generate-code"),
                None,
            ),
            "code-generated",
        ),
        ("domains", "verify") => (
            (Method::POST, format!("{api}/domains/{item}/verify"), None),
            "domain-verified",
        ),
        ("members", "remove") => (
            (Method::DELETE, format!("{api}/members/{item}"), None),
            "member-removed",
        ),
        _ => return super::not_found(signed).await,
    };
    finish(&console, &signed, &organization_id, call, done).await
}

async fn finish(
    console: &Console,
    signed: &Signed,
    organization_id: &str,
    call: (Method, String, Option<Value>),
    done: &str,
) -> Response {
    let page = format!("{ORGANIZATIONS}/{}", encode(organization_id));
    match view::act(console, signed, call, &page, done).await {
        Ok(redirect) => redirect,
        Err(problem) => {
            organization_page(console, signed, organization_id, None, Some(problem)).await
        }
    }
}

impl CsrfField for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}
