//! E-mail verification: Auth0 sends the e-mail to the database account
//! (the user follows its link there), and the user's status becomes
//! `Pending` with the date it was sent; a changed address is unverified
//! again and reaches Auth0, which e-mails it; an address Auth0 holds
//! verified is verified in Nexus when the account is linked.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::audit::events_of;
use crate::sim_tenant::{
    eventually, eventually_linked, fail, inbox, provisioned_user, recover, seed_account, stats,
    tenant, Tenant,
};
use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    a_verification_email_is_sent_and_recorded,
    what_cannot_be_verified,
    a_changed_address_is_verified_again,
    an_address_is_one_users_whatever_its_case,
    a_changed_address_waits_for_auth0,
    an_address_without_a_database_account_stays_in_nexus,
    linking_learns_a_verified_address,
);

async fn a_verification_email_is_sent_and_recorded(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "verify-me@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}");
    let before = app.get(&path).await.body;
    assert_eq!(before["email-verification-status-type"], "Unverified");
    assert!(before["email-verify-sent-date"].is_null());

    let sent = app
        .post(&format!("{path}/email-verification"), json!(null))
        .await;
    assert_eq!(sent.status.as_u16(), 204, "{}", sent.body);
    let after = app.get(&path).await.body;
    assert_eq!(after["email-verification-status-type"], "Pending");
    assert!(after["email-verify-sent-date"].is_string(), "{after}");
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "verify_email");

    // The user follows the link: Auth0 has the address verified.
    let link = emails[0]["link"].as_str().unwrap();
    assert_eq!(reqwest::get(link).await.unwrap().status(), 200);
    let account = tenant.auth0.get_user(&azo).await.unwrap();
    assert_eq!(account.email_verified, Some(true));
}

async fn what_cannot_be_verified(app: TestApp) {
    // A user without an Auth0 database account.
    let plain = app.user().await;
    let path = format!("/v1/users/{plain}/email-verification");
    assert_problem(&app.post(&path, json!(null)).await, 409, &path);
    let missing = "/v1/users/no-such-user/email-verification";
    assert_problem(&app.post(missing, json!(null)).await, 404, missing);

    let tenant = tenant(&app, 100).await;
    let email = "verify-down@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}/email-verification");

    // Auth0 down: 503, nothing sent, nothing recorded.
    fail(&tenant, &["POST"]).await;
    let down = app.post(&path, json!(null)).await;
    recover(&tenant).await;
    assert_problem(&down, 503, &path);
    assert!(inbox(&tenant, email).await.is_empty());
    let user_path = format!("/v1/users/{user}");
    assert!(app.get(&user_path).await.body["email-verify-sent-date"].is_null());

    // A verified address is not verified again.
    app.patch(&user_path, json!({"emailVerified": true})).await;
    assert_problem(&app.post(&path, json!(null)).await, 409, &path);
    assert!(inbox(&tenant, email).await.is_empty());
}

/// Waits until the Nexus user's `field` equals `expected`; the user.
async fn eventually_in_nexus(app: &TestApp, user: &str, field: &str, expected: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = app.get(&format!("/v1/users/{user}")).await.body;
        if found[field] == expected {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{field} is {} and not {expected}",
            found[field]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_changed_address_is_verified_again(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = provisioned_user(&app, "old-address@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}");
    let verified = app.patch(&path, json!({"emailVerified": true})).await;
    assert_eq!(verified.body["email-verification-status-type"], "Verified");

    let new = "New.Address@example.com";
    let changed = app.patch(&path, json!({"emailAddress": new})).await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.body);
    assert_eq!(changed.body["emailAddress"], new);
    assert_eq!(changed.body["email-verified"], false);
    assert_eq!(changed.body["email-verification-status-type"], "Unverified");
    assert!(changed.body["email-verify-sent-date"].is_null());

    // The push gives the account the address; Auth0 e-mails it a link, and
    // the status says so.
    eventually(&tenant, &azo, |u| json!(u.email), json!(new)).await;
    let pending = eventually_in_nexus(
        &app,
        &user,
        "email-verification-status-type",
        json!("Pending"),
    )
    .await;
    assert!(pending["email-verify-sent-date"].is_string(), "{pending}");
    let emails = inbox(&tenant, new).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "verify_email");
    assert!(inbox(&tenant, "old-address@example.com").await.is_empty());
    let account = tenant.auth0.get_user(&azo).await.unwrap();
    assert_eq!(account.email_verified, Some(false));

    // The push worker's change is in the audit trail, as the worker's.
    let events = events_of(&app, "user", &user).await;
    let by_worker: Vec<&Value> = events
        .iter()
        .filter(|e| e["actor"] == "push-worker")
        .collect();
    assert_eq!(by_worker.len(), 1, "{events:?}");
    assert_eq!(by_worker[0]["operation"], "SendEmailVerification");
    assert_eq!(
        by_worker[0]["changes"]["email-verification-status-type"],
        json!({"before": "Unverified", "after": "Pending"})
    );

    // The user follows the link: Auth0 has the new address verified.
    let link = emails[0]["link"].as_str().unwrap();
    assert_eq!(reqwest::get(link).await.unwrap().status(), 200);
    let account = tenant.auth0.get_user(&azo).await.unwrap();
    assert_eq!(account.email_verified, Some(true));

    // An address asserted verified with the change is pushed as verified:
    // no e-mail.
    let asserted = "asserted@example.com";
    let both = app
        .patch(
            &path,
            json!({"emailAddress": asserted, "emailVerified": true}),
        )
        .await;
    assert_eq!(
        both.body["email-verification-status-type"], "Verified",
        "{}",
        both.body
    );
    eventually(
        &tenant,
        &azo,
        |u| json!([u.email, u.email_verified]),
        json!([asserted, true]),
    )
    .await;
    assert!(inbox(&tenant, asserted).await.is_empty());
}

async fn an_address_is_one_users_whatever_its_case(app: TestApp) {
    let taken = app.user().await;
    app.patch(
        &format!("/v1/users/{taken}"),
        json!({"emailAddress": "taken@example.com"}),
    )
    .await;
    let other = app.user().await;
    let path = format!("/v1/users/{other}");
    let before = app.get(&path).await.body;
    let clash = app
        .patch(&path, json!({"emailAddress": "TAKEN@Example.com"}))
        .await;
    assert_problem(&clash, 409, &path);
    assert!(
        clash.body["detail"]
            .as_str()
            .unwrap()
            .contains("emailAddress"),
        "{}",
        clash.body
    );
    // 250 characters at most: 64 before the @, labels of 63 at most.
    let address = |last_label: usize| {
        let (local, label) = ("a".repeat(64), "b".repeat(60));
        format!("{local}@{label}.{label}.{}.com", "b".repeat(last_label))
    };
    let long = address(60);
    assert_eq!(long.len(), 251);
    for bad in ["not-an-address", "two@@example.com", long.as_str()] {
        let refused = app.patch(&path, json!({"emailAddress": bad})).await;
        assert_problem(&refused, 400, &path);
        assert!(
            refused.body["errors"]["emailAddress"].is_array(),
            "{bad}: {}",
            refused.body
        );
    }
    assert_eq!(app.get(&path).await.body, before);
    // At the limit, 250 characters, it is taken.
    let longest = address(59);
    let kept = app.patch(&path, json!({"emailAddress": longest})).await;
    assert_eq!(kept.status.as_u16(), 200, "{}", kept.body);
}

async fn a_changed_address_waits_for_auth0(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let (user, azo) = provisioned_user(&app, "before-outage@example.com").await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}");
    fail(&tenant, &["PATCH"]).await;
    let requests = requests_made(&tenant).await;
    let new = "during-outage@example.com";
    let changed = app.patch(&path, json!({"emailAddress": new})).await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.body);
    // The push was tried and refused: nothing was sent, nothing recorded.
    wait_for_requests(&tenant, requests + 1).await;
    assert!(inbox(&tenant, new).await.is_empty());
    assert_eq!(
        app.get(&path).await.body["email-verification-status-type"],
        "Unverified"
    );
    recover(&tenant).await;
    eventually_in_nexus(
        &app,
        &user,
        "email-verification-status-type",
        json!("Pending"),
    )
    .await;
    assert_eq!(
        tenant.auth0.get_user(&azo).await.unwrap().email.as_deref(),
        Some(new)
    );
    assert_eq!(inbox(&tenant, new).await.len(), 1);
}

/// How many requests the simulator has answered, on every route.
async fn requests_made(tenant: &Tenant) -> u64 {
    let per_route = stats(tenant).await["requests"].clone();
    per_route
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

async fn wait_for_requests(tenant: &Tenant, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while requests_made(tenant).await < at_least {
        assert!(Instant::now() < deadline, "no request reached Auth0");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_address_without_a_database_account_stays_in_nexus(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let requests = requests_made(&tenant).await;
    let user = app.user().await;
    let path = format!("/v1/users/{user}");
    let changed = app
        .patch(&path, json!({"emailAddress": "nowhere@example.com"}))
        .await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.body);
    assert_eq!(changed.body["emailAddress"], "nowhere@example.com");
    assert_eq!(changed.body["email-verification-status-type"], "Unverified");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(requests_made(&tenant).await, requests);
    assert!(inbox(&tenant, "nowhere@example.com").await.is_empty());
}

/// An Auth0 account on the default connection, seeded with its address
/// verified or not; its id.
async fn seeded_account(tenant: &Tenant, email: &str, verified: bool) -> String {
    let account = json!({"connection": auth0_sim::DEFAULT_CONNECTION, "email": email,
        "password": "Passw0rd!long", "email_verified": verified});
    seed_account(tenant, account).await
}

async fn linking_learns_a_verified_address(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let account =
        |azo: &str| json!({"azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION});
    let create = |email: &str, azo: &str| {
        json!({"authenticationMethod": "Database", "displayName": "Linked", "emailAddress": email,
            "idpTenantId": "sim", "organization": "acme", "idpMetadata": account(azo)})
    };

    // Created with an account whose address Auth0 has verified (spelt
    // differently): verified.
    let azo = seeded_account(&tenant, "verified@example.com", true).await;
    let created = app
        .post("/v1/users", create("Verified@Example.com", &azo))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.body["email-verification-status-type"], "Verified");
    // Not verified in Auth0, or another address: not verified.
    let azo = seeded_account(&tenant, "unverified@example.com", false).await;
    let created = app
        .post("/v1/users", create("unverified@example.com", &azo))
        .await;
    assert_eq!(
        created.body["email-verification-status-type"], "Unverified",
        "{}",
        created.body
    );
    let azo = seeded_account(&tenant, "someone-else@example.com", true).await;
    let created = app
        .post("/v1/users", create("mine@example.com", &azo))
        .await;
    assert_eq!(created.body["email-verified"], false, "{}", created.body);

    // Linked later, by PUT: verified then, and audited as the user's change.
    let user = app.user().await;
    let path = format!("/v1/users/{user}");
    app.patch(&path, json!({"emailAddress": "later@example.com"}))
        .await;
    let azo = seeded_account(&tenant, "later@example.com", true).await;
    let link = json!({"azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION, "strategy": "auth0"});
    let linked = app.put(&format!("{path}/idp_tenants/sim"), link).await;
    assert!(linked.status.is_success(), "{}", linked.body);
    let after = app.get(&path).await.body;
    assert_eq!(
        after["email-verification-status-type"], "Verified",
        "{after}"
    );
    let events = events_of(&app, "user", &user).await;
    let verified: Vec<&Value> = events
        .iter()
        .filter(|e| e["changes"]["email-verified"]["after"] == true)
        .collect();
    assert_eq!(verified.len(), 1, "{events:?}");
    assert_eq!(verified[0]["operation"], "LinkUserToTenant");
}
