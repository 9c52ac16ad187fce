//! Replicas that start at the same moment over one new PostgreSQL database:
//! the migrations and the bootstrap key must come out right whichever
//! replica gets there first.

use nexus::{Config, RunningServer};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{basic, test_auth, EmptyPostgres, TestApp};

const REPLICAS: usize = 6;
const ATTEMPTS: usize = 3;
const BOOTSTRAP_KEY: &str = "boot-admin:bootstrap-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_start_together_on_a_new_database() {
    for attempt in 0..ATTEMPTS {
        let Some(database) = EmptyPostgres::create().await else {
            eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL start-up test not run");
            return;
        };
        let servers = start_replicas(&database.url).await;
        let started: Vec<RunningServer> = servers
            .into_iter()
            .enumerate()
            .map(|(i, started)| {
                started.unwrap_or_else(|e| panic!("attempt {attempt}: replica {i} failed: {e:#}"))
            })
            .collect();
        for server in &started {
            let key = bootstrap_key_through(server).await;
            assert_eq!(key["id"], "boot-admin", "{key}");
            assert_eq!(key["permissions"], "read user.sync write", "{key}");
            assert!(key["revokedAt"].is_null(), "{key}");
        }
        let keys = list_keys_through(&started[0]).await;
        assert_eq!(keys["@odata.count"], 1, "one bootstrap key: {keys}");
        for server in started {
            server.stop().await.expect("stop");
        }
    }
}

/// `REPLICAS` servers started at once, each as `nexus serve` starts, with
/// the same bootstrap key.
async fn start_replicas(url: &str) -> Vec<anyhow::Result<RunningServer>> {
    let config = Config {
        database_url: url.to_owned(),
        listen: ([127, 0, 0, 1], 0).into(),
        auth: test_auth(),
        bootstrap_api_key: Some(BOOTSTRAP_KEY.to_owned()),
        ..Config::default()
    };
    let starts = (0..REPLICAS).map(|_| {
        let config = config.clone();
        tokio::spawn(async move { nexus::start(&config).await })
    });
    futures::future::join_all(starts)
        .await
        .into_iter()
        .map(|joined| joined.expect("start task"))
        .collect()
}

async fn bootstrap_key_through(server: &RunningServer) -> Value {
    get_with_bootstrap_key(server, "/v1/api-keys/boot-admin").await
}

async fn list_keys_through(server: &RunningServer) -> Value {
    get_with_bootstrap_key(
        server,
        "/v1/api-keys?$count=true&$filter=id%20eq%20'boot-admin'",
    )
    .await
}

async fn get_with_bootstrap_key(server: &RunningServer, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://{}{path}", server.addr))
        .header(reqwest::header::AUTHORIZATION, basic(BOOTSTRAP_KEY))
        .send()
        .await
        .expect("request sent");
    let reply = TestApp::reply(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    reply.body
}

crate::support::both_backends!(the_bootstrap_key_says_what_it_found_and_rotates);

/// Start-up says what became of the bootstrap key, keeps a key's secret
/// unless asked to rotate it, and rotation renews the secret and the year.
async fn the_bootstrap_key_says_what_it_found_and_rotates(app: TestApp) {
    use nexus_service::api_keys::{bootstrap, Bootstrap, ExistingKey};
    let first = "boot:first-secret-0123456789";
    let second = "boot:second-secret-0123456789";
    let status = |credential: &'static str| {
        let app = &app;
        async move {
            app.request_as(
                reqwest::Method::GET,
                "/v1/api-keys/boot",
                &[("authorization", basic(credential))],
                None,
            )
            .await
            .status
        }
    };
    let created = bootstrap(&app.nexus, first, ExistingKey::Keep)
        .await
        .unwrap();
    let Bootstrap::Created(key) = created else {
        panic!("{created:?}")
    };
    assert_eq!(key.permissions, "read user.sync write");
    assert!(matches!(
        bootstrap(&app.nexus, first, ExistingKey::Keep)
            .await
            .unwrap(),
        Bootstrap::Exists(_)
    ));
    // Another secret for the same id changes nothing by itself.
    assert!(matches!(
        bootstrap(&app.nexus, second, ExistingKey::Keep)
            .await
            .unwrap(),
        Bootstrap::SecretDiffers(_)
    ));
    assert_eq!(status(second).await, StatusCode::UNAUTHORIZED);
    // Asked to, it rotates: the new secret works and the year starts again.
    let before = key.expires_at;
    let rotated = bootstrap(&app.nexus, second, ExistingKey::Rotate)
        .await
        .unwrap();
    let Bootstrap::Rotated(rotated) = rotated else {
        panic!("{rotated:?}")
    };
    assert!(rotated.expires_at > before);
    assert_eq!(status(second).await, StatusCode::OK);
    assert!(matches!(
        bootstrap(&app.nexus, second, ExistingKey::Keep)
            .await
            .unwrap(),
        Bootstrap::Exists(_)
    ));
    assert!(matches!(
        bootstrap(&app.nexus, first, ExistingKey::Keep)
            .await
            .unwrap(),
        Bootstrap::SecretDiffers(_)
    ));
}
