use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    create_get_list_patch,
    create_validation_edges,
    names_are_unique,
    an_organization_is_deleted_only_when_nothing_holds_it,
    deleting_races_adding_a_member,
);

const ORGANIZATION_KEYS: [&str; 23] = [
    "aliases",
    "applications",
    "contact",
    "created",
    "createdBy",
    "crmAccountId",
    "defaultIdpTenantId",
    "displayName",
    "domains",
    "id",
    "isActive",
    "isDomainVerificationRequired",
    "isEnabledForPreviewFeatures",
    "isMfaRequired",
    "isSelfService",
    "members",
    "modified",
    "modifiedBy",
    "name",
    "products",
    "subscriptions",
    "technicalContact",
    "type",
];

async fn create_get_list_patch(app: TestApp) {
    let created = app
        .post(
            "/v1/organizations",
            json!({"name": "welcome-woods", "displayName": "Welcome Woods Inc.", "crmAccountId": "0011x", "type": "Partner", "contact": "ops@ww.example.com", "isMfaRequired": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(keys(&created.body), ORGANIZATION_KEYS);
    assert_eq!(created.body["type"], "Partner");
    assert_eq!(created.body["isMfaRequired"], true);
    assert_eq!(created.body["isActive"], true);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/v1/organizations/{id}");
    assert_eq!(app.get(&path).await.body, created.body);

    let patched = app.patch(&path, json!({"displayName": "Welcome Woods", "isActive": false, "technicalContact": "it@ww.example.com"})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["displayName"], "Welcome Woods");
    assert_eq!(patched.body["isActive"], false);
    assert_eq!(patched.body["contact"], "ops@ww.example.com");
    assert_eq!(patched.body["technicalContact"], "it@ww.example.com");
    let mfa = app
        .patch(&format!("{path}/mfa"), json!({"isMfaRequired": false}))
        .await;
    assert_eq!(mfa.body["isMfaRequired"], false);
    assert_eq!(mfa.body["displayName"], "Welcome Woods");

    app.organization("another").await;
    let list = app
        .get("/v1/organizations?$orderby=name&$count=true&$filter=type eq 'Partner'")
        .await
        .body;
    assert_eq!(list["@odata.count"], 1);
    assert_eq!(list["value"][0]["name"], "welcome-woods");
    assert_problem(
        &app.get("/v1/organizations/999999").await,
        404,
        "/v1/organizations/999999",
    );
    assert_problem(
        &app.get("/v1/organizations/abc").await,
        404,
        "/v1/organizations/abc",
    );
    assert_problem(
        &app.patch("/v1/organizations/999999", json!({})).await,
        404,
        "/v1/organizations/999999",
    );
}

async fn create_validation_edges(app: TestApp) {
    let missing = app.post("/v1/organizations", json!({})).await;
    assert_problem(&missing, 400, "/v1/organizations");
    assert_eq!(
        keys(&missing.body["errors"]),
        ["crmAccountId", "displayName", "name", "type"]
    );
    let max = json!({"name": "n".repeat(250), "displayName": "d".repeat(250), "crmAccountId": "c".repeat(250), "type": "Customer", "contact": "x".repeat(250), "technicalContact": "y".repeat(250)});
    assert_eq!(
        app.post("/v1/organizations", max).await.status,
        StatusCode::CREATED
    );
    let over = json!({"name": "n".repeat(251), "displayName": "d".repeat(251), "crmAccountId": "c".repeat(251), "type": "Vendor", "contact": "x".repeat(251), "technicalContact": "y".repeat(251)});
    let reply = app.post("/v1/organizations", over).await;
    assert_eq!(
        keys(&reply.body["errors"]),
        [
            "contact",
            "crmAccountId",
            "displayName",
            "name",
            "technicalContact",
            "type"
        ]
    );
    let empty = json!({"name": "", "displayName": "", "crmAccountId": "", "type": "Customer"});
    assert_eq!(
        keys(&app.post("/v1/organizations", empty).await.body["errors"]),
        ["crmAccountId", "displayName", "name"]
    );
    let id = app.organization("edge").await["id"].as_i64().unwrap();
    let reply = app
        .patch(
            &format!("/v1/organizations/{id}"),
            json!({"displayName": "", "crmAccountId": "c".repeat(251)}),
        )
        .await;
    assert_problem(&reply, 400, &format!("/v1/organizations/{id}"));
    assert_eq!(keys(&reply.body["errors"]), ["crmAccountId", "displayName"]);
}

async fn names_are_unique(app: TestApp) {
    app.organization("acme").await;
    let reply = app
        .post(
            "/v1/organizations",
            json!({"name": "ACME", "displayName": "x", "crmAccountId": "y", "type": "Customer"}),
        )
        .await;
    assert_problem(&reply, 409, "/v1/organizations");
}

async fn organization_id(app: &TestApp, name: &str) -> i64 {
    app.organization(name).await["id"].as_i64().unwrap()
}

/// Deleting answers 204 and the organization is gone; while members, its
/// users, an unfinished import or a tenant's just-in-time provisioning hold
/// on to it, 409 says which, and nothing changes.
async fn an_organization_is_deleted_only_when_nothing_holds_it(app: TestApp) {
    let empty = organization_id(&app, "empty-org").await;
    let path = format!("/v1/organizations/{empty}");
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
    assert_problem(
        &app.delete("/v1/organizations/abc").await,
        404,
        "/v1/organizations/abc",
    );

    // Its users have it as their organization (and are members).
    let user = app.user().await;
    let home = app.get(&format!("/v1/users/{user}")).await.body["organizationId"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/organizations/{home}");
    let refused = app.delete(&path).await;
    assert_problem(&refused, 409, &path);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("has members") && detail.contains("their organization"),
        "{detail}"
    );
    assert_eq!(app.get(&path).await.status, StatusCode::OK);

    // A member only.
    let club = organization_id(&app, "club").await;
    let path = format!("/v1/organizations/{club}");
    let added = app
        .post(
            &format!("{path}/members"),
            json!({"userId": user, "isGuest": false, "isMfaRequired": false}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let refused = app.delete(&path).await;
    assert_problem(&refused, 409, &path);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("has members"));
    let removed = app.delete(&format!("{path}/members/{user}")).await;
    assert!(removed.status.is_success(), "{}", removed.body);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    // A tenant provisions new users into it.
    let _tenant = crate::sim_tenant::tenant(&app, 1000).await;
    let target = organization_id(&app, "jit-target").await;
    let on = app
        .patch(
            "/v1/idp_tenants/sim",
            json!({"jitProvisioning": {"enabled": true, "organization": "jit-target"}}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let path = format!("/v1/organizations/{target}");
    let refused = app.delete(&path).await;
    assert_problem(&refused, 409, &path);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("jitProvisioning"));
    assert_eq!(
        app.get("/v1/idp_tenants/sim").await.body["jitProvisioning"]["enabled"],
        true
    );
}

/// A member added while the organization is deleted: either the member is
/// in and the deletion refused, or the organization is gone and the member
/// refused — never a deleted organization that lost a member on the way.
async fn deleting_races_adding_a_member(app: TestApp) {
    for round in 0..10 {
        let user = app.user().await;
        let id = organization_id(&app, &format!("race-{round}")).await;
        let path = format!("/v1/organizations/{id}");
        let members = format!("{path}/members");
        let body = json!({"userId": user, "isGuest": false, "isMfaRequired": false});
        let (deleted, added) = tokio::join!(app.delete(&path), app.post(&members, body));
        let read = app.get(&path).await;
        match deleted.status.as_u16() {
            204 => {
                assert_eq!(read.status, StatusCode::NOT_FOUND);
                assert!(
                    matches!(added.status.as_u16(), 404 | 409 | 422),
                    "{} {}",
                    added.status,
                    added.body
                );
            }
            409 => {
                assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
                assert_eq!(read.status, StatusCode::OK);
            }
            other => panic!("{other}: {}", deleted.body),
        }
        let user_read = app.get(&format!("/v1/users/{user}")).await.body;
        let belongs = user_read["memberOf"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["organizationId"].as_i64() == Some(id));
        assert_eq!(belongs, deleted.status.as_u16() == 409, "{user_read}");
    }
}
