//! Auth0 access tokens (Bearer + ApplicationToken), verified against a JWKS
//! served on loopback, and the throttling of failed authentication.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{basic, both_backends, test_auth, TestApp, API_AUDIENCE};

both_backends!(bearer_tokens, a_token_holds_the_roles_sync_answers);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// A tenant's JWKS endpoint on loopback that counts its fetches; it serves
/// key k1, and k2 too once `rotated`.
pub(crate) struct Jwks {
    pub(crate) base: String,
    fetches: Arc<AtomicUsize>,
    rotated: Arc<AtomicBool>,
}

pub(crate) async fn jwks_server() -> Jwks {
    let keys: Value = serde_json::from_slice(&fixture("jwt-keys.json")).unwrap();
    let (fetches, rotated) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (count, rotation) = (fetches.clone(), rotated.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (count, rotation, keys) = (count.clone(), rotation.clone(), keys.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let mut served = vec![keys["k1"].clone()];
                if rotation.load(Ordering::SeqCst) {
                    served.push(keys["k2"].clone());
                }
                axum::Json(json!({"keys": served}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Jwks {
        base,
        fetches,
        rotated,
    }
}

/// The tenant `jwt`, whose tokens `jwks` serves the keys of, and the
/// organization `acme`; answers the tenant.
pub(crate) async fn jwt_tenant(app: &TestApp, jwks: &Jwks) -> Value {
    let tenant = token_tenant(app, jwks, "jwt").await;
    app.organization("acme").await;
    tenant
}

/// A tenant named `name` whose tokens `jwks` serves the keys of.
pub(crate) async fn token_tenant(app: &TestApp, jwks: &Jwks, name: &str) -> Value {
    let tenant = app
        .post(
            "/v1/idp_tenants",
            json!({"name": name, "azoTenantName": format!("eci-{name}"),
            "fqdn": format!("eci-{name}.us.auth0.com"), "baseUrl": jwks.base}),
        )
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.body);
    tenant.body
}

/// Headers that call as the holder of `sub`, by a token of the tenant whose
/// keys `jwks` serves, through an application whose key holds only
/// `user.sync`.
pub(crate) async fn token_headers(
    app: &TestApp,
    jwks: &Jwks,
    sub: &str,
) -> Vec<(&'static str, String)> {
    let claims = json!({"iss": format!("{}/", jwks.base), "aud": API_AUDIENCE, "sub": sub,
        "exp": now() + 300, "iat": now()});
    vec![
        (
            "authorization",
            format!("Bearer {}", sign(&claims, "k1", "jwt-k1.pem")),
        ),
        ("applicationtoken", app.key("user.sync").await),
    ]
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn sign(claims: &Value, kid: &str, private_key: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(&fixture(private_key)).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn bearer_tokens(app: TestApp) {
    let jwks = jwks_server().await;
    let issuer = format!("{}/", jwks.base);
    jwt_tenant(&app, &jwks).await;
    let user = app
        .post("/v1/users", json!({"authenticationMethod": "Database", "displayName": "Token User", "idpTenantId": "jwt",
            "organization": "acme", "idpMetadata": {"azoUserId": "auth0|token-user", "azoConnectionId": "db"}}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = app
        .post(
            "/v1/roles",
            json!({"name": "reader", "audience": API_AUDIENCE, "permissions": ["user.read"]}),
        )
        .await
        .body;
    let elsewhere = app.post("/v1/roles", json!({"name": "writer", "audience": "https://other.example.com", "permissions": ["user.write"]})).await.body;
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [reader["id"], elsewhere["id"]]}),
    )
    .await;
    let app_key = app.key("read write").await;

    let claims = |sub: &str| json!({"iss": issuer, "aud": API_AUDIENCE, "sub": sub, "exp": now() + 300, "iat": now()});
    let call = |method: Method, path: String, token: String, key: Option<String>| {
        let app = &app;
        async move {
            let mut headers = vec![("authorization", format!("Bearer {token}"))];
            if let Some(key) = key {
                headers.push(("applicationtoken", key));
            }
            let body = (method == Method::PATCH).then(|| json!({"nickname": "jb"}));
            app.request_as(method, &path, &headers, body.as_ref()).await
        }
    };
    let user_path = format!("/v1/users/{user}");
    let good = sign(&claims("auth0|token-user"), "k1", "jwt-k1.pem");

    // A valid token with the application's key.
    let ok = call(
        Method::GET,
        user_path.clone(),
        good.clone(),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
    // The same token with the fqdn-based issuer is accepted too.
    let mut by_fqdn = claims("auth0|token-user");
    by_fqdn["iss"] = json!("https://eci-jwt.us.auth0.com/");
    let fqdn = call(
        Method::GET,
        user_path.clone(),
        sign(&by_fqdn, "k1", "jwt-k1.pem"),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(fqdn.status, StatusCode::OK, "{}", fqdn.body);

    // Everything that must not pass.
    let mut expired = claims("auth0|token-user");
    expired["exp"] = json!(now() - 120);
    let mut early = claims("auth0|token-user");
    early["nbf"] = json!(now() + 120);
    let mut wrong_audience = claims("auth0|token-user");
    wrong_audience["aud"] = json!("https://someone-else.example.com");
    let mut wrong_issuer = claims("auth0|token-user");
    wrong_issuer["iss"] = json!("https://evil.example.com/");
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "kid": "k1"})),
        encode(&claims("auth0|token-user"))
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k1".to_owned());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims("auth0|token-user"),
        &EncodingKey::from_secret(&fixture("jwt-k1.pub.pem")),
    )
    .unwrap();
    let cases = [
        ("missing ApplicationToken", good.clone(), None),
        (
            "wrong application key",
            good.clone(),
            Some("nobody:some-secret-value-000".to_owned()),
        ),
        (
            "bad signature",
            sign(&claims("auth0|token-user"), "k1", "jwt-k2.pem"),
            Some(app_key.clone()),
        ),
        (
            "expired",
            sign(&expired, "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
        (
            "not yet valid",
            sign(&early, "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
        (
            "wrong aud",
            sign(&wrong_audience, "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
        (
            "wrong iss",
            sign(&wrong_issuer, "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
        ("alg none", alg_none, Some(app_key.clone())),
        ("HS256 with the public key", hs256, Some(app_key.clone())),
        ("not a JWT", "abc.def".to_owned(), Some(app_key.clone())),
        (
            "unlinked subject",
            sign(&claims("auth0|stranger"), "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
        (
            "unknown M2M client",
            sign(&claims("ghost@clients"), "k1", "jwt-k1.pem"),
            Some(app_key.clone()),
        ),
    ];
    for (case, token, key) in cases {
        let reply = call(Method::GET, user_path.clone(), token, key).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {}",
            reply.body
        );
        assert!(reply.headers.contains_key("www-authenticate"), "{case}");
    }

    // Permissions are the token's intersected with the key's: the user holds
    // user.read for Nexus (user.write only for another audience).
    let patch = call(
        Method::PATCH,
        user_path.clone(),
        good.clone(),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "{}", patch.body);
    let narrow_key = app.key("tenant.read").await;
    let narrow = call(
        Method::GET,
        user_path.clone(),
        good.clone(),
        Some(narrow_key),
    )
    .await;
    assert_eq!(
        narrow.status,
        StatusCode::FORBIDDEN,
        "the key does not allow user.read"
    );

    // With user.write for Nexus, the user's changes carry its own id.
    let writer = app
        .post(
            "/v1/roles",
            json!({"name": "writer", "audience": API_AUDIENCE, "permissions": ["user.write"]}),
        )
        .await
        .body;
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [writer["id"]]}),
    )
    .await;
    let patched = call(
        Method::PATCH,
        user_path.clone(),
        good.clone(),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["modifiedBy"],
        user.as_str(),
        "audit fields carry the caller's id"
    );

    // An inactive user's tokens stop working.
    app.patch(&user_path, json!({"isBlocked": true})).await;
    let blocked = call(
        Method::GET,
        user_path.clone(),
        good.clone(),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::UNAUTHORIZED);
    app.patch(&user_path, json!({"isBlocked": false})).await;

    // M2M tokens get the permissions of their STS client mapping.
    let mapped = app
        .post(
            "/v1/sts-clients",
            json!({"clientId": "batch", "idpTenantId": "jwt", "permissions": "user.read"}),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::CREATED, "{}", mapped.body);
    let m2m = sign(&claims("batch@clients"), "k1", "jwt-k1.pem");
    // Another trusted tenant cannot sign for this tenant's client.
    let other = app
        .post("/v1/idp_tenants", json!({"name": "jwt2", "azoTenantName": "eci-jwt2", "fqdn": "eci-jwt2.us.auth0.com", "baseUrl": jwks.base}))
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    let mut foreign = claims("batch@clients");
    foreign["iss"] = json!("https://eci-jwt2.us.auth0.com/");
    let impostor = call(
        Method::GET,
        user_path.clone(),
        sign(&foreign, "k1", "jwt-k1.pem"),
        Some(app_key.clone()),
    )
    .await;
    assert_eq!(
        impostor.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        impostor.body
    );
    assert!(impostor.body["detail"]
        .as_str()
        .unwrap()
        .contains("another IdP tenant"));
    assert_eq!(
        call(
            Method::GET,
            user_path.clone(),
            m2m.clone(),
            Some(app_key.clone())
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        call(Method::PATCH, user_path.clone(), m2m, Some(app_key.clone()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Key rotation: an unknown kid refreshes the JWKS once, not per request.
    let before = jwks.fetches.load(Ordering::SeqCst);
    jwks.rotated.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = sign(&claims("auth0|token-user"), "k2", "jwt-k2.pem");
    for _ in 0..10 {
        let reply = call(
            Method::GET,
            user_path.clone(),
            rotated.clone(),
            Some(app_key.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        before + 1,
        "one refresh for the new kid"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = sign(&claims("auth0|token-user"), "k3", "jwt-k2.pem");
    for _ in 0..10 {
        let reply = call(
            Method::GET,
            user_path.clone(),
            unknown.clone(),
            Some(app_key.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        before + 2,
        "ten unknown-kid requests, one refresh"
    );
}

/// A server that allows three failed authentications per address and minute.
fn strict() -> nexus_service::auth::AuthConfig {
    nexus_service::auth::AuthConfig {
        failures_per_minute: 3,
        ..test_auth()
    }
}

mod failed_authentication_is_throttled {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::failed_authentication_is_throttled(
            crate::support::TestApp::sqlite_with(super::strict()).await,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = crate::support::TestApp::postgres_with(super::strict()).await {
            super::failed_authentication_is_throttled(app).await
        }
    }
}

async fn failed_authentication_is_throttled(app: TestApp) {
    let victim = app.key("read").await;
    let neighbour = app.key("read").await;
    let key_id = victim.split_once(':').unwrap().0;
    let guess = basic(&format!("{key_id}:wrong-secret-value-00"));
    let as_client = |authorization: String, forwarded_for: Option<&str>| {
        let mut headers = vec![("authorization", authorization)];
        if let Some(address) = forwarded_for {
            headers.push(("x-forwarded-for", address.to_owned()));
        }
        let app = &app;
        async move {
            app.request_as(Method::GET, "/v1/users", &headers, None)
                .await
        }
    };
    for _ in 0..3 {
        let reply = as_client(guess.clone(), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    }
    let throttled = as_client(guess.clone(), None).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.body
    );
    let retry: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    // The right secret of the guessed key waits too: guessing gets no answer
    // until then.
    let waiting = as_client(basic(&victim), None).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
    // Another key from the same address is not locked out: behind a load
    // balancer every client shares one address.
    let other = as_client(basic(&neighbour), None).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    // Forwarding headers from a peer that is not a trusted proxy are ignored.
    let spoofed = as_client(guess.clone(), Some("203.0.113.99")).await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
    // Open routes are not throttled.
    assert_eq!(
        app.anonymous
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// Behind a trusted proxy, the address it forwards is the client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_name_the_client() {
    let app = TestApp::sqlite_with(nexus_service::auth::AuthConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..strict()
    })
    .await;
    let key = app.key("read").await;
    let key_id = key.split_once(':').unwrap().0;
    let guess = basic(&format!("{key_id}:wrong-secret-value-00"));
    let from = |authorization: &str, header: (&'static str, &str)| {
        let headers = [
            ("authorization", authorization.to_owned()),
            (header.0, header.1.to_owned()),
        ];
        let app = &app;
        async move {
            app.request_as(Method::GET, "/v1/users", &headers, None)
                .await
                .status
        }
    };
    let attacker = ("x-forwarded-for", "198.51.100.1, 203.0.113.7");
    for _ in 0..3 {
        assert_eq!(from(&guess, attacker).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(from(&guess, attacker).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        from(&basic(&key), ("forwarded", "for=203.0.113.7")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the same client, named by Forwarded"
    );
    // The same key from another client behind the same proxy still works.
    assert_eq!(
        from(&basic(&key), ("x-forwarded-for", "203.0.113.8")).await,
        StatusCode::OK
    );
}

/// A JWKS endpoint that takes `delay` to answer.
async fn slow_jwks_server(delay: Duration) -> String {
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || async move {
            tokio::time::sleep(delay).await;
            axum::Json(json!({"keys": []}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// One tenant's slow JWKS delays only that tenant's tokens, and only up to
/// the fetch timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_jwks_stalls_only_its_tenant() {
    let app = TestApp::sqlite_with(nexus_service::auth::AuthConfig {
        jwks_timeout: Duration::from_secs(2),
        ..test_auth()
    })
    .await;
    let fast = jwks_server().await;
    let slow = slow_jwks_server(Duration::from_secs(30)).await;
    for (name, base) in [("fast", &fast.base), ("slow", &slow)] {
        let reply = app
            .post("/v1/idp_tenants", json!({"name": name, "azoTenantName": format!("eci-{name}"), "fqdn": format!("eci-{name}.us.auth0.com"), "baseUrl": base}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let mapped = app
        .post(
            "/v1/sts-clients",
            json!({"clientId": "fast-job", "idpTenantId": "fast", "permissions": "user.read"}),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::CREATED, "{}", mapped.body);
    let app_key = app.key("read").await;
    let token = |tenant: &str| {
        let claims = json!({"iss": format!("https://eci-{tenant}.us.auth0.com/"), "aud": API_AUDIENCE,
            "sub": format!("{tenant}-job@clients"), "exp": now() + 300, "iat": now()});
        sign(&claims, "k1", "jwt-k1.pem")
    };
    let call = |token: String| {
        let headers = [
            ("authorization", format!("Bearer {token}")),
            ("applicationtoken", app_key.clone()),
        ];
        let client = app.anonymous.clone();
        let url = format!("{}/v1/users", app.base);
        async move {
            let mut request = client.get(url);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send().await.unwrap().status()
        }
    };
    let started = std::time::Instant::now();
    let stalled = tokio::spawn(call(token("slow")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(call(token("fast")).await, StatusCode::OK);
    assert!(
        !stalled.is_finished(),
        "the fast tenant was answered while the slow tenant's JWKS was still being fetched"
    );
    assert_eq!(stalled.await.unwrap(), StatusCode::UNAUTHORIZED);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "the fetch gave up after its timeout, not the JWKS server's 30 s ({waited:?})"
    );
}

/// The roles a user's token grants and the roles `$sync` answers are one
/// definition: every source of a role, and every way not to hold one.
async fn a_token_holds_the_roles_sync_answers(app: TestApp) {
    let jwks = jwks_server().await;
    jwt_tenant(&app, &jwks).await;
    let user = app
        .post("/v1/users", json!({"authenticationMethod": "Ad", "displayName": "Role Holder", "idpTenantId": "jwt",
            "organization": "acme", "makeAdmin": true, "idpMetadata": {"azoUserId": "ad|holder", "azoConnectionId": "corp-ad"}}))
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let user = user.body["id"].as_str().unwrap().to_owned();
    // One permission per source, each read by one list route.
    let sources = [
        ("direct", API_AUDIENCE, "user.read", "/v1/users"),
        ("expired", API_AUDIENCE, "tenant.read", "/v1/idp_tenants"),
        ("mapped", API_AUDIENCE, "role.read", "/v1/roles"),
        (
            "organization-admin",
            API_AUDIENCE,
            "organization.read",
            "/v1/organizations",
        ),
        (
            "elsewhere",
            "https://other.example.com",
            "apikey.read",
            "/v1/api-keys",
        ),
        ("unmatched-map", API_AUDIENCE, "sts.read", "/v1/sts-clients"),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, audience, permission, _) in sources {
        let role = app
            .post(
                "/v1/roles",
                json!({"name": name, "audience": audience, "permissions": [permission]}),
            )
            .await;
        assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
        ids.insert(name, role.body["id"].as_str().unwrap().to_owned());
    }
    let roles_path = format!("/v1/users/{user}/roles");
    let assigned = app
        .put(
            &roles_path,
            json!({"value": [ids["direct"], ids["elsewhere"]]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);
    let expired = app
        .put(
            &roles_path,
            json!({"value": [ids["expired"]], "expires": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::NO_CONTENT, "{}", expired.body);
    for (role, group) in [("mapped", "Staff"), ("unmatched-map", "Admins")] {
        let map = app
            .post(
                &format!("/v1/roles/{}/connection-maps", ids[role]),
                json!({"groupName": group, "azoConnectionId": "corp-ad"}),
            )
            .await;
        assert_eq!(map.status, StatusCode::CREATED, "{}", map.body);
    }
    let sync = app
        .put(
            &format!("/v1/users/{user}/$sync"),
            json!({"audience": API_AUDIENCE, "attributes": [], "connection": {"connectionId": "corp-ad", "groups": ["Staff"]}}),
        )
        .await;
    assert_eq!(sync.status, StatusCode::OK, "{}", sync.body);
    let answered: Vec<&str> = sync.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(answered, ["direct", "mapped", "organization-admin"]);

    let claims = json!({"iss": format!("{}/", jwks.base), "aud": API_AUDIENCE, "sub": "ad|holder", "exp": now() + 300, "iat": now()});
    let headers = [
        (
            "authorization",
            format!("Bearer {}", sign(&claims, "k1", "jwt-k1.pem")),
        ),
        ("applicationtoken", app.key("read").await),
    ];
    for (name, _, permission, route) in sources {
        let status = app
            .request_as(Method::GET, route, &headers, None)
            .await
            .status;
        let expected = if answered.contains(&name) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, expected, "{permission} through the role {name}");
    }
}
