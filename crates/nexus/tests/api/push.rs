//! Nexus changes arriving in Auth0: the push outbox and worker against the
//! Auth0 tenant simulator.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::metrics::{sample, scrape};
use crate::sim_tenant::{eventually, eventually_linked, linked_user, stats, tenant, Tenant};
use crate::support::{both_backends, TestApp};

both_backends!(
    changes_arrive_in_app_metadata,
    rapid_edits_coalesce,
    nothing_is_lost_across_outage_and_restart,
    permanent_failures_are_reported
);

async fn patches(tenant: &Tenant) -> u64 {
    stats(tenant).await["requests"]["PATCH /api/v2/users/{id}"]
        .as_u64()
        .unwrap_or(0)
}

async fn changes_arrive_in_app_metadata(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &tenant, "ada@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    eventually(&tenant, &azo, "name", json!("Ada Lovelace")).await;

    let base = format!("/v1/users/{user}/custom-upns");
    let rdp = app
        .post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "ada@corp.example.com"}),
        )
        .await
        .body;
    eventually(
        &tenant,
        &azo,
        "app_metadata",
        json!({"nexus_user_id": user, "custom_upns": {"rdp": "ada@corp.example.com"}}),
    )
    .await;
    let rdp_id = rdp["id"].as_str().unwrap();
    app.patch(
        &format!("{base}/{rdp_id}"),
        json!({"customUpnValue": "a.lovelace@corp.example.com"}),
    )
    .await;
    app.post(
        &base,
        json!({"clientUpnKey": "vdi", "customUpnValue": "ada@vdi.example.com"}),
    )
    .await;
    // An unkeyed UPN has no client to be the upn claim for: it is not pushed.
    app.post(&base, json!({"customUpnValue": "ada@legacy.example.com"}))
        .await;
    eventually(&tenant, &azo, "app_metadata", json!({"nexus_user_id": user, "custom_upns": {"rdp": "a.lovelace@corp.example.com", "vdi": "ada@vdi.example.com"}})).await;
    // A removed key disappears: the whole object is sent.
    app.delete(&format!("{base}/{rdp_id}")).await;
    eventually(
        &tenant,
        &azo,
        "app_metadata",
        json!({"nexus_user_id": user, "custom_upns": {"vdi": "ada@vdi.example.com"}}),
    )
    .await;
    let vdi = app
        .get(&format!("{base}?$filter=clientUpnKey eq 'vdi'"))
        .await
        .body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("{base}/{vdi}")).await;
    eventually_linked(&tenant, &azo, &user).await;

    // Profile fields of a database identity follow the Nexus user.
    app.patch(
        &format!("/v1/users/{user}"),
        json!({"givenName": "Ada", "displayName": "Countess Lovelace"}),
    )
    .await;
    eventually(&tenant, &azo, "given_name", json!("Ada")).await;
    eventually(&tenant, &azo, "name", json!("Countess Lovelace")).await;

    // Unlinking removes both keys.
    assert_eq!(
        app.delete(&format!("/v1/users/{user}/idp_tenants/sim"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    eventually(&tenant, &azo, "app_metadata", json!({})).await;
    push_settles(&app, Duration::from_secs(10)).await;
}

/// The outbox empties without failures. Auth0 has the change a moment
/// before the worker records it as pushed, so this polls too.
async fn push_settles(app: &TestApp, within: Duration) {
    let started = Instant::now();
    loop {
        let status = app.get("/v1/push/status").await.body;
        if status["pending"] == 0 {
            assert_eq!(status["failed"], 0, "{status}");
            return;
        }
        assert!(started.elapsed() < within, "still pending: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rapid_edits_coalesce(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &tenant, "rapid@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let before = patches(&tenant).await;
    let base = format!("/v1/users/{user}/custom-upns");
    let upn = app
        .post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "v0@corp.example.com"}),
        )
        .await
        .body;
    let path = format!("{base}/{}", upn["id"].as_str().unwrap());
    for i in 1..=100 {
        let reply = app
            .patch(
                &path,
                json!({"customUpnValue": format!("v{i}@corp.example.com")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    eventually(
        &tenant,
        &azo,
        "app_metadata",
        json!({"nexus_user_id": user, "custom_upns": {"rdp": "v100@corp.example.com"}}),
    )
    .await;
    let sent = patches(&tenant).await - before;
    assert!(sent < 50, "101 edits took {sent} PATCHes");
    eprintln!("101 UPN edits were pushed in {sent} PATCHes");
}

async fn nothing_is_lost_across_outage_and_restart(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &tenant, "outage@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let http = reqwest::Client::new();
    let faults = format!("{}/__sim/faults", tenant.sim.base_url());
    http.put(&faults)
        .json(&json!({"fail_for_ms": 60_000}))
        .send()
        .await
        .unwrap();
    let base = format!("/v1/users/{user}/custom-upns");
    for key in ["a", "b", "c"] {
        let reply = app
            .post(
                &base,
                json!({"clientUpnKey": key, "customUpnValue": format!("{key}@corp.example.com")}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "Nexus accepts changes while Auth0 is down"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.get("/v1/push/status").await.body["pending"]
            .as_i64()
            .unwrap()
            >= 1
    );
    // Nexus goes down and comes back while Auth0 is still failing.
    app.restart().await;
    app.post(
        &base,
        json!({"clientUpnKey": "d", "customUpnValue": "d@corp.example.com"}),
    )
    .await;
    http.put(&faults).json(&json!({})).send().await.unwrap();
    let expected = json!({"nexus_user_id": user, "custom_upns": {
        "a": "a@corp.example.com", "b": "b@corp.example.com", "c": "c@corp.example.com", "d": "d@corp.example.com"}});
    eventually(&tenant, &azo, "app_metadata", expected).await;
    push_settles(&app, Duration::from_secs(10)).await;
}

/// A backlog of 200 users behind a limit of 5 requests a second drains
/// without a storm of 429s: the client waits for the window to reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_backlog_drains_calmly() {
    let app = TestApp::sqlite().await;
    let tenant = tenant(&app, 1000).await;
    let http = reqwest::Client::new();
    // Auth0 refuses updates while the backlog builds up; the checks of each
    // new link (reads) still pass.
    let faults = format!("{}/__sim/faults", tenant.sim.base_url());
    http.put(&faults)
        .json(&json!({"fail_for_ms": 600_000, "fail_methods": ["PATCH"]}))
        .send()
        .await
        .unwrap();
    let seeding = Instant::now();
    let mut users = Vec::new();
    for i in 0..200 {
        users.push(linked_user(&app, &tenant, &format!("backlog{i}@example.com")).await);
    }
    eprintln!("200 users created in {:?}", seeding.elapsed());
    let backlog = app.get("/v1/push/status").await.body;
    assert_eq!(backlog["pending"], 200, "{backlog}");
    http.put(format!("{}/__sim/rate-limit", tenant.sim.base_url()))
        .json(&json!({"per_second": 5}))
        .send()
        .await
        .unwrap();
    http.put(&faults).json(&json!({})).send().await.unwrap();
    let started = Instant::now();
    push_settles(&app, Duration::from_secs(180)).await;
    let rate_limited = stats(&tenant).await["rateLimited"].as_u64().unwrap();
    eprintln!(
        "200 users drained in {:?} with {rate_limited} 429s",
        started.elapsed()
    );
    assert!(rate_limited <= 10, "{rate_limited} 429s");
    http.put(format!("{}/__sim/rate-limit", tenant.sim.base_url()))
        .json(&json!({"per_second": 1000}))
        .send()
        .await
        .unwrap();
    for (user, azo) in &users {
        assert_eq!(
            tenant.auth0.get_user(azo).await.unwrap()["app_metadata"],
            json!({"nexus_user_id": user})
        );
    }
}

/// Three replicas on one PostgreSQL database share the outbox: each item is
/// claimed by one of them, so every user is PATCHed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_never_push_one_item_twice() {
    let Some(app) = TestApp::postgres().await else {
        eprintln!("NEXUS_TEST_POSTGRES_URL is not set: PostgreSQL case not run");
        return;
    };
    let tenant = tenant(&app, 1000).await;
    // Slow answers keep claims in flight while the other workers poll.
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", tenant.sim.base_url()))
        .json(&json!({"latency_ms": 30}))
        .send()
        .await
        .unwrap();
    let replicas = [app.replica().await, app.replica().await];
    let before = patches(&tenant).await;
    for i in 0..40 {
        linked_user(&app, &tenant, &format!("replica{i}@example.com")).await;
    }
    let started = Instant::now();
    while app.get("/v1/push/status").await.body["pending"] != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "backlog does not drain"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(patches(&tenant).await - before, 40);
    for replica in replicas {
        replica.stop().await.unwrap();
    }
}

/// A push Auth0 can never accept (its user was deleted in Auth0) is set aside
/// as failed, with Auth0's answer, instead of being retried for ever.
async fn permanent_failures_are_reported(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "gone@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    tenant.auth0.delete_user(&azo).await.unwrap();
    let upn = app
        .post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"clientUpnKey": "rdp", "customUpnValue": "gone@corp.example.com"}),
        )
        .await;
    assert_eq!(upn.status, StatusCode::CREATED, "{}", upn.body);
    let started = Instant::now();
    let status = loop {
        let status = app.get("/v1/push/status").await.body;
        if status["failed"] == 1 {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["pending"], 0, "{status}");
    let failure = &status["failures"][0];
    assert_eq!(failure["azoUserId"], json!(azo));
    assert_eq!(failure["attempts"], 1, "not retried: {status}");
    let error = failure["lastError"].as_str().unwrap();
    assert!(error.contains("404"), "{error}");
    let metrics = scrape(&app).await;
    assert_eq!(
        sample(&metrics, "nexus_push_failed"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, r#"nexus_push_attempts_total{outcome="Failed"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert!(sample(&metrics, r#"nexus_push_attempts_total{outcome="Pushed"}"#).unwrap() >= 1.0);
}
