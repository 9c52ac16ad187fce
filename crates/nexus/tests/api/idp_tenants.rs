use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    credentials_are_write_only,
    validation_and_conflicts,
    patch_and_lookup
);

const TENANT_KEYS: [&str; 13] = [
    "azoTenantName",
    "baseUrl",
    "created",
    "createdBy",
    "fqdn",
    "hasLogStreamToken",
    "hasManagementCredentials",
    "id",
    "jitProvisioning",
    "loginDomain",
    "modified",
    "modifiedBy",
    "name",
];

async fn credentials_are_write_only(app: TestApp) {
    let created = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "us-1", "azoTenantName": "eci-us-prod", "fqdn": "eci-us-prod.us.auth0.com", "managementClientId": "m2m-client", "managementClientSecret": "very-secret-value"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(keys(&created.body), TENANT_KEYS);
    assert_eq!(created.body["hasManagementCredentials"], true);
    for reply in [
        &created,
        &app.get("/v1/idp_tenants/us-1").await,
        &app.get("/v1/idp_tenants").await,
    ] {
        let text = reply.body.to_string();
        assert!(
            !text.contains("very-secret-value") && !text.contains("m2m-client"),
            "{text}"
        );
    }
    let half = app.post("/v1/idp_tenants", json!({"name": "x", "azoTenantName": "x", "fqdn": "x.auth0.com", "managementClientId": "only-id"})).await;
    assert_problem(&half, 400, "/v1/idp_tenants");
    assert!(half.body["errors"]["managementClientSecret"].is_array());
}

async fn validation_and_conflicts(app: TestApp) {
    let missing = app.post("/v1/idp_tenants", json!({})).await;
    assert_eq!(
        keys(&missing.body["errors"]),
        ["azoTenantName", "fqdn", "name"]
    );
    let bad = app.post("/v1/idp_tenants", json!({"name": "123", "azoTenantName": "", "fqdn": "not a host", "loginDomain": "-bad.example.com"})).await;
    assert_problem(&bad, 400, "/v1/idp_tenants");
    assert_eq!(
        keys(&bad.body["errors"]),
        ["azoTenantName", "fqdn", "loginDomain", "name"]
    );
    app.tenant("us-1").await;
    for clash in [
        json!({"name": "US-1", "azoTenantName": "a", "fqdn": "a.auth0.com"}),
        json!({"name": "b", "azoTenantName": "eci-us-1-prod", "fqdn": "b.auth0.com"}),
        json!({"name": "c", "azoTenantName": "c", "fqdn": "eci-us-1-prod.us.auth0.com"}),
        json!({"name": "d", "azoTenantName": "d", "fqdn": "d.auth0.com", "loginDomain": "login.us-1.example.com"}),
    ] {
        assert_problem(
            &app.post("/v1/idp_tenants", clash).await,
            409,
            "/v1/idp_tenants",
        );
    }
    assert_eq!(
        app.get("/v1/idp_tenants?$count=true").await.body["@odata.count"],
        1
    );
}

async fn patch_and_lookup(app: TestApp) {
    let created = app.tenant("eu-1").await;
    let patched = app.patch("/v1/idp_tenants/eci-eu-1-prod", json!({"loginDomain": "id.eu.example.com", "managementClientId": "c", "managementClientSecret": "s"})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["loginDomain"], "id.eu.example.com");
    assert_eq!(patched.body["hasManagementCredentials"], true);
    assert_eq!(patched.body["name"], "eu-1");
    assert_eq!(
        app.get("/v1/idp_tenants/id.eu.example.com").await.body["id"],
        created["id"]
    );
    assert_eq!(
        app.get(&format!("/v1/idp_tenants/{}", created["id"]))
            .await
            .body["name"],
        "eu-1"
    );
    assert_problem(
        &app.get("/v1/idp_tenants/login.eu-1.example.com").await,
        404,
        "/v1/idp_tenants/login.eu-1.example.com",
    );
    assert_problem(
        &app.patch("/v1/idp_tenants/nope", json!({})).await,
        404,
        "/v1/idp_tenants/nope",
    );
    assert_eq!(
        app.delete("/v1/idp_tenants/eu-1").await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.delete("/v1/idp_tenants/eu-1").await,
        404,
        "/v1/idp_tenants/eu-1",
    );
}
