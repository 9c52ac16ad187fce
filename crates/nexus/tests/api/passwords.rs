//! Setting a user's password: it is set on the Auth0 database account (the
//! user signs in with it there), needs `user.password`, and is refused as
//! Auth0 refuses it, with nothing changed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::sim_tenant::{
    eventually_linked, fail, inbox, provisioned_user, recover, sign_in, tenant, Tenant,
};
use crate::support::{assert_problem, basic, both_backends, Reply, TestApp};

both_backends!(
    an_invited_user_sets_their_own_password,
    a_reset_email_lets_the_user_set_a_new_password,
    a_password_is_set_on_the_auth0_account,
    refused_passwords_change_nothing,
    a_password_needs_a_database_account_and_auth0
);

const FIRST: &str = "Corr3ct-Horse!";

/// A request with a key holding `user.password`.
async fn as_password_admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let key = app.key("read user.write user.password").await;
    app.request_as(
        method,
        path,
        &[("authorization", basic(&key))],
        body.as_ref(),
    )
    .await
}

/// PATCHes the user with a key holding `user.password`.
async fn patch_as_password_admin(app: &TestApp, user: &str, body: Value) -> Reply {
    as_password_admin(app, Method::PATCH, &format!("/v1/users/{user}"), Some(body)).await
}

async fn a_password_is_set_on_the_auth0_account(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "pw@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    assert_eq!(sign_in(&tenant, email, FIRST).await, 200);

    // `write` and `user.write` do not imply `user.password`.
    let path = format!("/v1/users/{user}");
    let refused = app
        .patch(&path, json!({"password": "Second-Passw0rd"}))
        .await;
    assert_problem(&refused, 403, &path);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("user.password"));
    assert_eq!(sign_in(&tenant, email, FIRST).await, 200, "unchanged");

    let set = patch_as_password_admin(
        &app,
        &user,
        json!({"password": "Second-Passw0rd", "givenName": "Pat"}),
    )
    .await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.body);
    assert_eq!(set.body["givenName"], "Pat");
    assert!(set.body.get("password").is_none());
    assert_eq!(sign_in(&tenant, email, "Second-Passw0rd").await, 200);
    assert_eq!(sign_in(&tenant, email, FIRST).await, 403);

    // The audit trail says the password changed, never what it is; the
    // refusal is recorded too.
    let events = app
        .get(&format!(
            "/v1/audit-events?$filter=resourceId eq '{user}'&$orderby=time"
        ))
        .await;
    let text = events.body.to_string();
    assert!(!text.contains("Second-Passw0rd"), "{text}");
    let changed: Vec<&Value> = events.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "PatchUser")
        .collect();
    assert_eq!(changed.len(), 2, "{text}");
    assert_eq!(changed[0]["outcome"], "denied");
    assert_eq!(
        changed[1]["changes"]["password"],
        json!({"before": "[redacted]", "after": "[redacted]"})
    );
    assert_eq!(changed[1]["changes"]["givenName"]["after"], "Pat");
}

async fn refused_passwords_change_nothing(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "weak@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}");

    // The simulator's policy: at least 8 characters; Auth0 is quoted.
    let weak = patch_as_password_admin(
        &app,
        &user,
        json!({"password": "seven77", "givenName": "No"}),
    )
    .await;
    assert_problem(&weak, 422, &path);
    assert!(
        weak.body["detail"]
            .as_str()
            .unwrap()
            .contains("PasswordStrengthError"),
        "{}",
        weak.body
    );
    // The schema's edges: 1 to 512 characters.
    for (password, status) in [(String::new(), 400), ("p".repeat(513), 400)] {
        let answer = patch_as_password_admin(&app, &user, json!({"password": password})).await;
        assert_problem(&answer, status, &path);
    }
    let edge = patch_as_password_admin(&app, &user, json!({"password": "p".repeat(512)})).await;
    assert_eq!(edge.status.as_u16(), 200, "{}", edge.body);
    assert_eq!(sign_in(&tenant, email, &"p".repeat(512)).await, 200);

    let stored = app.get(&path).await.body;
    assert!(stored["givenName"].is_null(), "{stored}");
}

async fn a_password_needs_a_database_account_and_auth0(app: TestApp) {
    // A user without an Auth0 database account has no password to set.
    let plain = app.user().await;
    let path = format!("/v1/users/{plain}");
    let conflict =
        patch_as_password_admin(&app, &plain, json!({"password": "Long-enough-1"})).await;
    assert_problem(&conflict, 409, &path);

    // Auth0 down: 503, and nothing changed.
    let tenant = tenant(&app, 100).await;
    let email = "down@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    fail(&tenant, &["PATCH"]).await;
    let path = format!("/v1/users/{user}");
    let down = patch_as_password_admin(
        &app,
        &user,
        json!({"password": "Long-enough-1", "givenName": "No"}),
    )
    .await;
    assert_problem(&down, 503, &path);
    recover(&tenant).await;
    assert_eq!(sign_in(&tenant, email, FIRST).await, 200);
    assert!(app.get(&path).await.body["givenName"].is_null());
}

async fn a_reset_email_lets_the_user_set_a_new_password(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let email = "reset@example.com";
    let (user, azo) = provisioned_user(&app, email).await;
    eventually_linked(&tenant, &azo, &user).await;
    let path = format!("/v1/users/{user}/password-reset");
    let client = auth0_sim::DEFAULT_CLIENT_ID;

    let refused = app
        .post(&format!("{path}?clientId={client}"), json!(null))
        .await;
    assert_problem(&refused, 403, &path);
    for (query, status) in [
        ("", 400),
        ("?clientId=", 400),
        ("?clientId=unknown-app", 422),
    ] {
        let answer = as_password_admin(&app, Method::POST, &format!("{path}{query}"), None).await;
        assert_problem(&answer, status, &path);
    }
    assert!(inbox(&tenant, email).await.is_empty(), "nothing sent yet");

    let sent = as_password_admin(
        &app,
        Method::POST,
        &format!("{path}?clientId={client}"),
        None,
    )
    .await;
    assert_eq!(sent.status.as_u16(), 204, "{}", sent.body);
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "reset_password");

    // The user follows the link and sets a new password.
    reset_through_email(&tenant, email, "Chosen-By-Me-1").await;
    assert_eq!(sign_in(&tenant, email, "Chosen-By-Me-1").await, 200);
    assert_eq!(sign_in(&tenant, email, FIRST).await, 403);

    // A user without a database account; Auth0 down.
    let plain = app.user().await;
    let plain_path = format!("/v1/users/{plain}/password-reset");
    let conflict = as_password_admin(
        &app,
        Method::POST,
        &format!("{plain_path}?clientId={client}"),
        None,
    )
    .await;
    assert_problem(&conflict, 409, &plain_path);
    fail(&tenant, &["POST"]).await;
    let down = as_password_admin(
        &app,
        Method::POST,
        &format!("{path}?clientId={client}"),
        None,
    )
    .await;
    recover(&tenant).await;
    assert_problem(&down, 503, &path);
    assert_eq!(inbox(&tenant, email).await.len(), 1, "no second e-mail");
}

/// Follows the newest reset link sent to `email` and sets `password`.
async fn reset_through_email(tenant: &Tenant, email: &str, password: &str) {
    let emails = inbox(tenant, email).await;
    let link = emails.last().expect("a reset e-mail")["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    assert_eq!(http.get(&link).send().await.unwrap().status(), 200);
    let ticket = link.split("ticket=").nth(1).unwrap();
    let reset = http
        .post(format!("{}/lo/reset", tenant.sim.base_url()))
        .form(&[("ticket", ticket), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
}

async fn an_invited_user_sets_their_own_password(app: TestApp) {
    let tenant = tenant(&app, 100).await;
    let create = |email: &str, credential: Value| {
        json!({"authenticationMethod": "Database", "displayName": "Invited", "emailAddress": email,
               "idpTenantId": "sim", "organization": "acme", "passwordCredential": credential})
    };
    // clientId with the e-mail, and only with it.
    for credential in [
        json!({"sendForgotPasswordEmail": true}),
        json!({"clientId": auth0_sim::DEFAULT_CLIENT_ID}),
        json!({"sendForgotPasswordEmail": true, "clientId": ""}),
        json!({"sendForgotPasswordEmail": true, "clientId": "c".repeat(101)}),
    ] {
        let refused = app
            .post("/v1/users", create("no@example.com", credential.clone()))
            .await;
        assert_problem(&refused, 400, "/v1/users");
        assert!(
            refused.body["errors"]["passwordCredential.clientId"].is_array(),
            "{credential}: {}",
            refused.body
        );
    }
    // Auth0 refuses the e-mail (an unknown application): no user, no account.
    let refused = app
        .post(
            "/v1/users",
            create(
                "nobody@example.com",
                json!({"sendForgotPasswordEmail": true, "clientId": "unknown-app"}),
            ),
        )
        .await;
    assert_problem(&refused, 422, "/v1/users");
    let found = app
        .get("/v1/users?$filter=emailAddress eq 'nobody@example.com'")
        .await;
    assert_eq!(found.body["value"], json!([]), "{}", found.body);
    assert!(tenant
        .auth0
        .users_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_empty());

    let email = "invited@example.com";
    let created = app
        .post(
            "/v1/users",
            create(
                email,
                json!({"sendForgotPasswordEmail": true, "clientId": auth0_sim::DEFAULT_CLIENT_ID}),
            ),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let emails = inbox(&tenant, email).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["kind"], "reset_password");
    reset_through_email(&tenant, email, "Mine-From-Now-1").await;
    assert_eq!(sign_in(&tenant, email, "Mine-From-Now-1").await, 200);
}
