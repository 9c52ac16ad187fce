//! Sending a verification e-mail: Auth0 sends it to the database account
//! (the user follows its link there), and the user's status becomes
//! `Pending` with the date it was sent.

use serde_json::json;

use crate::sim_tenant::{eventually_linked, fail, inbox, provisioned_user, recover, tenant};
use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    a_verification_email_is_sent_and_recorded,
    what_cannot_be_verified
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
