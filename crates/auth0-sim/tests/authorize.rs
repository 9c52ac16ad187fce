//! The authorization code flow with PKCE over real HTTP: an OpenID Connect
//! client library signs in through `/authorize` and the login form, and
//! every refusal on the way, as a browser and a console would meet it.

mod support;

use auth0_sim::{DEFAULT_CLIENT_ID, DEFAULT_CONNECTION_ID};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};
use support::{Tenant, CONNECTION};

/// The console: a public client (it keeps no secret).
const CONSOLE: &str = "console";
/// A confidential client on the same connection.
const OTHER: &str = "other-app";
const OTHER_SECRET: &str = "other-secret";
const CALLBACK: &str = "http://localhost:5173/callback";
const SECOND_CALLBACK: &str = "http://localhost:5173/second";
/// RFC 7636 appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "ada-password";

/// A tenant with the console, another client, both enabled on the database
/// connection, and a user of it; the user's id.
async fn tenant() -> (Tenant, String) {
    let tenant = Tenant::start().await;
    for client in [
        json!({"client_id": CONSOLE, "client_secret": "unused", "name": "Nexus <console>",
               "app_type": "spa", "token_endpoint_auth_method": "none",
               "callbacks": [CALLBACK, SECOND_CALLBACK]}),
        json!({"client_id": OTHER, "client_secret": OTHER_SECRET, "app_type": "regular_web",
               "callbacks": [CALLBACK]}),
    ] {
        let reply = tenant
            .http
            .post(tenant.url("/__sim/clients"))
            .json(&client)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 204);
    }
    let reply = tenant
        .http
        .post(tenant.url("/__sim/connections"))
        .json(&json!({"id": DEFAULT_CONNECTION_ID, "name": CONNECTION,
                      "enabled_clients": [DEFAULT_CLIENT_ID, CONSOLE, OTHER]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let (status, user) = tenant
        .management(
            reqwest::Method::POST,
            "/users",
            json!({"connection": CONNECTION, "email": EMAIL, "password": PASSWORD,
                   "name": "Ada Lovelace", "email_verified": true}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["user_id"].as_str().unwrap().to_owned();
    (tenant, id)
}

/// A parameter of an authorization request set (or, `None`, removed).
type Change<'a> = (&'a str, Option<&'a str>);

/// The console's authorization request, with `changes` applied (a `None`
/// removes the parameter).
fn request(changes: &[Change]) -> Vec<(String, String)> {
    let mut params: Vec<(String, Option<String>)> = [
        ("response_type", "code"),
        ("client_id", CONSOLE),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email"),
        ("state", "the-state"),
        ("nonce", "the-nonce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
    .collect();
    for (name, value) in changes {
        match params.iter_mut().find(|(k, _)| k == name) {
            Some(param) => param.1 = value.map(str::to_owned),
            None => params.push((name.to_string(), value.map(str::to_owned))),
        }
    }
    params
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

impl Tenant {
    async fn authorize(&self, params: &[(String, String)]) -> reqwest::Response {
        self.http
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Opens the login form of `params`: the login transaction's id.
    async fn login_form(&self, params: &[(String, String)]) -> String {
        let reply = self.authorize(params).await;
        assert_eq!(reply.status(), 200);
        transaction(&reply.text().await.unwrap())
    }

    async fn submit(&self, transaction: &str, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/u/login"))
            .form(&[
                ("state", transaction),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs the user in through the form of `params`: the code.
    async fn code(&self, params: &[(String, String)]) -> String {
        let transaction = self.login_form(params).await;
        let reply = self.submit(&transaction, EMAIL, PASSWORD).await;
        assert_eq!(reply.status(), 302);
        let (code, state) = code_and_state(&reply);
        assert_eq!(state.as_deref(), Some("the-state"));
        code
    }

    /// A code exchange with `changes` to the console's: status and body.
    async fn exchange(&self, code: &str, changes: &[(&str, &str)]) -> (u16, Value) {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("client_id", CONSOLE),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ];
        for (name, value) in changes {
            form.retain(|(k, _)| k != name);
            form.push((name, value));
        }
        self.token(&form).await
    }

    /// `POST /oauth/token` with `form`: status and body.
    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    async fn advance_clock(&self, seconds: u64) {
        let reply = self
            .http
            .post(self.url("/__sim/clock"))
            .json(&json!({"advance_seconds": seconds}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 204);
    }
}

/// The login transaction id the form's hidden field carries.
fn transaction(page: &str) -> String {
    let (_, rest) = page
        .split_once("name=\"state\" value=\"")
        .unwrap_or_else(|| panic!("a login form: {page}"));
    rest.split('"').next().unwrap().to_owned()
}

fn location(reply: &reqwest::Response) -> url::Url {
    let location = reply.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap()
}

fn query(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

fn code_and_state(reply: &reqwest::Response) -> (String, Option<String>) {
    let url = location(reply);
    assert_eq!(url.as_str().split('?').next(), Some(CALLBACK));
    let pairs = query(&url);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    (get("code").expect("a code"), get("state"))
}

/// The invalid_grant refusal with `description`.
fn invalid_grant(description: &str) -> (u16, Value) {
    (
        400,
        json!({"error": "invalid_grant", "error_description": description}),
    )
}

#[tokio::test]
async fn an_openid_connect_client_signs_in_with_pkce() {
    let (tenant, user_id) = tenant().await;
    let base = tenant.sim.base_url();
    let document: Value = tenant
        .http
        .get(tenant.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["authorization_endpoint"],
        format!("{base}/authorize")
    );
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(document["subject_types_supported"], json!(["public"]));

    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(format!("{base}/")).unwrap(),
        &tenant.http,
    )
    .await
    .unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(CONSOLE.into()), None)
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let page = tenant.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    let page = page.text().await.unwrap();
    // Nothing loaded from elsewhere.
    assert!(!page.contains("src=") && !page.contains("href="), "{page}");
    assert!(page.contains("Log in to Nexus &lt;console&gt;"), "{page}");
    assert!(page.contains("<label for=\"username\">"), "{page}");
    assert!(page.contains("<label for=\"password\">"), "{page}");
    assert!(!page.contains("the-nonce") && !page.contains(nonce.secret()));
    let reply = tenant.submit(&transaction(&page), EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 302);
    let (code, state) = code_and_state(&reply);
    assert_eq!(state.as_deref(), Some(csrf.secret().as_str()));

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&tenant.http)
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.issuer().as_str(), format!("{base}/"));
    assert_eq!(
        claims.audiences(),
        &[openidconnect::Audience::new(CONSOLE.into())]
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(true));
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str());
    assert_eq!(name, Some("Ada Lovelace"));
    let scopes: Vec<_> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid", "email", "profile"]);

    // Another nonce than the request's is refused by the library.
    assert!(tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &Nonce::new("other".into()))
        .is_err());
}

#[tokio::test]
async fn wrong_passwords_show_the_form_again_and_count_with_the_password_grant() {
    let (tenant, _) = tenant().await;
    let id = tenant.login_form(&request(&[])).await;
    for _ in 0..9 {
        let reply = tenant.submit(&id, EMAIL, "wrong").await;
        assert_eq!(reply.status(), 200);
        assert!(reply.headers().get("location").is_none());
        let page = reply.text().await.unwrap();
        assert!(
            page.contains("<p role=\"alert\">Wrong email or password.</p>"),
            "{page}"
        );
        assert_eq!(transaction(&page), id);
        assert!(page.contains(&format!("value=\"{EMAIL}\"")), "{page}");
    }
    // An unknown user: the same refusal.
    let page = tenant
        .submit(&id, "nobody@example.com", "x")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Wrong email or password."), "{page}");

    // The tenth failure in a row, by the password grant, blocks the user.
    let reply = support::sign_in(&tenant.sim, &tenant.http, EMAIL, "wrong").await;
    assert_eq!(reply.status(), 429);
    let reply = tenant.submit(&id, EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 200);
    let page = reply.text().await.unwrap();
    assert!(
        page.contains("<p role=\"alert\">Your account has been blocked after multiple consecutive login attempts.</p>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_failed_form_login_counts_for_the_password_grant() {
    let (tenant, _) = tenant().await;
    for _ in 0..9 {
        let reply = support::sign_in(&tenant.sim, &tenant.http, EMAIL, "wrong").await;
        assert_eq!(reply.status(), 403);
    }
    let id = tenant.login_form(&request(&[])).await;
    let page = tenant
        .submit(&id, EMAIL, "wrong")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("blocked after multiple consecutive"),
        "{page}"
    );
    let reply = support::sign_in(&tenant.sim, &tenant.http, EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 429);
}

#[tokio::test]
async fn a_blocked_user_cannot_sign_in_by_the_form() {
    let (tenant, user_id) = tenant().await;
    let path = format!("/users/{user_id}");
    let blocked = json!({"blocked": true});
    tenant
        .management(reqwest::Method::PATCH, &path, blocked)
        .await;
    let id = tenant.login_form(&request(&[])).await;
    let reply = tenant.submit(&id, EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 200);
    let page = reply.text().await.unwrap();
    assert!(
        page.contains("<p role=\"alert\">Your account has been blocked.</p>"),
        "{page}"
    );
    let unblocked = json!({"blocked": false});
    tenant
        .management(reqwest::Method::PATCH, &path, unblocked)
        .await;
    let reply = tenant.submit(&id, EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 302);

    // A transaction signs in once; an unknown one is a page, not a form.
    for id in [id.as_str(), "unknown"] {
        let reply = tenant.submit(id, EMAIL, PASSWORD).await;
        assert_eq!(reply.status(), 400);
        assert!(reply.headers().get("location").is_none());
        let page = reply.text().await.unwrap();
        assert!(page.contains("expired or was already used"), "{page}");
    }

    // A user blocked between the login and the exchange gets no tokens.
    let code = tenant.code(&request(&[])).await;
    let blocked = json!({"blocked": true});
    tenant
        .management(reqwest::Method::PATCH, &path, blocked)
        .await;
    assert_eq!(
        tenant.exchange(&code, &[]).await,
        invalid_grant("The user is blocked or no longer exists")
    );
}

#[tokio::test]
async fn unknown_clients_and_callbacks_get_a_page_never_a_redirect() {
    let (tenant, _) = tenant().await;
    let cases: [(&[Change], &str); 5] = [
        (&[("client_id", Some("unknown"))], "Unknown client"),
        (&[("client_id", None)], "Unknown client"),
        (
            &[("redirect_uri", Some("https://evil.example/callback"))],
            "Allowed Callback URLs",
        ),
        (&[("redirect_uri", None)], "Allowed Callback URLs"),
        // The default client has no callbacks at all.
        (
            &[("client_id", Some(DEFAULT_CLIENT_ID))],
            "Allowed Callback URLs",
        ),
    ];
    for (changes, message) in cases {
        // Even with every other parameter wrong too.
        let mut changes = changes.to_vec();
        changes.push(("response_type", Some("token")));
        let reply = tenant.authorize(&request(&changes)).await;
        assert_eq!(reply.status(), 400, "{changes:?}");
        assert!(reply.headers().get("location").is_none(), "{changes:?}");
        let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = reply.text().await.unwrap();
        assert!(page.contains(message), "{changes:?}: {page}");
        assert!(page.contains("role=\"alert\""), "{page}");
    }
    let reply = tenant
        .http
        .get(tenant.url("/authorize?client_id=console&client_id=other"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert!(reply.headers().get("location").is_none());
}

#[tokio::test]
async fn refusals_go_back_to_a_registered_callback() {
    let (tenant, _) = tenant().await;
    let challenge_42 = &CHALLENGE[..42];
    let bad_challenge = format!("{}+", &CHALLENGE[..42]);
    let cases: Vec<(Vec<Change>, &str, &str)> = vec![
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
            "Only the response_type code is supported",
        ),
        (
            vec![("response_type", None)],
            "unsupported_response_type",
            "Only the response_type code is supported",
        ),
        (
            vec![("scope", Some("profile email"))],
            "invalid_scope",
            "The scope must contain openid",
        ),
        (
            vec![("scope", None)],
            "invalid_scope",
            "The scope must contain openid",
        ),
        (
            vec![("code_challenge", None)],
            "invalid_request",
            "Missing required parameter: code_challenge",
        ),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
            "The code_challenge_method must be S256",
        ),
        (
            vec![("code_challenge_method", None)],
            "invalid_request",
            "The code_challenge_method must be S256",
        ),
        (
            vec![("code_challenge", Some(challenge_42))],
            "invalid_request",
            "The code_challenge must be a base64url-encoded SHA-256 digest (43 characters)",
        ),
        (
            vec![("code_challenge", Some(bad_challenge.as_str()))],
            "invalid_request",
            "The code_challenge must be a base64url-encoded SHA-256 digest (43 characters)",
        ),
        (
            vec![("prompt", Some("none"))],
            "login_required",
            "Login required",
        ),
        (
            vec![("connection", Some("google-oauth2"))],
            "invalid_request",
            "The connection is not a database connection enabled for this client",
        ),
    ];
    for (changes, error, description) in cases {
        let reply = tenant.authorize(&request(&changes)).await;
        assert_eq!(reply.status(), 302, "{changes:?}");
        let url = location(&reply);
        assert_eq!(url.as_str().split('?').next(), Some(CALLBACK));
        let expected: Vec<(String, String)> = [
            ("error", error),
            ("error_description", description),
            ("state", "the-state"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(query(&url), expected, "{changes:?}");
    }
    // Without a state, none comes back.
    let reply = tenant
        .authorize(&request(&[("state", None), ("code_challenge", None)]))
        .await;
    let pairs = query(&location(&reply));
    assert_eq!(pairs.len(), 2);
    assert!(pairs.iter().all(|(k, _)| k != "state"));

    // The connection named, and prompt=login, are accepted.
    let id = tenant
        .login_form(&request(&[
            ("connection", Some(CONNECTION)),
            ("prompt", Some("login")),
        ]))
        .await;
    assert_eq!(tenant.submit(&id, EMAIL, PASSWORD).await.status(), 302);
}

#[tokio::test]
async fn a_code_is_used_once_and_only_with_its_verifier() {
    let (tenant, _) = tenant().await;
    let code = tenant.code(&request(&[])).await;
    let (status, tokens) = tenant.exchange(&code, &[]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 86_400);
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());
    assert_eq!(
        tenant.exchange(&code, &[]).await,
        invalid_grant("Invalid authorization code")
    );

    // A wrong verifier uses the code up as well.
    let code = tenant.code(&request(&[])).await;
    let wrong = "a".repeat(43);
    assert_eq!(
        tenant
            .exchange(&code, &[("code_verifier", wrong.as_str())])
            .await,
        invalid_grant("Failed to verify code verifier")
    );
    assert_eq!(
        tenant.exchange(&code, &[]).await,
        invalid_grant("Invalid authorization code")
    );

    // A verifier RFC 7636 does not allow is refused before the code is
    // looked at.
    let code = tenant.code(&request(&[])).await;
    let shape = (
        400,
        json!({"error": "invalid_request",
               "error_description": "The code_verifier must be 43 to 128 unreserved characters"}),
    );
    for verifier in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", &VERIFIER[..42]),
    ] {
        let reply = tenant
            .exchange(&code, &[("code_verifier", verifier.as_str())])
            .await;
        assert_eq!(reply, shape, "{verifier}");
    }
    let empty = tenant.exchange(&code, &[("code_verifier", "")]).await;
    assert_eq!(empty, shape);
    for absent in ["code", "redirect_uri", "code_verifier"] {
        let form: Vec<(&str, &str)> = [
            ("grant_type", "authorization_code"),
            ("client_id", CONSOLE),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ]
        .into_iter()
        .filter(|(k, _)| *k != absent)
        .collect();
        assert_eq!(
            tenant.token(&form).await,
            (
                400,
                json!({"error": "invalid_request",
                       "error_description": "Missing required parameter: code, redirect_uri and code_verifier"})
            ),
            "{absent}"
        );
    }
    // An unknown client is refused before the code is looked at.
    let unknown = tenant.exchange(&code, &[("client_id", "unknown")]).await;
    assert_eq!(unknown.0, 401);
    assert_eq!(tenant.exchange(&code, &[]).await.0, 200);

    // 128 characters are allowed.
    let long = "b".repeat(128);
    let challenge = "cK4cUwf1JQ1cueQHQrqWE_zfm42ett05MzBEOy1e_70";
    let code = tenant
        .code(&request(&[("code_challenge", Some(challenge))]))
        .await;
    let (status, body) = tenant
        .exchange(&code, &[("code_verifier", long.as_str())])
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds_of_the_tenants_clock() {
    let (tenant, _) = tenant().await;
    let code = tenant.code(&request(&[])).await;
    tenant.advance_clock(55).await;
    assert_eq!(tenant.exchange(&code, &[]).await.0, 200);
    let code = tenant.code(&request(&[])).await;
    tenant.advance_clock(60).await;
    assert_eq!(
        tenant.exchange(&code, &[]).await,
        invalid_grant("Expired authorization code")
    );
}

#[tokio::test]
async fn an_application_created_by_the_management_api_signs_in_through_its_callbacks() {
    let (tenant, user_id) = tenant().await;
    let created = json!({"name": "Console", "app_type": "spa",
                         "token_endpoint_auth_method": "none", "callbacks": [SECOND_CALLBACK]});
    let (status, client) = tenant
        .management(reqwest::Method::POST, "/clients", created)
        .await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().unwrap();
    let params = request(&[
        ("client_id", Some(client_id)),
        ("redirect_uri", Some(SECOND_CALLBACK)),
    ]);
    // Enabled on no connection yet: nowhere to sign in.
    let reply = tenant.authorize(&params).await;
    assert_eq!(reply.status(), 302);
    assert_eq!(query(&location(&reply))[0].1, "invalid_request");
    let path = format!("/connections/{DEFAULT_CONNECTION_ID}/clients");
    let enable = json!([{"client_id": client_id, "status": true}]);
    let (status, _) = tenant
        .management(reqwest::Method::PATCH, &path, enable)
        .await;
    assert_eq!(status, 204);
    let transaction = tenant.login_form(&params).await;
    let reply = tenant.submit(&transaction, EMAIL, PASSWORD).await;
    let code = query(&location(&reply))[0].1.clone();
    let redeem = [("client_id", client_id), ("redirect_uri", SECOND_CALLBACK)];
    let (status, tokens) = tenant.exchange(&code, &redeem).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (&id["aud"], &id["sub"]),
        (&json!(client_id), &json!(user_id))
    );
}

#[tokio::test]
async fn a_login_form_expires_after_ten_minutes_of_the_tenants_clock() {
    let (tenant, _) = tenant().await;
    let id = tenant.login_form(&request(&[])).await;
    tenant.advance_clock(590).await;
    assert_eq!(tenant.submit(&id, EMAIL, PASSWORD).await.status(), 302);
    let id = tenant.login_form(&request(&[])).await;
    tenant.advance_clock(600).await;
    let reply = tenant.submit(&id, EMAIL, PASSWORD).await;
    assert_eq!(reply.status(), 400);
    assert!(reply.headers().get("location").is_none());
    let page = reply.text().await.unwrap();
    assert!(page.contains("expired or was already used"), "{page}");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_callback() {
    let (tenant, _) = tenant().await;
    let code = tenant.code(&request(&[])).await;
    assert_eq!(
        tenant
            .exchange(
                &code,
                &[("client_id", OTHER), ("client_secret", OTHER_SECRET)]
            )
            .await,
        invalid_grant("The authorization code was issued to another client")
    );
    let second = request(&[("redirect_uri", Some(SECOND_CALLBACK))]);
    let transaction = tenant.login_form(&second).await;
    let reply = tenant.submit(&transaction, EMAIL, PASSWORD).await;
    let url = location(&reply);
    assert_eq!(url.as_str().split('?').next(), Some(SECOND_CALLBACK));
    let code = query(&url)[0].1.clone();
    assert_eq!(
        tenant.exchange(&code, &[]).await,
        invalid_grant("The redirect_uri differs from the authorization request's")
    );
}

#[tokio::test]
async fn a_confidential_client_may_send_its_secret_and_a_wrong_one_is_refused() {
    let (tenant, user_id) = tenant().await;
    let code = tenant
        .code(&request(&[
            ("client_id", Some(OTHER)),
            ("audience", Some("https://nexus.example/api")),
        ]))
        .await;
    let unauthorized = (
        401,
        json!({"error": "access_denied", "error_description": "Unauthorized"}),
    );
    let wrong = [("client_id", OTHER), ("client_secret", "wrong")];
    assert_eq!(tenant.exchange(&code, &wrong).await, unauthorized);
    // The refusal did not use the code up.
    let right = [("client_id", OTHER), ("client_secret", OTHER_SECRET)];
    let (status, tokens) = tenant.exchange(&code, &right).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "https://nexus.example/api");
    assert_eq!(access["sub"], user_id.as_str());
    assert_eq!(access["azp"], OTHER);
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], OTHER);
    assert_eq!(id["nonce"], "the-nonce");

    // Without a nonce in the request, the ID token has none.
    let code = tenant.code(&request(&[("nonce", None)])).await;
    let (_, tokens) = tenant.exchange(&code, &[]).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert!(id.get("nonce").is_none(), "{id}");
    assert_eq!(id["email"], EMAIL);
}

/// A JWT's claims, unverified (the library test verifies signatures).
fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
