use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(membership_lifecycle, membership_roles);

const MEMBERSHIP_KEYS: [&str; 14] = [
    "created",
    "createdBy",
    "id",
    "isGuest",
    "isMembershipMfaRequired",
    "isMfaRequired",
    "modified",
    "modifiedBy",
    "organizationDisplayName",
    "organizationId",
    "organizationName",
    "roles",
    "user",
    "userId",
];

async fn membership_lifecycle(app: TestApp) {
    let user = app.user().await;
    let org = app.organization("partners").await;
    let base = format!("/v1/organizations/{}/members", org["id"]);
    let added = app
        .post(
            &base,
            json!({"userId": user, "isMfaRequired": true, "isGuest": true}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(keys(&added.body), MEMBERSHIP_KEYS);
    assert_eq!(added.body["isGuest"], true);
    assert_eq!(added.body["isMembershipMfaRequired"], true);
    assert_eq!(added.body["organizationName"], "partners");
    assert_eq!(added.body["user"], serde_json::Value::Null);

    assert_problem(
        &app.post(&base, json!({"userId": user, "isMfaRequired": false}))
            .await,
        409,
        &base,
    );
    let missing = app.post(&base, json!({"userId": "ghost"})).await;
    assert_eq!(keys(&missing.body["errors"]), ["isMfaRequired"]);
    let ghost = app
        .post(&base, json!({"userId": "ghost", "isMfaRequired": false}))
        .await;
    assert_problem(&ghost, 422, &base);
    assert!(ghost.body["errors"]["userId"].is_array());
    assert_problem(
        &app.post(
            "/v1/organizations/999/members",
            json!({"userId": user, "isMfaRequired": false}),
        )
        .await,
        404,
        "/v1/organizations/999/members",
    );

    let list = app.get(&format!("{base}?$count=true")).await.body;
    assert_eq!(list["@odata.count"], 1);
    assert_eq!(list["value"][0]["userId"], user.as_str());
    let one = app.get(&format!("{base}/{user}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        one.body["user"]["id"],
        user.as_str(),
        "the member is embedded"
    );
    let member_of = app.get(&format!("/v1/users/{user}")).await.body["memberOf"].clone();
    assert_eq!(
        member_of.as_array().unwrap().len(),
        2,
        "its first organization and this one"
    );

    assert_eq!(
        app.delete(&format!("{base}/{user}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.delete(&format!("{base}/{user}")).await,
        404,
        &format!("{base}/{user}"),
    );
    assert_problem(
        &app.get(&format!("{base}/{user}")).await,
        404,
        &format!("{base}/{user}"),
    );
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(after["memberOf"].as_array().unwrap().len(), 1);

    // Leaving the primary organization clears the user's organization.
    let primary = after["organizationId"].clone();
    app.delete(&format!("/v1/organizations/{primary}/members/{user}"))
        .await;
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(
        (
            after["organizationId"].clone(),
            after["organization"].clone()
        ),
        (json!(null), json!(null))
    );
}

async fn membership_roles(app: TestApp) {
    let user = app.user().await;
    let org = app.organization("admins-inc").await;
    let base = format!("/v1/organizations/{}/members", org["id"]);
    let added = app
        .post(
            &base,
            json!({"userId": user, "isMfaRequired": false, "makeAdmin": true}),
        )
        .await;
    assert_eq!(added.body["roles"], json!(["organization-admin"]));
    let roles = format!("{base}/{user}/roles");
    let bad = app.delete(&format!("{roles}?roles=owner")).await;
    assert_problem(&bad, 400, &roles);
    assert_eq!(
        app.delete(&format!("{roles}?roles=organization-admin"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("{base}/{user}")).await.body["roles"],
        json!([])
    );
    assert_problem(
        &app.delete(&format!("{base}/ghost/roles")).await,
        404,
        &format!("{base}/ghost/roles"),
    );
}
