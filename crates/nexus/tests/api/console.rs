//! The administration console's foundation: sessions, sign-in with an API
//! key, CSRF tokens, security headers. Real HTTP through a client that
//! keeps cookies (a small jar of its own) and follows no redirect.

use std::collections::HashMap;
use std::sync::Mutex;

use nexus_core::Timestamp;
use nexus_service::auth::AuthConfig;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row;

use crate::support::{basic, both_backends, test_auth, TestApp};

both_backends!(
    console_needs_a_session,
    console_signs_in_and_out,
    console_ends_with_its_key,
    console_session_expires,
    console_escapes_what_it_shows,
    console_cookies_are_secure_off_loopback
);

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A browser: keeps the cookies it is given, follows no redirect.
pub(crate) struct Browser {
    pub(crate) base: String,
    client: reqwest::Client,
    pub(crate) jar: Mutex<HashMap<String, String>>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map_or("", |l| l.to_str().unwrap())
    }

    /// The `Set-Cookie` header that sets `name`.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// The CSRF token of the (first) form on the page.
    pub(crate) fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }

    pub(crate) fn assert_console_headers(&self) {
        let header = |name: &str| {
            self.headers
                .get(name)
                .unwrap_or_else(|| panic!("{name} missing ({})", self.status))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("content-security-policy"), CSP);
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("cache-control"), "no-store");
    }
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: Mutex::default(),
        }
    }

    /// Another browser holding the same cookies (a copy taken now).
    pub(crate) fn copy(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: self.client.clone(),
            jar: Mutex::new(self.jar.lock().unwrap().clone()),
        }
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        let cookies = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookies.is_empty() {
            request = request.header("cookie", cookies);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, cookie) = pair.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            if attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), cookie.to_owned());
            }
        }
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in, which must succeed: a 303 to the home page.
    pub(crate) async fn signed_in(&self, credential: &str) -> Page {
        let page = self.sign_in(credential).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/console");
        page.assert_console_headers();
        page
    }

    /// Signs in with `keyId:secret` through the form.
    pub(crate) async fn sign_in(&self, credential: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let (key_id, secret) = credential.split_once(':').unwrap();
        self.post(
            "/console/sign-in",
            &[
                ("keyId", key_id),
                ("secret", secret),
                ("csrf", &form.csrf()),
            ],
        )
        .await
    }
}

pub(crate) async fn session_count(app: &TestApp) -> i64 {
    let mut conn = app.store.begin_read().await.unwrap();
    sqlx::query("SELECT COUNT(*) AS n FROM console_sessions")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get::<i64, _>("n")
}

/// Sets `column` of every session to `seconds` from now: time passes.
async fn move_sessions(app: &TestApp, column: &str, seconds: i64) {
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query(&format!("UPDATE console_sessions SET {column} = $1"))
        .bind(Timestamp::now().plus_seconds(seconds).to_text())
        .execute(&mut *tx)
        .await
        .unwrap();
    nexus_store::commit(tx).await.unwrap();
}

pub(crate) fn assert_redirects_to_sign_in(page: &Page) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/console/sign-in");
    page.assert_console_headers();
}

async fn console_needs_a_session(app: TestApp) {
    let browser = Browser::new(&app);
    // Every page and every form of every section.
    for path in [
        "/console",
        "/console/x",
        "/console/users",
        "/console/users/results?q=a",
        "/console/users/42",
        "/console/organizations",
        "/console/organizations/1",
        "/console/roles",
        "/console/roles/r",
        "/console/idp-tenants",
        "/console/idp-tenants/1",
        "/console/audit",
    ] {
        assert_redirects_to_sign_in(&browser.get(path).await);
    }
    for path in [
        "/console/x",
        "/console/users/42/block",
        "/console/users/42/upns",
        "/console/users/42/upns/u/delete",
        "/console/users/42/roles/r/remove",
        "/console/organizations/1/invite",
        "/console/organizations/1/domains/1/delete",
        "/console/roles/r/maps",
        "/console/roles/r/maps/1/delete",
        "/console/idp-tenants/1/retry",
    ] {
        assert_redirects_to_sign_in(&browser.post(path, &[("csrf", "x")]).await);
    }
    assert_redirects_to_sign_in(&browser.send(Method::HEAD, "/console", None).await);
    for (method, path) in [
        (Method::DELETE, "/console"),
        (Method::GET, "/console/sign-out"),
    ] {
        let page = browser.send(method, path, None).await;
        assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        page.assert_console_headers();
    }
    // Signing out needs a session before anything else.
    assert_redirects_to_sign_in(&browser.post("/console/sign-out", &[("csrf", "x")]).await);
    // A made-up token is no session.
    browser
        .jar
        .lock()
        .unwrap()
        .insert("nexus_console".into(), "made-up-token-aaaaaaaaaaaa".into());
    assert_redirects_to_sign_in(&browser.get("/console").await);

    // Open: the sign-in form and the assets.
    let form = browser.get("/console/sign-in").await;
    assert_eq!(form.status, 200);
    form.assert_console_headers();
    assert!(form.body.starts_with("<!DOCTYPE html>"), "{}", form.body);
    assert!(form.body.contains(r#"<html lang="en">"#));
    for id in ["key-id", "secret"] {
        assert!(
            form.body.contains(&format!(r#"<label for="{id}">"#)),
            "{id}"
        );
        assert!(form.body.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(form.body.contains("<header>") && form.body.contains("<main>"));
    let css = browser.get("/console/assets/console.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(css.body.contains("max-width"), "{}", css.body);
    css.assert_console_headers();
    let script = browser.get("/console/assets/console.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.body.contains("data-source"), "{}", script.body);

    // The console is not part of the API's document.
    let document = app.get("/openapi.json").await.body;
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.starts_with("/console")));
    assert!(paths.contains_key("/v1/users"));
}

async fn console_signs_in_and_out(app: TestApp) {
    let credential = app.key("user.read role.write").await;
    let browser = Browser::new(&app);

    // A wrong secret, and an unknown key id: the same answer, no session.
    let (key_id, _) = credential.split_once(':').unwrap();
    for (id, secret) in [(key_id, "wrong"), ("no-such-key", "wrong")] {
        let form = browser.get("/console/sign-in").await;
        let page = browser
            .post(
                "/console/sign-in",
                &[("keyId", id), ("secret", secret), ("csrf", &form.csrf())],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        assert!(
            page.body.contains(
                r#"<p role="alert">The key id or secret is wrong, or the key is revoked or expired.</p>"#
            ),
            "{}",
            page.body
        );
        assert!(page.body.contains(r#"name="keyId""#), "the form again");
        assert!(page.headers.get(SET_COOKIE).is_none(), "no cookie");
        page.assert_console_headers();
        assert!(browser.cookie("nexus_console").is_none());
    }
    assert_eq!(session_count(&app).await, 0);

    // The sign-in form's own CSRF check: a missing or foreign token, or no
    // double-submit cookie, is refused before the key is looked at.
    let form = browser.get("/console/sign-in").await;
    let (key_id, secret) = credential.split_once(':').unwrap();
    for csrf in ["", "00ff", &"a".repeat(64)] {
        let page = browser
            .post(
                "/console/sign-in",
                &[("keyId", key_id), ("secret", secret), ("csrf", csrf)],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        page.assert_console_headers();
    }
    let stranger = Browser::new(&app);
    let page = stranger
        .post(
            "/console/sign-in",
            &[
                ("keyId", key_id),
                ("secret", secret),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(session_count(&app).await, 0);

    // The right key: a session, its cookie exactly so (no Secure on loopback).
    let signed_in = browser.signed_in(&credential).await;
    let cookie = signed_in
        .set_cookie("nexus_console")
        .expect("a session cookie");
    let token = browser.cookie("nexus_console").unwrap();
    assert_eq!(token.len(), 43, "256 random bits, base64url: {token}");
    assert_eq!(
        cookie,
        format!("nexus_console={token}; HttpOnly; SameSite=Strict; Path=/console")
    );
    assert!(browser.cookie("nexus_console_sign_in").is_none(), "cleared");
    assert_eq!(session_count(&app).await, 1);
    // Only the token's hash is stored.
    let mut conn = app.store.begin_read().await.unwrap();
    let row = sqlx::query("SELECT token_hash, kind, api_key_id FROM console_sessions")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        row.get::<String, _>("token_hash"),
        nexus_service::auth::secret_hash(&token)
    );
    assert_eq!(row.get::<String, _>("kind"), "apiKey");
    assert_eq!(row.get::<String, _>("api_key_id"), key_id);

    // Home: the key's description and permissions, a sign-out form.
    let home = browser.get("/console").await;
    assert_eq!(home.status, 200, "{}", home.body);
    home.assert_console_headers();
    assert_eq!(home.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        home.body.contains("<h1>Signed in as test key</h1>"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("<li>role.write</li><li>user.read</li>")
            || home.body.contains("<li>user.read</li><li>role.write</li>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("<nav"), "{}", home.body);
    assert!(home.body.contains(r#"action="/console/sign-out""#));
    // Signed in, the sign-in page leads home.
    let again = browser.get("/console/sign-in").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), "/console");
    // An unknown page with a session: 404, still a console page.
    let missing = browser.get("/console/x").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.assert_console_headers();

    // Sign-out without the token, with a damaged one, or with another
    // session's: 403, still signed in.
    let right = home.csrf();
    assert_eq!(right.len(), 64, "hex HMAC-SHA256: {right}");
    assert_eq!(
        missing.csrf(),
        right,
        "every page's sign-out form carries it"
    );
    let damaged = format!(
        "{}{}",
        if right.starts_with('0') { '1' } else { '0' },
        &right[1..]
    );
    let other = Browser::new(&app);
    assert_eq!(other.sign_in(&credential).await.status, 303);
    let others = other.get("/console").await.csrf();
    assert_ne!(others, right, "each session has its own CSRF secret");
    for csrf in ["", damaged.as_str(), others.as_str()] {
        let page = browser.post("/console/sign-out", &[("csrf", csrf)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        page.assert_console_headers();
    }
    let page = browser.post("/console/sign-out", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(browser.get("/console").await.status, 200);
    assert_eq!(session_count(&app).await, 2);

    // The right token: the row is gone, the cookie cleared, and a copy of
    // the old cookie leads to sign-in.
    let old = browser.copy();
    let out = browser.post("/console/sign-out", &[("csrf", &right)]).await;
    assert_redirects_to_sign_in(&out);
    assert_eq!(
        out.set_cookie("nexus_console").unwrap(),
        "nexus_console=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/console"
    );
    assert!(browser.cookie("nexus_console").is_none());
    assert_eq!(session_count(&app).await, 1, "the other session stays");
    assert_redirects_to_sign_in(&old.get("/console").await);
    assert_eq!(other.get("/console").await.status, 200);

    // Both are in the audit trail, by the key.
    let trail = app
        .get(&format!("/v1/audit-events?$filter=actor eq '{key_id}'"))
        .await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    let operations: Vec<&str> = trail.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert!(operations.contains(&"ConsoleSignIn"), "{operations:?}");
    assert!(operations.contains(&"ConsoleSignOut"), "{operations:?}");
}

async fn console_ends_with_its_key(app: TestApp) {
    let credential = app.key("user.read").await;
    let (key_id, _) = credential.split_once(':').unwrap();
    let browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&credential).await.status, 303);
    assert_eq!(browser.get("/console").await.status, 200);

    let revoked = app.delete(&format!("/v1/api-keys/{key_id}")).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let page = browser.get("/console").await;
    assert_redirects_to_sign_in(&page);
    assert!(page
        .set_cookie("nexus_console")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(session_count(&app).await, 0, "the row went with its key");
    // And the key no longer signs in.
    assert_eq!(browser.sign_in(&credential).await.status, 401);
}

async fn console_session_expires(app: TestApp) {
    let credential = app.key("user.read").await;
    let browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&credential).await.status, 303);
    let idle = browser.copy();
    assert_eq!(browser.get("/console").await.status, 200);

    // Past its absolute expiry.
    move_sessions(&app, "expires_at", -1).await;
    assert_redirects_to_sign_in(&browser.get("/console").await);
    assert_eq!(session_count(&app).await, 0, "deleted when met");

    // Idle for 30 minutes.
    assert_eq!(idle.sign_in(&credential).await.status, 303);
    assert_eq!(idle.get("/console").await.status, 200);
    move_sessions(&app, "last_seen", -30 * 60).await;
    assert_redirects_to_sign_in(&idle.get("/console").await);
    assert_eq!(session_count(&app).await, 0);

    // A session seen 29 minutes ago lives, and counts as seen now.
    assert_eq!(idle.sign_in(&credential).await.status, 303);
    move_sessions(&app, "last_seen", -29 * 60).await;
    assert_eq!(idle.get("/console").await.status, 200);
    let mut conn = app.store.begin_read().await.unwrap();
    let seen = sqlx::query("SELECT last_seen FROM console_sessions")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get::<String, _>("last_seen");
    drop(conn);
    assert!(
        Timestamp::parse(&seen).unwrap() > Timestamp::now().plus_seconds(-60),
        "{seen}"
    );

    // Abandoned sessions go at the next sign-in.
    move_sessions(&app, "expires_at", -1).await;
    assert_eq!(Browser::new(&app).sign_in(&credential).await.status, 303);
    assert_eq!(session_count(&app).await, 1);
}

async fn console_escapes_what_it_shows(app: TestApp) {
    let created = app
        .post(
            "/v1/api-keys",
            json!({"description": "<script>alert('x')</script> & co", "permissions": "user.read"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let credential = created.body["credential"].as_str().unwrap();
    let browser = Browser::new(&app);
    assert_eq!(browser.sign_in(credential).await.status, 303);
    let home = browser.get("/console").await;
    assert_eq!(home.status, 200);
    assert!(!home.body.contains("<script>alert"), "{}", home.body);
    assert!(
        home.body
            .contains("Signed in as &lt;script&gt;alert('x')&lt;/script&gt; &amp; co"),
        "{}",
        home.body
    );
}

/// Failed console sign-ins count towards the API's throttle for that key
/// id and address, and the API's failures towards the console's.
async fn console_sign_in_is_throttled(app: TestApp) {
    let credential = app.key("user.read").await;
    let (key_id, _) = credential.split_once(':').unwrap();
    let browser = Browser::new(&app);
    let form = browser.get("/console/sign-in").await.csrf();
    let wrong = [
        ("keyId", key_id),
        ("secret", "wrong"),
        ("csrf", form.as_str()),
    ];
    for _ in 0..3 {
        assert_eq!(browser.post("/console/sign-in", &wrong).await.status, 401);
    }
    let page = browser.post("/console/sign-in", &wrong).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.headers.contains_key("retry-after"));
    assert!(page.body.contains(r#"role="alert""#), "{}", page.body);
    // Even the right secret now waits, in the console and in the API.
    assert_eq!(browser.sign_in(&credential).await.status, 429);
    let api = app
        .request_as(
            Method::GET,
            "/v1/users",
            &[("authorization", basic(&credential))],
            None,
        )
        .await;
    assert_eq!(api.status, 429);
    assert_eq!(session_count(&app).await, 0);
    // Another key from the same address is not affected.
    let other = app.key("user.read").await;
    assert_eq!(browser.sign_in(&other).await.status, 303);
}

fn throttled_auth() -> AuthConfig {
    AuthConfig {
        failures_per_minute: 3,
        ..test_auth()
    }
}

mod console_sign_in_is_throttled {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::support::TestApp::sqlite_with(super::throttled_auth()).await;
        super::console_sign_in_is_throttled(app).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        match crate::support::TestApp::postgres_with(super::throttled_auth()).await {
            Some(app) => super::console_sign_in_is_throttled(app).await,
            None => eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run"),
        }
    }
}

/// A server that listens beyond loopback is reached through TLS (a proxy in
/// front of it): its cookies carry `Secure`.
async fn console_cookies_are_secure_off_loopback(app: TestApp) {
    let store = nexus::open_store(app.database_url()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let server = nexus::start_with_options(store, test_auth(), Default::default(), listener)
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    browser.base = format!("http://127.0.0.1:{}", server.addr.port());
    let form = browser.get("/console/sign-in").await;
    let sign_in_cookie = form.set_cookie("nexus_console_sign_in").unwrap();
    assert!(
        sign_in_cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/console/sign-in; Secure"),
        "{sign_in_cookie}"
    );
    let credential = app.key("user.read").await;
    let signed_in = browser.signed_in(&credential).await;
    let token = browser.cookie("nexus_console").unwrap();
    assert_eq!(
        signed_in.set_cookie("nexus_console").unwrap(),
        format!("nexus_console={token}; HttpOnly; SameSite=Strict; Path=/console; Secure")
    );
    let home = browser.get("/console").await;
    let out = browser
        .post("/console/sign-out", &[("csrf", &home.csrf())])
        .await;
    assert_eq!(
        out.set_cookie("nexus_console").unwrap(),
        "nexus_console=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/console; Secure"
    );
    server.stop().await.unwrap();
}
