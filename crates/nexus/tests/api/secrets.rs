//! Auth0 Management client secrets are sealed at rest, and start-up checks
//! and rotates them.

use nexus_service::auth::AuthConfig;
use nexus_service::secrets::{Sealer, SecretKey};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, test_auth, TestApp, TEST_SECRET_KEY};

both_backends!(
    secrets_are_sealed_at_rest,
    start_up_checks_and_rotates_the_key
);

const NEW_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

async fn stored_secret(app: &TestApp, tenant: &str) -> String {
    let mut tx = app.store.begin().await.unwrap();
    let row: (String,) =
        sqlx::query_as("SELECT management_client_secret FROM idp_tenants WHERE name = $1")
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    row.0
}

fn sealer(current: Option<&str>, previous: &[&str]) -> Sealer {
    Sealer::new(
        current.map(|k| SecretKey::parse(k).unwrap()),
        previous
            .iter()
            .map(|k| SecretKey::parse(k).unwrap())
            .collect(),
    )
}

async fn secrets_are_sealed_at_rest(app: TestApp) {
    let body = json!({"name": "sealed", "azoTenantName": "eci-sealed", "fqdn": "eci-sealed.us.auth0.com",
        "managementClientId": "m2m", "managementClientSecret": "very-secret-client-secret"});
    let created = app.post("/v1/idp_tenants", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let stored = stored_secret(&app, "sealed").await;
    assert!(!stored.contains("very-secret"), "{stored}");
    let key_id = SecretKey::parse(TEST_SECRET_KEY).unwrap().id().to_owned();
    assert!(stored.starts_with(&format!("nxs1:{key_id}:")), "{stored}");
    assert_eq!(
        sealer(Some(TEST_SECRET_KEY), &[]).open(&stored).unwrap(),
        "very-secret-client-secret"
    );
    let changed = app
        .patch(
            "/v1/idp_tenants/sealed",
            json!({"managementClientId": "m2m", "managementClientSecret": "another-secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let stored = stored_secret(&app, "sealed").await;
    assert!(!stored.contains("another-secret"));
    assert_eq!(
        sealer(Some(TEST_SECRET_KEY), &[]).open(&stored).unwrap(),
        "another-secret"
    );

    // A server without a key stores no secret at all.
    let keyless = app
        .replica_with(AuthConfig {
            sealer: Sealer::default(),
            ..test_auth()
        })
        .await;
    let mut body = body;
    body["name"] = json!("unsealed");
    let refused = app
        .client
        .post(format!("http://{}/v1/idp_tenants", keyless.addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    let refused = TestApp::reply(refused).await;
    assert_problem(&refused, 400, "/v1/idp_tenants");
    assert!(refused.body["errors"]["managementClientSecret"][0]
        .as_str()
        .unwrap()
        .contains("NEXUS_SECRET_KEY"));
    assert_eq!(
        app.get("/v1/idp_tenants/unsealed").await.status,
        StatusCode::NOT_FOUND
    );
    keyless.stop().await.unwrap();
}

async fn start_up_checks_and_rotates_the_key(app: TestApp) {
    let created = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "rotating", "azoTenantName": "eci-rot", "fqdn": "eci-rot.us.auth0.com",
            "managementClientId": "m2m", "managementClientSecret": "rotate-me-secret"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let start = |sealer: Sealer| {
        let config = nexus::Config {
            database_url: app.database_url().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            auth: AuthConfig {
                sealer,
                ..test_auth()
            },
            bootstrap_api_key: None,
            ..nexus::Config::default()
        };
        async move { nexus::start(&config).await }
    };

    // Stored secrets and no key, or only a key that did not seal them: no start.
    let error = start(Sealer::default())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("NEXUS_SECRET_KEY"), "{error}");
    let error = start(sealer(Some(NEW_KEY), &[]))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("not configured"), "{error}");

    // Rotation: the new key seals, the old one opens what it sealed.
    let server = start(sealer(Some(NEW_KEY), &[TEST_SECRET_KEY]))
        .await
        .expect("starts while rotating");
    server.stop().await.unwrap();
    let stored = stored_secret(&app, "rotating").await;
    let new_id = SecretKey::parse(NEW_KEY).unwrap().id().to_owned();
    assert!(stored.starts_with(&format!("nxs1:{new_id}:")), "{stored}");
    assert_eq!(
        sealer(Some(NEW_KEY), &[]).open(&stored).unwrap(),
        "rotate-me-secret"
    );
    // The old key is no longer needed.
    start(sealer(Some(NEW_KEY), &[]))
        .await
        .expect("starts with the new key alone")
        .stop()
        .await
        .unwrap();

    // A secret an older Nexus kept in plain text is sealed at start.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query(
        "UPDATE idp_tenants SET management_client_secret = 'legacy-plain' WHERE name = 'rotating'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    nexus_store::commit(tx).await.unwrap();
    start(sealer(Some(NEW_KEY), &[]))
        .await
        .expect("starts")
        .stop()
        .await
        .unwrap();
    let stored = stored_secret(&app, "rotating").await;
    assert_eq!(
        sealer(Some(NEW_KEY), &[]).open(&stored).unwrap(),
        "legacy-plain"
    );
}
