//! A user blocked in Nexus cannot sign in to their Auth0 accounts even where
//! the post-login Action is not installed: the block is pushed through the
//! outbox, and unblocking lifts brute-force blocks too.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::sim_tenant::{
    eventually, eventually_linked, fail, linked_user, recover, sign_in, stats, tenant, Tenant,
};
use crate::support::{both_backends, TestApp};

both_backends!(blocking_reaches_auth0, a_block_waits_out_an_auth0_outage);

/// Waits until a password login answers `status`.
async fn eventually_signs_in(tenant: &Tenant, email: &str, password: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answered = sign_in(tenant, email, password).await;
        if answered == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sign-in answers {answered}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lifts(tenant: &Tenant) -> u64 {
    stats(tenant).await["requests"]["DELETE /api/v2/user-blocks/{id}"]
        .as_u64()
        .unwrap_or(0)
}

const PASSWORD: &str = "Passw0rd!long";

async fn blocking_reaches_auth0(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "blocked@example.com";
    let (user, azo) = linked_user(&app, &tenant, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    eventually(&tenant, &azo, |u| json!(u.blocked), json!(false)).await;
    assert_eq!(sign_in(&tenant, email, PASSWORD).await, 200);

    let path = format!("/v1/users/{user}");
    let blocked = app.patch(&path, json!({"isBlocked": true})).await;
    assert_eq!(
        (blocked.status.as_u16(), &blocked.body["isActive"]),
        (200, &json!(false))
    );
    eventually(&tenant, &azo, |u| json!(u.blocked), json!(true)).await;
    assert_eq!(
        sign_in(&tenant, email, PASSWORD).await,
        401,
        "blocked in Auth0"
    );

    // Brute-force protection blocks the account meanwhile; unblocking in
    // Nexus lifts that block too.
    for _ in 0..10 {
        sign_in(&tenant, email, "wrong-password").await;
    }
    assert_eq!(sign_in(&tenant, email, PASSWORD).await, 429);
    let before = lifts(&tenant).await;
    app.patch(&path, json!({"isBlocked": false})).await;
    eventually(&tenant, &azo, |u| json!(u.blocked), json!(false)).await;
    eventually_signs_in(&tenant, email, PASSWORD, 200).await;
    assert_eq!(lifts(&tenant).await, before + 1);

    // Other changes do not lift blocks: only an unblock does.
    app.patch(&path, json!({"givenName": "Bea"})).await;
    eventually(&tenant, &azo, |u| json!(u.given_name), json!("Bea")).await;
    assert_eq!(lifts(&tenant).await, before + 1);
}

async fn a_block_waits_out_an_auth0_outage(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "outage-block@example.com";
    let (user, azo) = linked_user(&app, &tenant, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    fail(&tenant, &["PATCH", "DELETE"]).await;
    let blocked = app
        .patch(&format!("/v1/users/{user}"), json!({"isBlocked": true}))
        .await;
    assert_eq!(
        blocked.status.as_u16(),
        200,
        "Nexus accepts the block while Auth0 is down"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = app.get("/v1/push/status").await.body;
    assert!(waiting["pending"].as_i64().unwrap() >= 1, "{waiting}");
    assert_eq!(
        tenant.auth0.get_user(&azo).await.unwrap().blocked,
        Some(false)
    );

    recover(&tenant).await;
    eventually(&tenant, &azo, |u| json!(u.blocked), json!(true)).await;
    assert_eq!(sign_in(&tenant, email, PASSWORD).await, 401);
}
