//! Deleting a user reaches Auth0 through the outbox: the database accounts
//! Nexus created are deleted (unless kept), the others lose Nexus's keys.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::sim_tenant::{
    eventually, eventually_linked, fail, linked_user, provisioned_user, recover, tenant, Tenant,
};
use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    deletion_removes_the_accounts_nexus_created,
    deletion_can_keep_the_accounts,
    a_deletion_waits_out_an_auth0_outage
);

/// Waits until Auth0 no longer has the account.
async fn eventually_gone(tenant: &Tenant, azo: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tenant.auth0.get_user(azo).await.is_ok() {
        assert!(Instant::now() < deadline, "{azo} still exists in Auth0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deletion_removes_the_accounts_nexus_created(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (created, created_azo) = provisioned_user(&app, "made@example.com").await;
    eventually_linked(&tenant, &created_azo, &created).await;
    let (linked, linked_azo) = linked_user(&app, &tenant, "found@example.com").await;
    eventually_linked(&tenant, &linked_azo, &linked).await;

    let deleted = app.delete(&format!("/v1/users/{created}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    eventually_gone(&tenant, &created_azo).await;

    // An account Nexus found in Auth0 is the user's own: it stays, without
    // Nexus's keys.
    app.delete(&format!("/v1/users/{linked}")).await;
    eventually(&tenant, &linked_azo, |u| json!(u.app_metadata), json!({})).await;
    assert_eq!(
        tenant
            .auth0
            .get_user(&linked_azo)
            .await
            .unwrap()
            .email
            .as_deref(),
        Some("found@example.com")
    );
}

async fn deletion_can_keep_the_accounts(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = provisioned_user(&app, "kept@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}");
    for bad in ["keepAuth0Accounts=yes", "keepAuth0Account=true"] {
        let refused = app.delete(&format!("{path}?{bad}")).await;
        assert_problem(&refused, 400, &path);
    }
    assert_eq!(
        app.get(&path).await.status,
        StatusCode::OK,
        "nothing deleted"
    );
    let deleted = app.delete(&format!("{path}?keepAuth0Accounts=true")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    eventually(&tenant, &azo, |u| json!(u.app_metadata), json!({})).await;
    assert!(
        tenant.auth0.get_user(&azo).await.is_ok(),
        "the account is kept"
    );
}

async fn a_deletion_waits_out_an_auth0_outage(mut app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = provisioned_user(&app, "outage-delete@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    fail(&tenant, &["DELETE"]).await;
    let deleted = app.delete(&format!("/v1/users/{user}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(tenant.auth0.get_user(&azo).await.is_ok(), "Auth0 is down");
    // Nexus restarts meanwhile: the deletion is in the database.
    app.restart().await;
    recover(&tenant).await;
    eventually_gone(&tenant, &azo).await;
}
