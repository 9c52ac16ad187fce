//! The console's pages over HTTP: users (search, paging, a user's page and
//! its actions), organizations, roles, IdP tenants and the audit trail.
//! Each action goes through the API as the signed-in key: its validation,
//! permissions and audit trail.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::console::{Browser, Page};
use crate::sim_tenant::{eventually_linked, inbox, provisioned_user, tenant};
use crate::support::{both_backends, TestApp, API_AUDIENCE};
use crate::sync::{linked_user, sync_body};

both_backends!(
    console_finds_users_and_pages_through_them,
    console_changes_a_user_through_the_api,
    console_offers_and_allows_only_what_the_key_holds,
    console_shows_and_retries_the_push,
    console_shows_organizations_roles_and_the_trail,
    console_sends_a_password_reset,
    console_shows_why_a_user_holds_each_role,
    console_invites_a_member,
    console_verifies_a_domain_and_removes_a_member,
    concurrent_retries_of_a_push_retry_it_once
);

/// The CSRF token of the form posted to `action` on the page.
fn token_of(page: &Page, action: &str) -> String {
    let form = format!(r#"action="{action}""#);
    let start = page
        .body
        .find(&form)
        .unwrap_or_else(|| panic!("no form posted to {action}: {}", page.body));
    let marker = r#"name="csrf" value=""#;
    let value = start + page.body[start..].find(marker).unwrap() + marker.len();
    let end = page.body[value..].find('"').unwrap();
    page.body[value..value + end].to_owned()
}

/// Posts the page's form for `action` with `fields`.
async fn submit(browser: &Browser, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
    let token = token_of(page, action);
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    browser.post(action, &form).await
}

/// Follows a redirect that must come, and answers the page it leads to.
async fn followed(browser: &Browser, page: Page) -> Page {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    browser.get(page.location()).await
}

/// The text of the table rows in the page's first table body, one string a
/// row with its cells' text joined by `|`.
fn rows(page: &Page) -> Vec<String> {
    let Some(start) = page.body.find("<tbody>") else {
        return Vec::new();
    };
    let end = start + page.body[start..].find("</tbody>").unwrap();
    page.body[start..end]
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| strip_tags(&format!("<td{cell}")))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// A tenant and an organization, and `names` users in them; their ids.
async fn users_named(app: &TestApp, names: &[&str]) -> Vec<String> {
    let tenant = app.tenant("main").await;
    let organization = app.organization("acme").await;
    let mut ids = Vec::new();
    for name in names {
        let reply = app
            .post(
                "/v1/users",
                json!({
                    "authenticationMethod": "Database",
                    "displayName": name,
                    "emailAddress": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
                    "idpTenantId": tenant["name"],
                    "organization": organization["name"],
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn console_finds_users_and_pages_through_them(app: TestApp) {
    let names: Vec<String> = (0..27).map(|i| format!("Pat Example {i:02}")).collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.push("Ada Lovelace");
    users_named(&app, &all).await;
    let browser = Browser::new(&app);
    browser.signed_in(&app.key("user.read").await).await;

    // A search pages 25 at a time, in name order, through the API's
    // nextLink; the other user is not found.
    let first = browser.get("/console/users?q=pat").await;
    assert_eq!(first.status, 200, "{}", first.body);
    first.assert_console_headers();
    let found = rows(&first);
    assert_eq!(found.len(), 25, "{found:?}");
    assert!(
        found[0].starts_with("Pat Example 00|pat.example.00@example.com|active"),
        "{found:?}"
    );
    assert!(!first.body.contains("Ada Lovelace"));
    let next = {
        let start = first
            .body
            .find(r#"rel="next" href=""#)
            .expect("a next page")
            + 17;
        let end = first.body[start..].find('"').unwrap();
        first.body[start..start + end].replace("&amp;", "&")
    };
    assert!(next.starts_with("/console/users?q=pat&page="), "{next}");
    let second = browser.get(&next).await;
    let found = rows(&second);
    assert_eq!(
        found
            .iter()
            .map(|r| r.split('|').next().unwrap())
            .collect::<Vec<_>>(),
        ["Pat Example 25", "Pat Example 26"]
    );
    assert!(!second.body.contains(r#"rel="next""#));

    // Search as you type asks for the results alone.
    let results = browser.get("/console/users/results?q=lovelace").await;
    assert_eq!(results.status, 200);
    assert!(!results.body.contains("<html"), "{}", results.body);
    assert_eq!(rows(&results).len(), 1);
    assert!(results.body.contains("Ada Lovelace"));
    let none = browser.get("/console/users/results?q=nobody-at-all").await;
    assert!(none.body.contains("No user matches."), "{}", none.body);

    // The API's own refusal of a bad search is shown as its problem.
    let long = "x".repeat(201);
    let refused = browser.get(&format!("/console/users?q={long}")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("must be at most 200 characters long"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("<html"), "a whole page");
}

async fn console_changes_a_user_through_the_api(app: TestApp) {
    let ids = users_named(&app, &["Grace Hopper"]).await;
    let user = &ids[0];
    let credential = app
        .key("user.read user.write role.read role.write audit.read")
        .await;
    let key_id = credential.split_once(':').unwrap().0.to_owned();
    let browser = Browser::new(&app);
    browser.signed_in(&credential).await;
    let path = format!("/console/users/{user}");

    // The profile form: saved through PatchUser, confirmed, audited as the key.
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Grace Hopper</h1>"), "{}", page.body);
    let saved = submit(
        &browser,
        &page,
        &format!("{path}/profile"),
        &[
            ("displayName", "Grace B. Hopper"),
            ("givenName", "Grace"),
            ("familyName", "Hopper"),
            ("nickname", ""),
        ],
    )
    .await;
    assert_eq!(saved.location(), format!("{path}?done=profile"));
    let page = followed(&browser, saved).await;
    assert!(
        page.body
            .contains(r#"<p class="confirmation" role="status">The profile is saved.</p>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("<h1>Grace B. Hopper</h1>"));
    let api = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(api.body["displayName"], "Grace B. Hopper");
    assert_eq!(api.body["givenName"], "Grace");
    let trail = app
        .get(&format!(
            "/v1/audit-events?$filter=resourceId eq '{user}' and operation eq 'PatchUser'"
        ))
        .await;
    assert_eq!(
        trail.body["value"][0]["actor"],
        key_id.as_str(),
        "{}",
        trail.body
    );
    assert!(
        page.body.contains("PatchUser"),
        "the user's history on the page"
    );

    // Custom UPNs: added, changed, deleted; a bad value is the API's 400,
    // shown with its field, and writes nothing.
    let bad = submit(
        &browser,
        &page,
        &format!("{path}/upns"),
        &[("customUpnValue", "no-at-sign"), ("clientUpnKey", "")],
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("The request is invalid"), "{}", bad.body);
    assert!(
        bad.body.contains("<code>customUpnValue</code>"),
        "{}",
        bad.body
    );
    assert_eq!(
        app.get(&format!("/v1/users/{user}/custom-upns")).await.body["value"],
        json!([])
    );
    let added = submit(
        &browser,
        &page,
        &format!("{path}/upns"),
        &[
            ("customUpnValue", "grace@navy.example"),
            ("clientUpnKey", "rdp"),
        ],
    )
    .await;
    let page = followed(&browser, added).await;
    assert!(page.body.contains("The custom UPN is added."));
    assert!(
        page.body
            .contains(r#"<span class="upn">grace@navy.example</span> (key <code>rdp</code>)"#),
        "{}",
        page.body
    );
    let upn = app.get(&format!("/v1/users/{user}/custom-upns")).await.body["value"][0].clone();
    assert_eq!(upn["customUpnValue"], "grace@navy.example");
    let upn_path = format!("{path}/upns/{}", upn["id"].as_str().unwrap());
    let changed = submit(
        &browser,
        &page,
        &format!("{upn_path}/change"),
        &[("customUpnValue", "hopper@navy.example")],
    )
    .await;
    let page = followed(&browser, changed).await;
    assert!(page.body.contains("The custom UPN is changed."));
    assert_eq!(
        app.get(&format!("/v1/users/{user}/custom-upns")).await.body["value"][0]["customUpnValue"],
        "hopper@navy.example"
    );
    let deleted = submit(&browser, &page, &format!("{upn_path}/delete"), &[]).await;
    let page = followed(&browser, deleted).await;
    assert!(page.body.contains("The custom UPN is deleted."));
    assert_eq!(
        app.get(&format!("/v1/users/{user}/custom-upns")).await.body["value"],
        json!([])
    );

    // Block and unblock.
    let blocked = submit(&browser, &page, &format!("{path}/block"), &[]).await;
    let page = followed(&browser, blocked).await;
    assert!(page.body.contains("The user is blocked."));
    assert!(
        page.body.contains("<dt>State</dt><dd>blocked</dd>"),
        "{}",
        page.body
    );
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["isActive"],
        false
    );
    let unblocked = submit(&browser, &page, &format!("{path}/unblock"), &[]).await;
    let page = followed(&browser, unblocked).await;
    assert!(page.body.contains("<dt>State</dt><dd>active</dd>"));
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["isActive"],
        true
    );

    // Roles: assigned with an expiry, then removed.
    let role = app
        .post(
            "/v1/roles",
            json!({"name": "readers", "audience": "https://reports", "permissions": []}),
        )
        .await;
    assert_eq!(role.status, 201, "{}", role.body);
    let role_id = role.body["id"].as_str().unwrap();
    let page = browser.get(&path).await;
    assert!(
        page.body
            .contains(&format!(r#"<option value="{role_id}">readers</option>"#)),
        "{}",
        page.body
    );
    let assigned = submit(
        &browser,
        &page,
        &format!("{path}/roles"),
        &[("roleId", role_id), ("expires", "2031-01-31T00:00:00Z")],
    )
    .await;
    let page = followed(&browser, assigned).await;
    assert!(page.body.contains("The role is assigned."));
    assert!(
        page.body
            .contains("<td>readers</td><td>assignment</td><td>2031-01-31T00:00:00"),
        "{}",
        page.body
    );
    let held = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(held[0]["name"], "readers");
    assert!(
        held[0]["expires"]
            .as_str()
            .unwrap()
            .starts_with("2031-01-31T00:00:00"),
        "{held}"
    );
    let removed = submit(
        &browser,
        &page,
        &format!("{path}/roles/{role_id}/remove"),
        &[],
    )
    .await;
    followed(&browser, removed).await;
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["roles"],
        json!([])
    );

    // Linking an Auth0 account, and unlinking it.
    let page = browser.get(&path).await;
    let linked = submit(
        &browser,
        &page,
        &format!("{path}/link"),
        &[
            ("idpTenant", "main"),
            ("azoUserId", "auth0|gh"),
            ("strategy", "auth0"),
            ("azoConnectionId", "con_7"),
        ],
    )
    .await;
    let page = followed(&browser, linked).await;
    assert!(
        page.body.contains("The account is linked."),
        "{}",
        page.body
    );
    assert!(page.body.contains("<code>auth0|gh</code>"), "{}", page.body);
    let identities = app.get(&format!("/v1/users/{user}")).await.body["identities"].clone();
    assert_eq!(identities[0]["azoUserId"], "auth0|gh");
    let tenant_id = identities[0]["idpTenantId"].as_i64().unwrap();
    let unlinked = submit(&browser, &page, &format!("{path}/unlink-{tenant_id}"), &[]).await;
    let page = followed(&browser, unlinked).await;
    assert!(
        page.body.contains("The account is unlinked."),
        "{}",
        page.body
    );
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["identities"],
        json!([])
    );

    // A form's token is good for its own path only: another form's token,
    // or none, is refused and changes nothing.
    let page = browser.get(&path).await;
    let foreign = token_of(&page, &format!("{path}/upns"));
    for token in [foreign.as_str(), ""] {
        let refused = browser
            .post(&format!("{path}/block"), &[("csrf", token)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused
            .body
            .contains("The form was not sent from this console"));
    }
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["isActive"],
        true
    );

    // A user that does not exist: the API's 404, on a page.
    let missing = browser
        .get("/console/users/01a21ced-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("Back to the users"));
}

async fn console_offers_and_allows_only_what_the_key_holds(app: TestApp) {
    let ids = users_named(&app, &["Alan Turing"]).await;
    let path = format!("/console/users/{}", ids[0]);

    // Reading only: no form on the user's page but sign-out.
    let reader = Browser::new(&app);
    reader.signed_in(&app.key("user.read").await).await;
    let page = reader.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Alan Turing</h1>"));
    assert_eq!(
        page.body.matches("<form").count(),
        1,
        "only sign-out: {}",
        page.body
    );
    assert!(!page.body.contains("History"), "no audit.read, no history");

    // Assigning roles without reading them: no list to choose from, and
    // the page says why.
    let blind = Browser::new(&app);
    blind
        .signed_in(&app.key("user.read role.write").await)
        .await;
    let page = blind.get(&path).await;
    assert!(!page.body.contains("Assign role"), "{}", page.body);
    assert!(
        page.body.contains("needs the role.read permission too"),
        "{}",
        page.body
    );

    // A key that may assign roles but does not hold what a role gives is
    // refused by the API, and the page says why; nothing is assigned.
    let role = app
        .post("/v1/roles", json!({"name": "key-admins", "audience": API_AUDIENCE, "permissions": ["apikey.write"]}))
        .await;
    assert_eq!(role.status, 201, "{}", role.body);
    let role_id = role.body["id"].as_str().unwrap();
    let assigner = Browser::new(&app);
    assigner
        .signed_in(&app.key("user.read role.read role.write").await)
        .await;
    let page = assigner.get(&path).await;
    assert!(!page.body.contains("Block user"), "no user.write");
    let refused = submit(
        &assigner,
        &page,
        &format!("{path}/roles"),
        &[("roleId", role_id), ("expires", "")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("<strong>Forbidden</strong>"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("apikey.write"), "{}", refused.body);
    assert!(
        refused.body.contains("<h1>Alan Turing</h1>"),
        "the user's page again"
    );
    assert_eq!(
        app.get(&format!("/v1/users/{}", ids[0])).await.body["roles"],
        json!([])
    );
}

/// Sets the push of the user's one Auth0 account (status, last error).
async fn set_push(
    app: &TestApp,
    tenant_id: i64,
    azo_user_id: &str,
    status: &str,
    error: Option<&str>,
) {
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO push_outbox (idp_tenant_id, azo_user_id, status, due_at, attempts, last_error, created, modified) \
         VALUES ($1, $2, $3, '2100-01-01T00:00:00Z', 3, $4, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') \
         ON CONFLICT (idp_tenant_id, azo_user_id) DO UPDATE SET status = excluded.status, \
         last_error = excluded.last_error, due_at = excluded.due_at, attempts = excluded.attempts",
    )
    .bind(tenant_id as i32)
    .bind(azo_user_id)
    .bind(status)
    .bind(error)
    .execute(&mut *tx)
    .await
    .unwrap();
    nexus_store::commit(tx).await.unwrap();
}

async fn console_shows_and_retries_the_push(app: TestApp) {
    let ids = users_named(&app, &["Katherine Johnson"]).await;
    let user = &ids[0];
    let tenant = app.get("/v1/idp_tenants").await.body["value"][0].clone();
    let tenant_id = tenant["id"].as_i64().unwrap();
    let linked = app
        .put(
            &format!("/v1/users/{user}/idp_tenants/{tenant_id}"),
            json!({"strategy": "auth0", "azoUserId": "auth0|kj", "azoConnectionId": "con_1"}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let browser = Browser::new(&app);
    browser
        .signed_in(
            &app.key("user.read push.read tenant.read tenant.write audit.read")
                .await,
        )
        .await;
    let path = format!("/console/users/{user}");
    let push_cell = |page: &Page| {
        let start = page
            .body
            .find(r#"<td class="push-state">"#)
            .expect("a push cell");
        let end = start + page.body[start..].find("</td>").unwrap();
        strip_tags(&page.body[start..end])
    };

    set_push(
        &app,
        tenant_id,
        "auth0|kj",
        "pending",
        Some("Auth0 answered 503"),
    )
    .await;
    let page = browser.get(&path).await;
    assert_eq!(
        push_cell(&page),
        "pending (attempt 3 failed: Auth0 answered 503)"
    );
    set_push(
        &app,
        tenant_id,
        "auth0|kj",
        "failed",
        Some("the user does not exist"),
    )
    .await;
    let page = browser.get(&path).await;
    assert_eq!(push_cell(&page), "failed: the user does not exist");

    // The tenants list counts the failure; the tenant's page lists it with
    // a retry, which makes it pending again, audited.
    let list = browser.get("/console/idp-tenants").await;
    assert!(
        list.body.contains("<strong>1</strong> failed for good"),
        "{}",
        list.body
    );
    let tenant_page = browser
        .get(&format!("/console/idp-tenants/{tenant_id}"))
        .await;
    assert_eq!(tenant_page.status, 200, "{}", tenant_page.body);
    let failures = rows(&tenant_page);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("auth0|kj|3|the user does not exist|"),
        "{failures:?}"
    );
    let retry = format!("/console/idp-tenants/{tenant_id}/retry");
    let retry_token = token_of(&tenant_page, &retry);
    let retried = submit(&browser, &tenant_page, &retry, &[("azoUserId", "auth0|kj")]).await;
    let tenant_page = followed(&browser, retried).await;
    assert!(
        tenant_page.body.contains("The push is pending again."),
        "{}",
        tenant_page.body
    );
    let page = browser.get(&path).await;
    assert_eq!(push_cell(&page), "pending");
    let trail = app
        .get(&format!("/v1/audit-events?$filter=operation eq 'RetryPush' and resourceId eq '{tenant_id}/auth0|kj'"))
        .await;
    assert_eq!(
        trail.body["value"].as_array().unwrap().len(),
        1,
        "{}",
        trail.body
    );
    assert_eq!(
        trail.body["value"][0]["changes"]["status"],
        json!({"before": "failed", "after": "pending"})
    );
    // Again: nothing failed, nothing to do.
    let again = browser
        .post(&retry, &[("csrf", &retry_token), ("azoUserId", "auth0|kj")])
        .await;
    let again = followed(&browser, again).await;
    assert!(again.body.contains("nothing to retry"), "{}", again.body);

    // Pushed: no outbox row.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("DELETE FROM push_outbox")
        .execute(&mut *tx)
        .await
        .unwrap();
    nexus_store::commit(tx).await.unwrap();
    assert_eq!(push_cell(&browser.get(&path).await), "pushed");

    // Without the permission to change the tenant, no retry is offered, and
    // a retry posted anyway is refused.
    set_push(&app, tenant_id, "auth0|kj", "failed", Some("gone")).await;
    let reader = Browser::new(&app);
    reader
        .signed_in(&app.key("push.read tenant.read").await)
        .await;
    let tenant_page = reader
        .get(&format!("/console/idp-tenants/{tenant_id}"))
        .await;
    assert!(tenant_page.body.contains("gone"));
    assert!(!tenant_page.body.contains(&retry), "{}", tenant_page.body);
}

async fn console_shows_organizations_roles_and_the_trail(app: TestApp) {
    let ids = users_named(&app, &["Mary Jackson"]).await;
    let organization: Value = app.get("/v1/organizations").await.body["value"][0].clone();
    let org_id = organization["id"].as_i64().unwrap();
    let browser = Browser::new(&app);
    browser
        .signed_in(
            &app.key(
                "organization.read organization.write role.read role.write audit.read user.read",
            )
            .await,
        )
        .await;

    let list = browser.get("/console/organizations?q=acme").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(rows(&list), ["acme Inc.|Customer|active"]);
    let path = format!("/console/organizations/{org_id}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            r#"<a href="/console/users/{}">Mary Jackson</a>"#,
            ids[0]
        )),
        "{}",
        page.body
    );

    // A domain added through the console, shown, then deleted; a bad one
    // is the API's problem.
    let bad = submit(
        &browser,
        &page,
        &format!("{path}/domains"),
        &[
            ("domain", "not a domain"),
            ("authenticationMethod", "Database"),
        ],
    )
    .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert!(bad.body.contains("<code>domain</code>"), "{}", bad.body);
    let added = submit(
        &browser,
        &page,
        &format!("{path}/domains"),
        &[
            ("domain", "acme.example.com"),
            ("authenticationMethod", "Database"),
        ],
    )
    .await;
    let page = followed(&browser, added).await;
    assert!(page.body.contains("The domain is added"), "{}", page.body);
    let domains = app
        .get(&format!("/v1/organizations/{org_id}/domains"))
        .await
        .body["value"]
        .clone();
    assert_eq!(domains[0]["domain"], "acme.example.com");
    let delete = format!("{path}/domains/{}/delete", domains[0]["domainId"]);
    let deleted = submit(&browser, &page, &delete, &[]).await;
    let page = followed(&browser, deleted).await;
    assert!(
        page.body.contains("The domain is deleted."),
        "{}",
        page.body
    );
    assert_eq!(
        app.get(&format!("/v1/organizations/{org_id}/domains"))
            .await
            .body["value"],
        json!([])
    );
    assert!(
        page.body.contains("<td>CreateOrganization</td>"),
        "the organization's history"
    );

    // Roles and their connection maps.
    let role = app
        .post("/v1/roles", json!({"name": "agents", "audience": "https://desk", "description": "Help desk", "permissions": ["tickets.read"]}))
        .await;
    assert_eq!(role.status, 201, "{}", role.body);
    let role_id = role.body["id"].as_str().unwrap();
    let roles = browser.get("/console/roles").await;
    assert_eq!(rows(&roles), ["agents|https://desk|Help desk"]);
    let role_path = format!("/console/roles/{role_id}");
    let page = browser.get(&role_path).await;
    assert!(page.body.contains("<li>tickets.read</li>"), "{}", page.body);
    let mapped = submit(
        &browser,
        &page,
        &format!("{role_path}/maps"),
        &[
            ("groupName", "Desk Agents"),
            ("azoConnectionId", "con_42"),
            ("name", ""),
        ],
    )
    .await;
    let page = followed(&browser, mapped).await;
    assert!(
        page.body.contains("The connection map is added."),
        "{}",
        page.body
    );
    let maps = app
        .get(&format!("/v1/roles/{role_id}/connection-maps"))
        .await
        .body["value"]
        .clone();
    assert_eq!(maps[0]["groupName"], "Desk Agents");
    let map_rows = rows(&page);
    assert!(
        map_rows.iter().any(|r| r.contains("Desk Agents|con_42")),
        "{map_rows:?}"
    );
    let delete = format!("{role_path}/maps/{}/delete", maps[0]["id"]);
    let deleted = submit(&browser, &page, &delete, &[]).await;
    followed(&browser, deleted).await;
    assert_eq!(
        app.get(&format!("/v1/roles/{role_id}/connection-maps"))
            .await
            .body["value"],
        json!([])
    );

    // The whole trail, newest first.
    let trail = browser.get("/console/audit").await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    let events = rows(&trail);
    assert!(events[0].contains("DeleteConnectionMap"), "{events:?}");
    assert!(events
        .iter()
        .any(|e| e.contains("CreateOrganizationDomain")));
}

async fn console_sends_a_password_reset(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "console-reset@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    let browser = Browser::new(&app);
    browser
        .signed_in(&app.key("user.read user.password").await)
        .await;
    let path = format!("/console/users/{user}");
    let page = browser.get(&path).await;
    let action = format!("{path}/password-reset");

    // An application Auth0 does not know: the API's problem, nothing sent.
    let refused = submit(&browser, &page, &action, &[("clientId", "unknown-app")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(r#"<div class="problem" role="alert">"#),
        "{}",
        refused.body
    );
    assert!(inbox(&tenant, email).await.is_empty());

    let sent = submit(
        &browser,
        &page,
        &action,
        &[("clientId", auth0_sim::DEFAULT_CLIENT_ID)],
    )
    .await;
    let page = followed(&browser, sent).await;
    assert!(
        page.body.contains("A password reset email is on its way."),
        "{}",
        page.body
    );
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "reset_password");
}

async fn console_shows_why_a_user_holds_each_role(app: TestApp) {
    let user = linked_user(&app).await;
    let desk = app
        .post(
            "/v1/roles",
            json!({"name": "desk", "audience": "https://desk", "permissions": []}),
        )
        .await;
    assert_eq!(desk.status, 201, "{}", desk.body);
    let desk_id = desk.body["id"].as_str().unwrap();
    let mapped = app
        .post(
            &format!("/v1/roles/{desk_id}/connection-maps"),
            json!({"groupName": "Desk", "azoConnectionId": "corp-ad"}),
        )
        .await;
    assert_eq!(mapped.status, 201, "{}", mapped.body);
    let admin = app
        .post(
            "/v1/roles",
            json!({"name": "organization-admin", "audience": "https://desk", "permissions": []}),
        )
        .await;
    assert_eq!(admin.status, 201, "{}", admin.body);
    let synced = app
        .put(
            &format!("/v1/users/{user}/$sync"),
            sync_body(&["Desk"], &[]),
        )
        .await;
    assert_eq!(synced.status, 200, "{}", synced.body);
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [desk_id]}),
    )
    .await;

    let browser = Browser::new(&app);
    browser
        .signed_in(&app.key("user.read role.read role.write").await)
        .await;
    let page = browser.get(&format!("/console/users/{user}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page.body.find(r#"<h2 id="roles">"#).unwrap();
    let section = &page.body[start..start + page.body[start..].find("</section>").unwrap()];
    let organization = app.get("/v1/organizations").await.body["value"][0]["id"].clone();
    let held: Vec<String> = section
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .take(3)
                .map(|cell| strip_tags(&format!("<td{cell}")))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    let mut held = held;
    held.sort();
    assert_eq!(
        held,
        [
            "desk|IdP group Desk|never".to_owned(),
            "desk|assignment|never".to_owned(),
            format!("organization-admin|membership of organization {organization}|never"),
        ]
    );
    assert!(
        page.body
            .contains(r#"<ul class="inline"><li>Desk</li></ul>"#),
        "the account's groups"
    );
    // Only the assignment can be removed here.
    assert_eq!(section.matches("Remove the role").count(), 1, "{section}");
}

async fn console_invites_a_member(app: TestApp) {
    app.tenant("eu-1").await;
    let organization = crate::invitations::inviting_organization(&app, "invitees", "eu-1").await;
    let browser = Browser::new(&app);
    browser
        .signed_in(
            &app.key("organization.read organization.write user.read user.write")
                .await,
        )
        .await;
    let path = format!("/console/organizations/{organization}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let invite = format!("{path}/invite");

    // A bad address: the API's problem, and nobody is created.
    let refused = submit(
        &browser,
        &page,
        &invite,
        &[("emailAddress", "not-an-address"), ("displayName", "")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("<code>emailAddress</code>"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("<h1>invitees Inc.</h1>"),
        "the organization's page again"
    );
    let members = format!("/v1/organizations/{organization}/members");
    assert_eq!(app.get(&members).await.body["value"], json!([]));

    let sent = submit(
        &browser,
        &page,
        &invite,
        &[
            ("emailAddress", "new.person@example.com"),
            ("displayName", "New Person"),
        ],
    )
    .await;
    let page = followed(&browser, sent).await;
    assert!(
        page.body.contains("The invitation is sent."),
        "{}",
        page.body
    );
    assert_eq!(rows(&page)[0].split('|').next().unwrap(), "New Person");
    let member = app.get(&members).await.body["value"][0].clone();
    let user = app
        .get(&format!("/v1/users/{}", member["userId"].as_str().unwrap()))
        .await;
    assert_eq!(user.body["emailAddress"], "new.person@example.com");
    assert_eq!(user.body["displayName"], "New Person");
}

async fn console_verifies_a_domain_and_removes_a_member(mut app: TestApp) {
    let zone = crate::dns_zone::DnsZone::start().await;
    app.domains = zone.config(std::time::Duration::from_secs(7 * 24 * 3600));
    app.restart().await;
    let ids = users_named(&app, &["Dorothy Vaughan"]).await;
    let organization = app.get("/v1/organizations").await.body["value"][0]["id"].clone();
    let domain = crate::dns_zone::domain("console");
    let added = app
        .post(
            &format!("/v1/organizations/{organization}/domains"),
            json!({"domain": domain, "verificationMethod": "DnsTxt", "authenticationMethod": "Federation"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let api = format!(
        "/v1/organizations/{organization}/domains/{}",
        added.body["domainId"]
    );
    let browser = Browser::new(&app);
    browser
        .signed_in(
            &app.key("organization.read organization.write user.read")
                .await,
        )
        .await;
    let path = format!("/console/organizations/{organization}");
    let item = format!("{path}/domains/{}", added.body["domainId"]);

    // A code, shown as the TXT record to publish.
    let page = browser.get(&path).await;
    let generated = submit(&browser, &page, &format!("{item}/generate-code"), &[]).await;
    let page = followed(&browser, generated).await;
    assert!(
        page.body.contains("A new verification code is ready"),
        "{}",
        page.body
    );
    let code = app.get(&api).await.body["verificationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = format!("_nexus-verification.{domain}");
    let value = format!("nexus-verification={code}");
    assert!(
        page.body
            .contains(&format!("<code>{record}</code> = <code>{value}</code>")),
        "{}",
        page.body
    );

    // Verifying before the record exists: the API's 409, naming the record.
    let early = submit(&browser, &page, &format!("{item}/verify"), &[]).await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(early.body.contains(&record), "{}", early.body);
    assert_eq!(app.get(&api).await.body["isVerified"], false);
    zone.set_txt(&record, &[&value]).await;
    let verified = submit(&browser, &early, &format!("{item}/verify"), &[]).await;
    let page = followed(&browser, verified).await;
    assert!(
        page.body.contains("The domain is verified."),
        "{}",
        page.body
    );
    assert_eq!(app.get(&api).await.body["isVerified"], true);
    assert!(
        !page.body.contains(&format!("{item}/verify")),
        "no Verify once verified"
    );

    // Removing the member.
    let remove = format!("{path}/members/{}/remove", ids[0]);
    let removed = submit(&browser, &page, &remove, &[]).await;
    let page = followed(&browser, removed).await;
    assert!(
        page.body
            .contains("The member is removed from the organization."),
        "{}",
        page.body
    );
    assert_eq!(
        app.get(&format!("/v1/organizations/{organization}/members"))
            .await
            .body["value"],
        json!([])
    );
}

/// Retrying takes the failed push's row under a lock: of retries racing,
/// one makes it pending (and is audited), the others find nothing failed.
async fn concurrent_retries_of_a_push_retry_it_once(app: TestApp) {
    users_named(&app, &["Annie Easley"]).await;
    let tenant_id = app.get("/v1/idp_tenants").await.body["value"][0]["id"]
        .as_i64()
        .unwrap();
    set_push(&app, tenant_id, "auth0|ae", "failed", Some("gone")).await;
    let browser = Browser::new(&app);
    browser
        .signed_in(&app.key("push.read tenant.read tenant.write").await)
        .await;
    let page = browser
        .get(&format!("/console/idp-tenants/{tenant_id}"))
        .await;
    let retry = format!("/console/idp-tenants/{tenant_id}/retry");
    let token = token_of(&page, &retry);
    let answers = futures::future::join_all((0..4).map(|_| {
        let (browser, retry, token) = (browser.copy(), retry.clone(), token.clone());
        async move {
            let answer = browser
                .post(&retry, &[("csrf", &token), ("azoUserId", "auth0|ae")])
                .await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
            answer.location().to_owned()
        }
    }))
    .await;
    let retried = answers
        .iter()
        .filter(|l| l.ends_with("?done=retried"))
        .count();
    let idle = answers
        .iter()
        .filter(|l| l.ends_with("?done=not-failed"))
        .count();
    assert_eq!((retried, idle), (1, 3), "{answers:?}");
    let trail = app
        .get("/v1/audit-events?$filter=operation eq 'RetryPush'")
        .await;
    assert_eq!(
        trail.body["value"].as_array().unwrap().len(),
        1,
        "{}",
        trail.body
    );
}
