//! MFA at login: `$sync`'s `mfaRequired` follows the user's organizations
//! and memberships, as they are at each login.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, schema_object, TestApp};
use crate::sync::{linked_user, sync_body};

both_backends!(
    the_primary_organization_requires_mfa,
    a_membership_requires_mfa,
    an_exempt_user_needs_no_mfa,
);

/// What the next login of `user` answers in `mfaRequired`.
async fn mfa_required(app: &TestApp, user: &str) -> Value {
    let reply = app
        .put(
            &format!("/v1/users/{user}/$sync"),
            sync_body(&["Staff"], &[]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["isAuthenticated"], true);
    reply.body["mfaRequired"].clone()
}

async fn set_organization_mfa(app: &TestApp, organization: &Value, required: bool) {
    let path = format!("/v1/organizations/{organization}/mfa");
    let reply = app.patch(&path, json!({"isMfaRequired": required})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["isMfaRequired"], required);
}

/// Makes `user` a member of `organization`, with the membership's own MFA
/// flag; returns the membership's path.
async fn join(app: &TestApp, organization: &Value, user: &str, mfa_required: bool) -> String {
    let members = format!("/v1/organizations/{}/members", organization["id"]);
    let body = json!({"userId": user, "isMfaRequired": mfa_required});
    let added = app.post(&members, body).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    format!("{members}/{user}")
}

async fn primary_organization(app: &TestApp, user: &str) -> Value {
    app.get(&format!("/v1/users/{user}")).await.body["organizationId"].clone()
}

async fn the_primary_organization_requires_mfa(app: TestApp) {
    let user = linked_user(&app).await;
    assert_eq!(mfa_required(&app, &user).await, false);
    let organization = primary_organization(&app, &user).await;
    set_organization_mfa(&app, &organization, true).await;
    assert_eq!(mfa_required(&app, &user).await, true);
    // The login after it is turned off again is let through without MFA,
    // though it asserts the same groups and so writes nothing.
    set_organization_mfa(&app, &organization, false).await;
    assert_eq!(mfa_required(&app, &user).await, false);

    let document = app.get("/openapi.json").await.body;
    let user_info = schema_object(&document, "UserInfo");
    assert_eq!(user_info["properties"]["mfaRequired"]["type"], "boolean");
    assert!(user_info["properties"]["mfaRequired"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("isMfaDisabled")));
    assert!(user_info["required"]
        .as_array()
        .unwrap()
        .contains(&json!("mfaRequired")));
}

async fn a_membership_requires_mfa(app: TestApp) {
    let user = linked_user(&app).await;
    let partners = app.organization("partners").await;
    join(&app, &partners, &user, false).await;
    assert_eq!(mfa_required(&app, &user).await, false);
    // The organization of a membership that is not the primary one.
    set_organization_mfa(&app, &partners["id"], true).await;
    assert_eq!(mfa_required(&app, &user).await, true);
    set_organization_mfa(&app, &partners["id"], false).await;
    assert_eq!(mfa_required(&app, &user).await, false);

    // A membership that requires it of its own, in an organization that
    // does not; leaving that organization lifts it.
    let vendors = app.organization("vendors").await;
    let membership = join(&app, &vendors, &user, true).await;
    assert_eq!(mfa_required(&app, &user).await, true);
    let left = app.delete(&membership).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    assert_eq!(mfa_required(&app, &user).await, false);
}

async fn an_exempt_user_needs_no_mfa(app: TestApp) {
    let user = linked_user(&app).await;
    let organization = primary_organization(&app, &user).await;
    set_organization_mfa(&app, &organization, true).await;
    let exempt = |disabled: bool| json!({"isMfaDisabled": disabled});
    let path = format!("/v1/users/{user}");
    assert_eq!(app.patch(&path, exempt(true)).await.status, StatusCode::OK);
    assert_eq!(mfa_required(&app, &user).await, false);
    assert_eq!(app.patch(&path, exempt(false)).await.status, StatusCode::OK);
    assert_eq!(mfa_required(&app, &user).await, true);
}
