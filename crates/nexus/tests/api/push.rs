//! Nexus changes arriving in Auth0: the push outbox and worker against the
//! Auth0 tenant simulator.

use std::time::{Duration, Instant};

use nexus_core::Timestamp;
use nexus_service::push::PushConfig;
use nexus_store::Backend;
use reqwest::StatusCode;
use serde_json::json;

use crate::metrics::{sample, scrape};
use crate::sim_tenant::{eventually, eventually_linked, linked_user, stats, tenant, Tenant};
use crate::support::{both_backends, TestApp};

both_backends!(
    changes_arrive_in_app_metadata,
    rapid_edits_coalesce,
    nothing_is_lost_across_outage_and_restart,
    permanent_failures_are_reported,
    a_dead_claim_does_not_hold_back_changes,
    a_slow_auth0_keeps_claims_renewed_and_replicas_apart,
    a_refused_profile_field_does_not_hold_back_app_metadata,
    the_longest_profile_nexus_takes_arrives,
    auth0_calls_are_measured
);

/// Every Management API answer is counted by operation (ids left out) and
/// status, timed, and the waits for a tenant's rate limit are added up.
async fn auth0_calls_are_measured(app: TestApp) {
    // One call a second: the link check and the push must wait for it.
    let tenant = tenant(&app, 1).await;
    let (user, azo) = linked_user(&app, &tenant, "ada@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;

    let text = scrape(&app).await;
    let answered = |operation: &str, status: &str| {
        sample(
            &text,
            &format!(r#"nexus_auth0_requests_total{{operation="{operation}",status="{status}"}}"#),
        )
        .unwrap_or(0.0)
    };
    assert!(answered("post /oauth/token", "200") >= 1.0, "{text}");
    assert!(answered("get /users/{id}", "200") >= 1.0, "{text}");
    assert!(answered("patch /users/{id}", "200") >= 1.0, "{text}");
    let patch_count = sample(
        &text,
        r#"nexus_auth0_request_duration_seconds_count{operation="patch /users/{id}"}"#,
    );
    assert!(patch_count.is_some_and(|n| n >= 1.0), "{text}");
    let waited = sample(&text, "nexus_auth0_rate_limit_wait_seconds_total");
    assert!(waited.is_some_and(|s| s > 0.0), "{text}");
}

async fn patches(tenant: &Tenant) -> u64 {
    stats(tenant).await["requests"]["PATCH /api/v2/users/{id}"]
        .as_u64()
        .unwrap_or(0)
}

async fn changes_arrive_in_app_metadata(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &tenant, "ada@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    eventually(&tenant, &azo, |u| json!(u.name), json!("Ada Lovelace")).await;

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
        |u| json!(u.app_metadata),
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
    eventually(&tenant, &azo, |u| json!(u.app_metadata), json!({"nexus_user_id": user, "custom_upns": {"rdp": "a.lovelace@corp.example.com", "vdi": "ada@vdi.example.com"}})).await;
    // A removed key disappears: the whole object is sent.
    app.delete(&format!("{base}/{rdp_id}")).await;
    eventually(
        &tenant,
        &azo,
        |u| json!(u.app_metadata),
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
    eventually(&tenant, &azo, |u| json!(u.given_name), json!("Ada")).await;
    eventually(&tenant, &azo, |u| json!(u.name), json!("Countess Lovelace")).await;

    // Unlinking removes both keys.
    assert_eq!(
        app.delete(&format!("/v1/users/{user}/idp_tenants/sim"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    eventually(&tenant, &azo, |u| json!(u.app_metadata), json!({})).await;
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
        |u| json!(u.app_metadata),
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
    eventually(&tenant, &azo, |u| json!(u.app_metadata), expected).await;
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
            json!(tenant.auth0.get_user(azo).await.unwrap().app_metadata),
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

/// A process killed mid-push leaves its claim on the row, and a change is
/// recorded behind it. After the restart that change, and one made after it,
/// arrive at once on SQLite (where one process pushes), and within the short
/// lease on PostgreSQL (where the claim may belong to a live replica).
async fn a_dead_claim_does_not_hold_back_changes(mut app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "crash@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    push_settles(&app, Duration::from_secs(10)).await;
    let sqlite = app.store.backend() == Backend::Sqlite;
    let lease = Duration::from_secs(4);
    // As a run with the former 2-minute lease left it; on PostgreSQL, as a
    // replica with this lease did.
    let claimed_for = if sqlite {
        Duration::from_secs(120)
    } else {
        lease
    };
    let tenant_id = app.get("/v1/idp_tenants/sim").await.body["id"]
        .as_i64()
        .unwrap() as i32;
    let now = Timestamp::now();
    let mut conn = app.store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO push_outbox (idp_tenant_id, azo_user_id, due_at, created, modified, claimed_until, claimed_by) \
         VALUES ($1, $2, $3, $3, $3, $4, 'a-run-killed-mid-push')",
    )
    .bind(tenant_id)
    .bind(&azo)
    .bind(now.to_text())
    .bind(now.plus(claimed_for).to_text())
    .execute(&mut *conn)
    .await
    .unwrap();
    nexus_store::commit(conn).await.unwrap();
    let base = format!("/v1/users/{user}/custom-upns");
    let before = app
        .post(
            &base,
            json!({"clientUpnKey": "a", "customUpnValue": "a@corp.example.com"}),
        )
        .await;
    assert_eq!(before.status, StatusCode::CREATED, "{}", before.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        json!(tenant.auth0.get_user(&azo).await.unwrap().app_metadata),
        json!({"nexus_user_id": user}),
        "a claimed row waits for its claim"
    );

    app.push = PushConfig {
        lease,
        ..PushConfig::default()
    };
    app.restart().await;
    let restarted = Instant::now();
    let after = app
        .post(
            &base,
            json!({"clientUpnKey": "b", "customUpnValue": "b@corp.example.com"}),
        )
        .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    eventually(
        &tenant,
        &azo,
        |u| json!(u.app_metadata),
        json!({"nexus_user_id": user, "custom_upns": {"a": "a@corp.example.com", "b": "b@corp.example.com"}}),
    )
    .await;
    let waited = restarted.elapsed();
    let bound = if sqlite {
        Duration::from_secs(2)
    } else {
        lease + Duration::from_secs(4)
    };
    assert!(waited < bound, "pushed {waited:?} after the restart");
    push_settles(&app, Duration::from_secs(10)).await;
}

/// Auth0 answers each call in a second, so a batch outlives the lease many
/// times over: the worker renews its claims while it pushes, and a second
/// replica (PostgreSQL) never takes a claimed user, so no user is PATCHed
/// twice, let alone by two replicas at once.
async fn a_slow_auth0_keeps_claims_renewed_and_replicas_apart(mut app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    // The backlog builds while the worker sleeps.
    app.push = PushConfig {
        idle_poll: Duration::from_secs(3600),
        ..PushConfig::default()
    };
    app.restart().await;
    let users: u64 = 6;
    for i in 0..users {
        linked_user(&app, &tenant, &format!("slow{i}@example.com")).await;
    }
    let backlog = app.get("/v1/push/status").await.body;
    assert_eq!(backlog["pending"], users, "{backlog}");
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", tenant.sim.base_url()))
        .json(&json!({"latency_ms": 1000}))
        .send()
        .await
        .unwrap();
    let before = patches(&tenant).await;

    let lease = Duration::from_secs(3);
    app.push = PushConfig {
        lease,
        ..PushConfig::default()
    };
    app.restart().await;
    let replica = match app.store.backend() {
        Backend::Postgres => Some(app.replica().await),
        Backend::Sqlite => None,
    };
    let first_lease_ends = Timestamp::now().plus(lease);
    let started = Instant::now();
    let mut renewed = false;
    while app.get("/v1/push/status").await.body["pending"] != 0 {
        let mut conn = app.store.read_one().await.unwrap();
        let held_until: Option<String> = sqlx::query_scalar(
            "SELECT max(claimed_until) FROM push_outbox WHERE claimed_by IS NOT NULL",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        renewed |= held_until
            .is_some_and(|until| until > first_lease_ends.plus(Duration::from_secs(1)).to_text());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "backlog does not drain"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        started.elapsed() > lease * 2,
        "the batch outlived the lease"
    );
    assert!(renewed, "claims were renewed while the batch ran");
    let stats = stats(&tenant).await;
    assert_eq!(patches(&tenant).await - before, users, "{stats}");
    assert_eq!(stats["overlappingPatches"], 0, "{stats}");
    if let Some(replica) = replica {
        replica.stop().await.unwrap();
    }
}

/// The push status once nothing is pending and `ready` holds for it.
async fn status_when(
    app: &TestApp,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let status = app.get("/v1/push/status").await.body;
        if status["pending"] == 0 && ready(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Auth0 refuses a profile field: app_metadata still arrives, and the push
/// status says what Auth0 refused and why, until Auth0 takes a whole push.
async fn a_refused_profile_field_does_not_hold_back_app_metadata(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "refused@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let http = reqwest::Client::new();
    let faults = format!("{}/__sim/faults", tenant.sim.base_url());
    http.put(&faults)
        .json(&json!({"refuse_fields": ["family_name"]}))
        .send()
        .await
        .unwrap();
    let path = format!("/v1/users/{user}");
    let patched = app.patch(&path, json!({"familyName": "Byron"})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let base = format!("{path}/custom-upns");
    app.post(
        &base,
        json!({"clientUpnKey": "rdp", "customUpnValue": "ada@corp.example.com"}),
    )
    .await;
    eventually(
        &tenant,
        &azo,
        |u| json!(u.app_metadata),
        json!({"nexus_user_id": user, "custom_upns": {"rdp": "ada@corp.example.com"}}),
    )
    .await;
    let status = status_when(&app, |s| s["refusals"][0].is_object()).await;
    assert_eq!(status["failed"], 0, "{status}");
    let refusal = &status["refusals"][0];
    assert_eq!(refusal["azoUserId"], json!(azo), "{status}");
    assert_eq!(refusal["field"], "family_name", "{status}");
    let reason = refusal["reason"].as_str().unwrap();
    assert!(
        reason.contains("400") && reason.contains("family_name"),
        "{reason}"
    );
    assert!(tenant
        .auth0
        .get_user(&azo)
        .await
        .unwrap()
        .family_name
        .is_none());

    // Auth0 takes the profile again: the next push clears the refusal.
    http.put(&faults).json(&json!({})).send().await.unwrap();
    app.patch(&path, json!({"familyName": "King"})).await;
    eventually(&tenant, &azo, |u| json!(u.family_name), json!("King")).await;
    status_when(&app, |s| s["refusals"] == json!([])).await;

    // A value stored before Nexus held Auth0's limits is not sent at all
    // (Auth0's schema is checked first), and app_metadata still goes.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE users SET given_name = '' WHERE id = $1")
        .bind(&user)
        .execute(&mut *tx)
        .await
        .unwrap();
    nexus_store::commit(tx).await.unwrap();
    app.post(
        &base,
        json!({"clientUpnKey": "vdi", "customUpnValue": "ada@vdi.example.com"}),
    )
    .await;
    eventually(
        &tenant,
        &azo,
        |u| json!(u.app_metadata),
        json!({"nexus_user_id": user, "custom_upns": {"rdp": "ada@corp.example.com", "vdi": "ada@vdi.example.com"}}),
    )
    .await;
    let status = status_when(&app, |s| s["refusals"][0]["field"] == "given_name").await;
    assert!(
        status["refusals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("must be 1 to 150 characters long"),
        "{status}"
    );
}

/// The most Nexus takes of each pushed profile field, Auth0 takes too.
async fn the_longest_profile_nexus_takes_arrives(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "long@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let picture = format!("https://cdn.example.com/{}", "p".repeat(250 - 24));
    assert_eq!(picture.len(), 250);
    let longest = json!({"displayName": "d".repeat(200), "givenName": "g".repeat(100),
        "familyName": "f".repeat(100), "nickname": "n".repeat(100), "picture": picture});
    let patched = app.patch(&format!("/v1/users/{user}"), longest).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    eventually(&tenant, &azo, |u| json!(u.picture), json!(picture)).await;
    let pushed = tenant.auth0.get_user(&azo).await.unwrap();
    assert_eq!(pushed.name, Some("d".repeat(200)));
    assert_eq!(pushed.nickname, Some("n".repeat(100)));
    let status = status_when(&app, |_| true).await;
    assert_eq!(status["refusals"], json!([]), "{status}");
    assert_eq!(status["failed"], 0, "{status}");
}
