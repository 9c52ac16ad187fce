//! User exports over real HTTP: a job is created, polled until it completes,
//! and its file downloaded and read the way an importer reads it.

mod support;

use std::io::Read;

use auth0_sim::DEFAULT_CONNECTION_ID;
use flate2::read::GzDecoder;
use serde_json::{json, Value};
use support::{Tenant, CONNECTION};

impl Tenant {
    async fn seed(&self, user: Value) -> String {
        let created: Value = self
            .http
            .post(self.url("/__sim/users"))
            .json(&user)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["user_id"].as_str().unwrap().to_owned()
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.management(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// Runs an export to completion; the file's lines.
    async fn export(&self, request: Value) -> Vec<String> {
        let job = self
            .call(reqwest::Method::POST, "/jobs/users-exports", request)
            .await;
        let path = format!("/jobs/{}", job["id"].as_str().unwrap());
        let location = loop {
            let polled = self.call(reqwest::Method::GET, &path, Value::Null).await;
            if polled["status"] == "completed" {
                break polled["location"].as_str().unwrap().to_owned();
            }
            assert_eq!(polled["status"], "pending");
        };
        let gzip = self.http.get(location).send().await.unwrap();
        assert_eq!(gzip.status(), 200);
        let mut text = String::new();
        GzDecoder::new(&gzip.bytes().await.unwrap()[..])
            .read_to_string(&mut text)
            .unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

fn parsed(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn an_export_holds_the_users_with_the_fields_asked_for() {
    let tenant = Tenant::start().await;
    let ada = tenant
        .seed(json!({"connection": CONNECTION, "email": "ada@example.com", "password": "Passw0rd!long",
            "email_verified": true, "app_metadata": {"nexus_user_id": "u-1"}}))
        .await;
    let bob = tenant
        .seed(json!({"connection": CONNECTION, "email": "bob@example.com", "password": "Passw0rd!long"}))
        .await;

    // Everything about every user, by default.
    let whole = parsed(&tenant.export(json!({"format": "json"})).await);
    assert_eq!(whole.len(), 2);
    let ada_whole = whole.iter().find(|u| u["user_id"] == ada.as_str()).unwrap();
    assert_eq!(ada_whole["email_verified"], true);
    assert_eq!(ada_whole["identities"][0]["connection"], CONNECTION);

    // The fields asked for, under their names; nested paths; absent ones left out.
    let fields = json!({"connection_id": DEFAULT_CONNECTION_ID, "fields": [
        {"name": "user_id"}, {"name": "email", "export_as": "mail"},
        {"name": "app_metadata.nexus_user_id", "export_as": "nexus"},
        {"name": "identities[0].connection", "export_as": "connection"}]});
    let picked = parsed(&tenant.export(fields).await);
    let ada_picked = picked
        .iter()
        .find(|u| u["user_id"] == ada.as_str())
        .unwrap();
    assert_eq!(
        ada_picked,
        &json!({"user_id": ada, "mail": "ada@example.com", "nexus": "u-1", "connection": CONNECTION})
    );
    let bob_picked = picked
        .iter()
        .find(|u| u["user_id"] == bob.as_str())
        .unwrap();
    assert!(bob_picked.get("nexus").is_none(), "{bob_picked}");

    // At most `limit` users.
    assert_eq!(tenant.export(json!({"limit": 1})).await.len(), 1);

    // CSV: a header, then one row per user, quoted where needed.
    let csv = tenant
        .export(json!({"format": "csv", "fields": [{"name": "email"}, {"name": "user_id", "export_as": "id"}]}))
        .await;
    assert_eq!(csv[0], "email,id");
    assert!(csv.contains(&format!("ada@example.com,{ada}")), "{csv:?}");
    assert_eq!(csv.len(), 3);
}

#[tokio::test]
async fn a_file_is_there_only_once_its_job_completed() {
    let tenant = Tenant::start().await;
    let job = tenant
        .call(reqwest::Method::POST, "/jobs/users-exports", json!({}))
        .await;
    let id = job["id"].as_str().unwrap();
    let early = format!("{}/__sim/exports/{id}.json.gz", tenant.sim.base_url());
    assert_eq!(tenant.http.get(&early).send().await.unwrap().status(), 404);
}
