//! `nexus backup`: a consistent copy of a SQLite database taken while the
//! server runs, which a server started on it serves whole; PostgreSQL's
//! backups are pg_dump's, and the command says so.

use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::support::{both_backends, test_auth, TestApp};

both_backends!(a_backup_holds_every_record);

async fn backup(app: &TestApp, file: &std::path::Path) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus"))
        .arg("backup")
        .arg(file)
        .args(["--database-url", app.database_url()])
        .env_remove("NEXUS_DATABASE_URL")
        .output()
        .await
        .unwrap()
}

/// What the directory holds, read through the API.
async fn contents(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        "/v1/users?$orderby=id&$top=1000",
        "/v1/organizations?$top=1000",
        "/v1/roles?$top=1000",
        "/v1/idp_tenants?$top=1000",
    ] {
        let reply = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
        all.push(reply.json().await.unwrap());
    }
    all
}

async fn a_backup_holds_every_record(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    if app.store.backend() == nexus_store::Backend::Postgres {
        let refused = backup(&app, &file).await;
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
        return;
    }
    for n in 0..20 {
        let user = app.user().await;
        app.post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"customUpnValue": format!("backup-{n}@corp.example.com")}),
        )
        .await;
    }
    // Writes go on while the copy is taken; it is one snapshot of them.
    let writer = async {
        for _ in 0..10 {
            app.user().await;
        }
    };
    let (copied, ()) = tokio::join!(backup(&app, &file), writer);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    // A second backup to the same file is refused: it would overwrite one.
    let again = backup(&app, &file).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // A server on the copy serves what the database held at the copy's
    // moment, whole: at least the users made before it, each with its UPN,
    // and nothing the database did not have.
    let before = contents(&app.client, &app.base).await;
    let store = nexus::open_store(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let restored = nexus::start_with(store, test_auth(), listener)
        .await
        .unwrap();
    let base = format!("http://{}", restored.addr);
    let after = contents(&app.client, &base).await;
    for (listed, now) in after.iter().zip(&before) {
        let now = now["value"].as_array().unwrap();
        for item in listed["value"].as_array().unwrap() {
            assert!(now.contains(item), "{item}");
        }
    }
    let users = after[0]["value"].as_array().unwrap();
    let with_upns = users
        .iter()
        .filter(|u| !u["customUpns"].as_array().unwrap().is_empty());
    assert_eq!(with_upns.count(), 20);
    assert!(users.len() >= 20, "{}", users.len());
    restored.stop().await.unwrap();
}
