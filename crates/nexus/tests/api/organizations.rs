use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    create_get_list_patch,
    create_validation_edges,
    names_are_unique
);

const ORGANIZATION_KEYS: [&str; 22] = [
    "aliases",
    "applications",
    "contact",
    "created",
    "createdBy",
    "crmAccountId",
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
