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

both_backends!(bearer_tokens);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// A tenant's JWKS endpoint on loopback that counts its fetches; it serves
/// key k1, and k2 too once `rotated`.
struct Jwks {
    base: String,
    fetches: Arc<AtomicUsize>,
    rotated: Arc<AtomicBool>,
}

async fn jwks_server() -> Jwks {
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

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(claims: &Value, kid: &str, private_key: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(&fixture(private_key)).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn bearer_tokens(app: TestApp) {
    let jwks = jwks_server().await;
    let issuer = format!("{}/", jwks.base);
    let tenant = app
        .post("/v1/idp_tenants", json!({"name": "jwt", "azoTenantName": "eci-jwt", "fqdn": "eci-jwt.us.auth0.com", "baseUrl": jwks.base}))
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.body);
    app.organization("acme").await;
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
    app.post(
        "/v1/sts-clients",
        json!({"clientId": "batch", "permissions": "user.read"}),
    )
    .await;
    let m2m = sign(&claims("batch@clients"), "k1", "jwt-k1.pem");
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
    {
        let good = app.key("read").await;
        let bad = [("authorization", basic("nobody:wrong-secret-value-00"))];
        for _ in 0..3 {
            assert_eq!(
                app.request_as(Method::GET, "/v1/users", &bad, None)
                    .await
                    .status,
                StatusCode::UNAUTHORIZED
            );
        }
        let throttled = app.request_as(Method::GET, "/v1/users", &bad, None).await;
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
        // Even good credentials wait: guessing gets no answer until then.
        let waiting = app
            .request_as(
                Method::GET,
                "/v1/users",
                &[("authorization", basic(&good))],
                None,
            )
            .await;
        assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
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
}
