//! Signing in to the console through Auth0: the authorization code flow
//! with PKCE against the simulator on loopback, its login form filled in
//! over HTTP as a browser would (no browser), and the session of the Nexus
//! user linked to the account that signed in.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use crate::console::{assert_redirects_to_sign_in, session_count, Browser, Page};
use crate::roles::role;
use crate::sim_tenant::{
    auth0_user, console_client, console_options, console_signs_in_through, fail, linked_user,
    recover, tenant, Tenant, CONSOLE_CLIENT_ID, SEEDED_PASSWORD,
};
use crate::support::{both_backends, test_auth, TestApp, API_AUDIENCE};

both_backends!(
    console_auth0_signs_people_in,
    console_auth0_refuses_callbacks_this_browser_did_not_start,
    console_auth0_refuses_accounts_no_nexus_user_holds,
    console_auth0_sessions_follow_the_user,
    console_auth0_sends_the_client_secret_it_has,
    console_auth0_needs_the_console_url_beyond_loopback
);

const CALLBACK: &str = "/console/sign-in/callback";
const EMAIL: &str = "ada@example.com";

/// Starts a sign-in: the tenant's `/authorize` URL the console sends the
/// browser to.
async fn start(browser: &Browser) -> url::Url {
    let started = browser.get("/console/sign-in/auth0").await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    started.assert_console_headers();
    url::Url::parse(started.location()).unwrap()
}

/// The browser at Auth0: opens the login form and submits it; where Auth0
/// sends the browser back (the console's callback, with code and state).
async fn log_in_at_auth0(authorize: &url::Url, email: &str, password: &str) -> url::Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    let (_, rest) = form
        .split_once(r#"name="state" value=""#)
        .unwrap_or_else(|| panic!("a login form: {form}"));
    let transaction = rest.split('"').next().unwrap();
    let login = authorize.join("/u/login").unwrap();
    let reply = http
        .post(login)
        .form(&[
            ("state", transaction),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let location = reply
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let Some(location) = location else {
        panic!("{status}: {}", reply.text().await.unwrap());
    };
    url::Url::parse(&location).unwrap()
}

/// The path and query of `url`, which must be on the console.
fn on_console(browser: &Browser, url: &url::Url) -> String {
    let text = url.as_str();
    let path = text
        .strip_prefix(&browser.base)
        .unwrap_or_else(|| panic!("{text} is not on {}", browser.base));
    assert!(path.starts_with(&format!("{CALLBACK}?")), "{path}");
    path.to_owned()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A whole sign-in as `email` through Auth0: the callback's page.
async fn sign_in_through_auth0(browser: &Browser, email: &str) -> Page {
    let authorize = start(browser).await;
    let back = log_in_at_auth0(&authorize, email, SEEDED_PASSWORD).await;
    browser.get(&on_console(browser, &back)).await
}

/// The CSRF token of the form posted to `action` on the page.
fn form_csrf(page: &Page, action: &str) -> String {
    let marker = format!(r#"action="{action}""#);
    let (_, form) = page
        .body
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no form to {action}: {}", page.body));
    let (_, rest) = form.split_once(r#"name="csrf" value=""#).unwrap();
    rest.split('"').next().unwrap().to_owned()
}

/// The sim tenant's id in Nexus.
async fn sim_id(app: &TestApp) -> i64 {
    app.get("/v1/idp_tenants/sim").await.body["id"]
        .as_i64()
        .unwrap()
}

/// The user's audit trail, oldest first.
async fn trail(app: &TestApp, actor: &str) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/v1/audit-events?$filter=actor eq '{actor}'&$orderby=time"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"].as_array().unwrap().clone()
}

fn assert_no_session_cookie(page: &Page) {
    assert!(page.set_cookie("nexus_console").is_none(), "{}", page.body);
}

/// The refusal page of a sign-in through Auth0.
fn assert_refused(page: &Page, status: StatusCode, text: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    page.assert_console_headers();
    assert!(page.body.contains(r#"role="alert""#), "{}", page.body);
    assert!(page.body.contains(text), "{text}: {}", page.body);
    assert!(
        page.body.contains(r#"href="/console/sign-in""#),
        "{}",
        page.body
    );
    assert_no_session_cookie(page);
}

/// A user of the simulator linked in Nexus, holding `permissions` for Nexus
/// through a role: (user id, role id).
async fn console_user(app: &TestApp, tenant: &Tenant, permissions: &[&str]) -> (String, String) {
    let (user, _) = linked_user(app, tenant, EMAIL).await;
    let role = role(app, "console-users", API_AUDIENCE, permissions).await;
    let role_id = role["id"].as_str().unwrap().to_owned();
    // A role of another audience gives Nexus nothing.
    let elsewhere = crate::roles::role(
        app,
        "elsewhere",
        "https://other.example.com",
        &["apikey.write"],
    )
    .await;
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [role_id, elsewhere["id"]]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);
    (user, role_id)
}

async fn console_auth0_signs_people_in(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;

    // Not configured: API keys only.
    let browser = Browser::new(&app);
    let form = browser.get("/console/sign-in").await;
    assert!(!form.body.contains("Auth0"), "{}", form.body);
    for path in [
        "/console/sign-in/auth0",
        "/console/sign-in/callback?code=x&state=y",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("not configured"), "{}", page.body);
        page.assert_console_headers();
    }

    console_signs_in_through(&mut app, &tenant).await;
    let (user, _) = console_user(&app, &tenant, &["user.read", "user.write"]).await;
    let browser = Browser::new(&app);

    // The sign-in page offers Auth0 above the API key form.
    let form = browser.get("/console/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    let link = r#"<a class="button" href="/console/sign-in/auth0">Sign in with Auth0</a>"#;
    let at = form
        .body
        .find(link)
        .unwrap_or_else(|| panic!("{}", form.body));
    assert!(at < form.body.find(r#"name="keyId""#).unwrap());

    // The start: the sign-in's secret in a cookie, and the tenant's
    // /authorize with everything derived from it.
    let started = browser.get("/console/sign-in/auth0").await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let secret = browser.cookie("nexus_console_oidc").unwrap();
    assert_eq!(secret.len(), 43, "256 random bits: {secret}");
    assert_eq!(
        started.set_cookie("nexus_console_oidc").unwrap(),
        format!(
            "nexus_console_oidc={secret}; HttpOnly; SameSite=Lax; Path=/console/sign-in; Max-Age=600"
        )
    );
    let authorize = url::Url::parse(started.location()).unwrap();
    assert_eq!(
        authorize.as_str().split('?').next().unwrap(),
        format!("{}/authorize", tenant.sim.base_url())
    );
    let expect = [
        ("response_type", "code"),
        ("client_id", CONSOLE_CLIENT_ID),
        ("scope", "openid profile email"),
        ("code_challenge_method", "S256"),
        // An administration console never signs in silently from an Auth0
        // session: after sign-out, the next sign-in asks again.
        ("prompt", "login"),
    ];
    for (name, value) in expect {
        assert_eq!(param(&authorize, name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(
        param(&authorize, "redirect_uri").unwrap(),
        format!("{}{CALLBACK}", app.base)
    );
    let derived: Vec<String> = ["state", "nonce", "code_challenge"]
        .iter()
        .map(|name| param(&authorize, name).unwrap())
        .collect();
    for value in &derived {
        assert_eq!(value.len(), 43, "{value}");
        assert_ne!(value, &secret);
    }
    assert_ne!(derived[0], derived[1]);
    // Starting again in another tab goes on with the same sign-in.
    let again = start(&browser).await;
    assert_eq!(param(&again, "state"), param(&authorize, "state"));

    // At Auth0, and back: signed in, from a page of the console's own.
    let back = log_in_at_auth0(&authorize, EMAIL, SEEDED_PASSWORD).await;
    assert_eq!(param(&back, "state"), param(&authorize, "state"));
    let page = browser.get(&on_console(&browser, &back)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_console_headers();
    assert!(
        page.body
            .contains(r#"<meta http-equiv="refresh" content="0;url=/console">"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Signed in as Ada Lovelace"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"<a href="/console">"#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script"), "{}", page.body);
    let token = browser.cookie("nexus_console").expect("a session");
    assert_eq!(
        page.set_cookie("nexus_console").unwrap(),
        format!("nexus_console={token}; HttpOnly; SameSite=Strict; Path=/console")
    );
    assert_eq!(
        page.set_cookie("nexus_console_oidc").unwrap(),
        "nexus_console_oidc=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/console/sign-in"
    );
    assert!(browser.cookie("nexus_console_oidc").is_none());

    // The session: the user's, through the sim tenant.
    let sim = sim_id(&app).await;
    let mut conn = app.store.begin_read().await.unwrap();
    let row = sqlx::query(
        "SELECT kind, api_key_id, user_id, idp_tenant_id, token_hash FROM console_sessions",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(row.get::<String, _>("kind"), "user");
    assert_eq!(row.get::<Option<String>, _>("api_key_id"), None);
    assert_eq!(row.get::<String, _>("user_id"), user);
    assert_eq!(i64::from(row.get::<i32, _>("idp_tenant_id")), sim);
    assert_eq!(
        row.get::<String, _>("token_hash"),
        nexus_service::auth::secret_hash(&token)
    );

    // Home: who signed in and what its role gives it for Nexus (the other
    // audience's role gives nothing).
    let home = browser.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(
        home.body.contains("<span>Signed in as Ada Lovelace</span>"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("<h1>Signed in as Ada Lovelace</h1>"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(&format!(
            r#"Nexus user <a href="/console/users/{user}"><code>{user}</code></a> ({EMAIL}), signed in through Auth0"#
        )),
        "{}",
        home.body
    );
    assert!(
        home.body
            .contains(r#"<ul class="permissions"><li>user.read</li><li>user.write</li></ul>"#),
        "{}",
        home.body
    );
    assert!(!home.body.contains("apikey.write"), "{}", home.body);

    // A change through the console is the user's, in Nexus and its audit.
    let other = app.user().await;
    let path = format!("/console/users/{other}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let action = format!("{path}/profile");
    let csrf = form_csrf(&page, &action);
    let saved = browser
        .post(&action, &[("csrf", &csrf), ("displayName", "Grace Hopper")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("{path}?done=profile"));
    let read = app.get(&format!("/v1/users/{other}")).await.body;
    assert_eq!(read["displayName"], "Grace Hopper");
    assert_eq!(read["modifiedBy"], user.as_str());

    // Sign-out.
    let out = browser
        .post("/console/sign-out", &[("csrf", &home.csrf())])
        .await;
    assert_redirects_to_sign_in(&out);
    assert!(browser.cookie("nexus_console").is_none());
    assert_eq!(session_count(&app).await, 0);
    assert_redirects_to_sign_in(&browser.get("/console").await);

    // The audit trail: the sign-in, the change and the sign-out, each by
    // the user through the sim tenant.
    let events = trail(&app, &user).await;
    let by_user: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["actorType"], "user", "{e}");
            assert_eq!(e["actorTenantId"], sim, "{e}");
            (
                e["operation"].as_str().unwrap(),
                e["resourceId"].as_str().unwrap(),
            )
        })
        .collect();
    let session_id = events[0]["resourceId"].as_str().unwrap();
    assert_eq!(by_user.len(), 3, "{by_user:?}");
    assert_eq!(by_user[0], ("ConsoleSignIn", session_id));
    assert_eq!(by_user[1].1, other.as_str(), "{by_user:?}");
    assert_eq!(by_user[2], ("ConsoleSignOut", session_id));
    let opened = &events[0]["changes"];
    assert!(opened.to_string().contains(&user), "{opened}");
}

async fn console_auth0_refuses_callbacks_this_browser_did_not_start(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    console_signs_in_through(&mut app, &tenant).await;
    console_user(&app, &tenant, &["user.read"]).await;
    let browser = Browser::new(&app);
    let authorize = start(&browser).await;
    let back = log_in_at_auth0(&authorize, EMAIL, SEEDED_PASSWORD).await;
    let path = on_console(&browser, &back);
    let code = param(&back, "code").unwrap();
    let state = param(&back, "state").unwrap();

    // A browser without the sign-in's cookie (an attacker's code pushed into
    // someone's browser), one with another sign-in's cookie, no state, or
    // another state: refused before the code is looked at.
    let stranger = Browser::new(&app);
    let other = Browser::new(&app);
    start(&other).await;
    let mut damaged = state.clone();
    damaged.replace_range(..1, if state.starts_with('A') { "B" } else { "A" });
    let cases = [
        (&stranger, path.clone()),
        (&other, path.clone()),
        (&browser, format!("{CALLBACK}?code={code}")),
        (&browser, format!("{CALLBACK}?code={code}&state={damaged}")),
        (&browser, format!("{CALLBACK}?code={code}&state=")),
        (&browser, format!("{CALLBACK}?code={code}&state={state}x")),
        // Auth0's error is not shown for another state: no message of
        // anybody's making on the console's pages.
        (
            &browser,
            format!(
                "{CALLBACK}?error=access_denied&error_description=Call%20555-0100&state={damaged}"
            ),
        ),
    ];
    for (who, path) in cases {
        let page = who.get(&path).await;
        assert_refused(
            &page,
            StatusCode::FORBIDDEN,
            "was not started in this browser",
        );
        assert!(!page.body.contains("555-0100"), "{}", page.body);
        // The sign-in's cookie stays for the sign-in it belongs to.
        assert!(page.set_cookie("nexus_console_oidc").is_none(), "{path}");
    }
    assert_eq!(session_count(&app).await, 0);

    // The code was not used up: this browser's callback signs in.
    let copy = browser.copy();
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(session_count(&app).await, 1);

    // The same callback again, with a copy of the cookie: Auth0 refuses
    // the used code, and no second session opens.
    let replayed = copy.get(&path).await;
    assert_refused(&replayed, StatusCode::UNAUTHORIZED, "invalid_grant");
    assert!(
        replayed.body.contains("Invalid authorization code"),
        "{}",
        replayed.body
    );
    assert!(copy.cookie("nexus_console_oidc").is_none(), "cleared");
    assert_eq!(session_count(&app).await, 1);

    // Auth0's own refusal, for this browser's sign-in, is shown.
    let third = Browser::new(&app);
    let authorize = start(&third).await;
    let state = param(&authorize, "state").unwrap();
    let page = third
        .get(&format!(
            "{CALLBACK}?error=access_denied&error_description=The%20user%20cancelled&state={state}"
        ))
        .await;
    assert_refused(&page, StatusCode::UNAUTHORIZED, "access_denied");
    assert!(page.body.contains("The user cancelled"), "{}", page.body);
    assert!(third.cookie("nexus_console_oidc").is_none(), "cleared");
    // And a callback without a code (a new sign-in: the last one is over).
    let state = param(&start(&third).await, "state").unwrap();
    let page = third.get(&format!("{CALLBACK}?state={state}")).await;
    assert_refused(&page, StatusCode::BAD_REQUEST, "no authorization code");
    assert_eq!(session_count(&app).await, 1);
}

async fn console_auth0_refuses_accounts_no_nexus_user_holds(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    console_signs_in_through(&mut app, &tenant).await;
    let email = "stranger@example.com";
    auth0_user(&tenant, auth0_sim::DEFAULT_CONNECTION, email).await;
    let browser = Browser::new(&app);
    let page = sign_in_through_auth0(&browser, email).await;
    assert_refused(
        &page,
        StatusCode::FORBIDDEN,
        "is not linked to a Nexus user",
    );
    assert!(
        page.body
            .contains(&format!("The Auth0 account {email} of tenant sim")),
        "{}",
        page.body
    );
    assert!(browser.cookie("nexus_console_oidc").is_none(), "cleared");
    assert_redirects_to_sign_in(&browser.get("/console").await);
    assert_eq!(session_count(&app).await, 0);

    // A configured tenant that does not exist: no sign-in through Auth0.
    let mut options = console_options();
    options.idp_tenant = "no-such-tenant".to_owned();
    app.console_auth0 = Some(options);
    app.restart().await;
    let browser = Browser::new(&app);
    let page = browser.get("/console/sign-in/auth0").await;
    assert_refused(&page, StatusCode::SERVICE_UNAVAILABLE, "no-such-tenant");
    assert!(browser.cookie("nexus_console_oidc").is_none());
}

async fn console_auth0_sessions_follow_the_user(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    console_signs_in_through(&mut app, &tenant).await;
    let (user, role_id) = console_user(&app, &tenant, &["user.read", "user.write"]).await;
    let browser = Browser::new(&app);
    assert_eq!(
        sign_in_through_auth0(&browser, EMAIL).await.status,
        StatusCode::OK
    );
    let other = app.user().await;
    let path = format!("/console/users/{other}");
    let page = browser.get(&path).await;
    let csrf = form_csrf(&page, &format!("{path}/profile"));

    // The role loses user.write: the next request holds only user.read.
    let patched = app
        .patch(
            &format!("/v1/roles/{role_id}"),
            json!({"permissions": ["user.read"]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let home = browser.get("/console").await;
    assert!(
        home.body
            .contains(r#"<ul class="permissions"><li>user.read</li></ul>"#),
        "{}",
        home.body
    );
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Save profile"), "{}", page.body);
    // A form opened before is refused by the API now.
    let refused = browser
        .post(
            &format!("{path}/profile"),
            &[("csrf", &csrf), ("displayName", "Grace Hopper")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("user.write"), "{}", refused.body);
    assert_ne!(
        app.get(&format!("/v1/users/{other}")).await.body["displayName"],
        "Grace Hopper"
    );

    // Blocked in Nexus (and not yet in Auth0, which is down for changes):
    // the session ends at its next request, and Nexus refuses a new one.
    fail(&tenant, &["PATCH"]).await;
    let blocked = app
        .patch(&format!("/v1/users/{user}"), json!({"isBlocked": true}))
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.body);
    let page = browser.get("/console").await;
    assert_redirects_to_sign_in(&page);
    assert!(page
        .set_cookie("nexus_console")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(session_count(&app).await, 0);
    let again = Browser::new(&app);
    let page = sign_in_through_auth0(&again, EMAIL).await;
    assert_refused(&page, StatusCode::FORBIDDEN, "blocked");
    assert!(
        page.body.contains("The Nexus user Ada Lovelace is blocked"),
        "{}",
        page.body
    );
    assert_eq!(session_count(&app).await, 0);
    recover(&tenant).await;

    // Unblocked, the user signs in again; deleted, its session goes.
    let unblocked = app
        .patch(&format!("/v1/users/{user}"), json!({"isBlocked": false}))
        .await;
    assert_eq!(unblocked.status, StatusCode::OK, "{}", unblocked.body);
    let page = sign_in_through_auth0(&again, EMAIL).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(again.get("/console").await.status, StatusCode::OK);

    // The account signed in with, unlinked from the user: the session ends
    // (the user may still hold other accounts, but not this one).
    let tenant_id = sim_id(&app).await;
    let account = app.get(&format!("/v1/users/{user}")).await.body["identities"][0].clone();
    let unlinked = app
        .delete(&format!("/v1/users/{user}/idp_tenants/{tenant_id}"))
        .await;
    assert!(unlinked.status.is_success(), "{}", unlinked.body);
    assert_redirects_to_sign_in(&again.get("/console").await);
    assert_eq!(session_count(&app).await, 0, "the session is gone");
    let relinked = app
        .put(
            &format!("/v1/users/{user}/idp_tenants/{tenant_id}"),
            json!({"strategy": account["strategy"], "azoUserId": account["azoUserId"],
                   "azoConnectionId": account["azoConnectionId"]}),
        )
        .await;
    assert!(relinked.status.is_success(), "{}", relinked.body);
    let page = sign_in_through_auth0(&again, EMAIL).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(again.get("/console").await.status, StatusCode::OK);

    let deleted = app.delete(&format!("/v1/users/{user}")).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(session_count(&app).await, 0, "the row went with its user");
    assert_redirects_to_sign_in(&again.get("/console").await);
}

/// A confidential client's secret goes with the code (a wrong one is
/// refused by Auth0); a public client sends none.
async fn console_auth0_sends_the_client_secret_it_has(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    console_user(&app, &tenant, &["user.read"]).await;
    for (secret, status) in [
        (Some("wrong-secret"), StatusCode::UNAUTHORIZED),
        (None, StatusCode::OK),
    ] {
        app.console_auth0 = Some(nexus::ConsoleAuth0Options {
            client_secret: secret.map(str::to_owned),
            ..console_options()
        });
        app.restart().await;
        console_client(&tenant, &app.base).await;
        let browser = Browser::new(&app);
        let page = sign_in_through_auth0(&browser, EMAIL).await;
        assert_eq!(page.status, status, "{}", page.body);
        if secret.is_some() {
            assert_refused(&page, status, "access_denied");
            assert_eq!(session_count(&app).await, 0);
        } else {
            assert_eq!(browser.get("/console").await.status, StatusCode::OK);
        }
    }
}

/// Beyond loopback the server cannot know its own public address: without
/// a console URL it offers no sign-in through Auth0; with one, the callback
/// is under it and the sign-in's cookie is `Secure`.
async fn console_auth0_needs_the_console_url_beyond_loopback(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    for url in [None, Some("https://nexus.example.com")] {
        let store = nexus::open_store(app.database_url()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let options = nexus::ServerOptions {
            console_auth0: Some(nexus::ConsoleAuth0Options {
                url: url.map(str::to_owned),
                ..console_options()
            }),
            ..Default::default()
        };
        let server = nexus::start_with_options(store, test_auth(), options, listener)
            .await
            .unwrap();
        let mut browser = Browser::new(&app);
        browser.base = format!("http://127.0.0.1:{}", server.addr.port());
        let form = browser.get("/console/sign-in").await;
        let started = browser.get("/console/sign-in/auth0").await;
        match url {
            None => {
                assert!(!form.body.contains("Auth0"), "{}", form.body);
                assert_eq!(started.status, StatusCode::NOT_FOUND);
            }
            Some(url) => {
                assert!(form.body.contains("Sign in with Auth0"), "{}", form.body);
                assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
                let authorize = url::Url::parse(started.location()).unwrap();
                assert!(authorize
                    .as_str()
                    .starts_with(&format!("{}/authorize?", tenant.sim.base_url())));
                assert_eq!(
                    param(&authorize, "redirect_uri").unwrap(),
                    format!("{url}{CALLBACK}")
                );
                let cookie = started.set_cookie("nexus_console_oidc").unwrap();
                assert!(
                    cookie.ends_with("; Path=/console/sign-in; Max-Age=600; Secure"),
                    "{cookie}"
                );
            }
        }
        server.stop().await.unwrap();
    }
}
