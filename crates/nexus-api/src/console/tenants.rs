//! The console's IdP tenants: the list with the push backlog, and a
//! tenant's page with its failed pushes, each with a retry button.

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::api::Problem;
use super::view::{self, encode, text, Page};
use super::{pages, Console, CsrfField, Posted, Signed, TENANTS};
use crate::auth::Access;

pub(super) fn routes() -> Router<Console> {
    Router::new()
        .route(TENANTS, get(list))
        .route("/console/idp-tenants/{tenant_id}", get(show))
        .route("/console/idp-tenants/{tenant_id}/retry", post(retry))
}

/// The push as `GET /v1/push/status` answers it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PushStatus {
    pending: i64,
    failed: i64,
    failures: Vec<Failure>,
    refusals: Vec<Refusal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    idp_tenant_id: i32,
    azo_user_id: String,
    attempts: i32,
    last_error: Option<String>,
    failed_at: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Refusal {
    idp_tenant_id: i32,
    azo_user_id: String,
    field: Option<String>,
    reason: String,
}

async fn list(State(console): State<Console>, signed: Signed) -> Response {
    let tenants = console
        .api
        .get::<Page<Value>>(&signed.caller, "/v1/idp_tenants?$top=1000")
        .await;
    let push = push_status(&console, &signed).await;
    let page = pages::layout(
        "IdP tenants",
        Some(&signed.frame()),
        html! {
            h1 { "IdP tenants" }
            @match &push {
                Some(Ok(status)) => p.backlog { "Push backlog: " strong { (status.pending) } " Auth0 users waiting, "
                    strong { (status.failed) } " failed for good." },
                Some(Err(problem)) => (pages::problem(problem)),
                None => {},
            }
            @match &tenants {
                Err(problem) => (pages::problem(problem)),
                Ok(page) if page.value.is_empty() => p { "No IdP tenants." },
                Ok(page) => table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Domain" } th scope="col" { "Management credentials" }
                        th scope="col" { "Failed pushes" }
                    } }
                    tbody {
                        @for tenant in &page.value {
                            @let id = text(tenant, "id");
                            tr {
                                td { a href={ (TENANTS) "/" (encode(&id)) } { (text(tenant, "name")) } }
                                td { (text(tenant, "fqdn")) }
                                td { @if tenant["hasManagementCredentials"] == Value::Bool(true) { "yes" } @else { "no" } }
                                td { @match &push {
                                    Some(Ok(status)) => (status.failures.iter().filter(|f| f.idp_tenant_id.to_string() == id).count()),
                                    _ => "—",
                                } }
                            }
                        }
                    }
                },
            }
        },
    );
    (view::status_of(tenants.as_ref().err()), page).into_response()
}

/// The push status, for a session that may read it.
async fn push_status(console: &Console, signed: &Signed) -> Option<Result<PushStatus, Problem>> {
    if !signed.allows("push.read") {
        return None;
    }
    Some(console.api.get(&signed.caller, "/v1/push/status").await)
}

const CONFIRMATIONS: &[(&str, &str)] = &[
    ("retried", "The push is pending again."),
    (
        "not-failed",
        "That push is no longer failed: nothing to retry.",
    ),
];

async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(tenant_id): Path<String>,
    Query(query): Query<view::Done>,
) -> Response {
    let api = format!("/v1/idp_tenants/{}", encode(&tenant_id));
    let tenant = match console.api.get::<Value>(&signed.caller, &api).await {
        Ok(tenant) => tenant,
        Err(problem) => {
            return view::problem_page(&signed, &problem, (TENANTS, "Back to the IdP tenants"))
        }
    };
    let id = tenant["id"].as_i64().unwrap_or_default();
    let push = push_status(&console, &signed).await;
    let may_retry = may_retry(&signed);
    let retry_path = format!("{TENANTS}/{id}/retry");
    let name = text(&tenant, "name");
    let page = pages::layout(
        &name,
        Some(&signed.frame()),
        html! {
            h1 { "IdP tenant " (name) }
            (view::confirmation(query.done.as_deref(), CONFIRMATIONS).unwrap_or_default())
            dl {
                dt { "Id" } dd { (id) }
                dt { "Auth0 tenant" } dd { (text(&tenant, "azoTenantName")) }
                dt { "Domain" } dd { (text(&tenant, "fqdn")) }
                dt { "Login domain" } dd { (text(&tenant, "loginDomain")) }
                dt { "Base URL" } dd { (text(&tenant, "baseUrl")) }
                dt { "Management credentials" } dd { (text(&tenant, "hasManagementCredentials")) }
                dt { "Log stream token" } dd { (text(&tenant, "hasLogStreamToken")) }
            }
            section aria-labelledby="failures" {
                h2 #failures { "Failed pushes" }
                @match &push {
                    None => p { "Reading the push needs the push.read permission." },
                    Some(Err(problem)) => (pages::problem(problem)),
                    Some(Ok(status)) => {
                        @let failures: Vec<&Failure> = status.failures.iter().filter(|f| i64::from(f.idp_tenant_id) == id).collect();
                        @if failures.is_empty() {
                            p { "None." }
                        } @else {
                            table {
                                thead { tr {
                                    th scope="col" { "Auth0 user id" } th scope="col" { "Attempts" } th scope="col" { "Error" }
                                    th scope="col" { "Failed at" }
                                    @if may_retry { th scope="col" { span.visually-hidden { "Actions" } } }
                                } }
                                tbody {
                                    @for failure in failures {
                                        tr {
                                            td { code { (failure.azo_user_id) } }
                                            td { (failure.attempts) }
                                            td { (failure.last_error.as_deref().unwrap_or("—")) }
                                            td { (failure.failed_at) }
                                            @if may_retry {
                                                td {
                                                    form.inline method="post" action=(retry_path) {
                                                        (view::csrf_field(&signed, &retry_path))
                                                        input type="hidden" name="azoUserId" value=(failure.azo_user_id);
                                                        button type="submit" aria-label={ "Retry the push of " (failure.azo_user_id) } { "Retry" }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @let refusals: Vec<&Refusal> = status.refusals.iter().filter(|r| i64::from(r.idp_tenant_id) == id).collect();
                        @if !refusals.is_empty() {
                            h2 { "Profile fields Auth0 refused" }
                            ul {
                                @for refusal in refusals {
                                    li { code { (refusal.azo_user_id) } ": "
                                        @if let Some(field) = &refusal.field { code { (field) } " " }
                                        (refusal.reason) }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    page.into_response()
}

/// Retrying a tenant's push needs what changing the tenant needs, as the
/// permission table says.
fn may_retry(signed: &Signed) -> bool {
    match crate::auth::access(&Method::PATCH, "/v1/idp_tenants/{idpTenantId}") {
        Some(Access::Requires(permission)) => signed.allows(permission),
        _ => false,
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    azo_user_id: String,
}

impl CsrfField for RetryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn retry(
    State(console): State<Console>,
    Path(tenant_id): Path<String>,
    Posted { signed, form }: Posted<RetryForm>,
) -> Response {
    let Ok(tenant_id) = tenant_id.parse::<i32>() else {
        return super::not_found(signed).await;
    };
    if !may_retry(&signed) {
        return view::problem_page(
            &signed,
            &Problem::forbidden("retrying a push requires the permission to change the IdP tenant"),
            (TENANTS, "Back to the IdP tenants"),
        );
    }
    let actor = signed.actor(nexus_service::push::RETRY);
    match nexus_service::push::retry(&console.nexus, &actor, tenant_id, &form.azo_user_id).await {
        Ok(retried) => {
            let done = if retried { "retried" } else { "not-failed" };
            Redirect::to(&format!("{TENANTS}/{tenant_id}?done={done}")).into_response()
        }
        Err(error) => super::service_error(error),
    }
}
