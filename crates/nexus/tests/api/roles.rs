use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    role_crud_and_permissions,
    role_validation_and_conflicts,
    user_role_assignment,
    connection_maps
);

const API: &str = "https://api.example.com";

pub async fn role(app: &TestApp, name: &str, audience: &str, permissions: &[&str]) -> Value {
    let reply = app
        .post(
            "/v1/roles",
            json!({"name": name, "audience": audience, "permissions": permissions}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn role_crud_and_permissions(app: TestApp) {
    let created = app
        .post("/v1/roles", json!({"name": "billing-admins", "audience": API, "description": "Billing", "permissions": ["user.write", "user.read"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let role = &created.body;
    assert_eq!(
        keys(role),
        [
            "audience",
            "created",
            "createdBy",
            "description",
            "id",
            "modified",
            "modifiedBy",
            "name",
            "permissions"
        ]
    );
    let id = role["id"].as_str().unwrap();
    let codes: Vec<&str> = role["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["user.read", "user.write"]);
    assert_eq!(
        keys(&role["permissions"][0]),
        ["code", "permissionId", "roleId"]
    );
    assert_eq!(role["permissions"][0]["roleId"], id);
    assert_eq!(&app.get(&format!("/v1/roles/{id}")).await.body, role);

    let patched = app
        .patch(
            &format!("/v1/roles/{id}"),
            json!({"permissions": ["user.read", "role.write"], "description": null}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["description"], "Billing");
    let read_before = role["permissions"][0]["permissionId"].clone();
    let perms = patched.body["permissions"].as_array().unwrap();
    assert_eq!(
        perms
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["role.write", "user.read"]
    );
    assert_eq!(
        perms[1]["permissionId"], read_before,
        "an unchanged permission keeps its id"
    );

    let developer = app
        .post(
            "/v1/roles",
            json!({"productName": "Billing", "audience": API}),
        )
        .await;
    assert_eq!(developer.body["name"], "Billing-developers");
    let list = app.get("/v1/roles?$orderby=name&$count=true").await.body;
    assert_eq!(list["@odata.count"], 2);
    assert_eq!(list["value"][0]["name"], "Billing-developers");

    assert_eq!(
        app.delete(&format!("/v1/roles/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.get(&format!("/v1/roles/{id}")).await,
        404,
        &format!("/v1/roles/{id}"),
    );
    assert_problem(
        &app.delete(&format!("/v1/roles/{id}")).await,
        404,
        &format!("/v1/roles/{id}"),
    );
}

async fn role_validation_and_conflicts(app: TestApp) {
    let missing = app.post("/v1/roles", json!({})).await;
    assert_problem(&missing, 400, "/v1/roles");
    assert_eq!(keys(&missing.body["errors"]), ["audience", "name"]);
    assert_eq!(
        app.post(
            "/v1/roles",
            json!({"name": "n".repeat(100), "audience": API})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let bad = app
        .post("/v1/roles", json!({"name": "n".repeat(101), "audience": "", "description": "d".repeat(1001), "permissions": ["User.Read"]}))
        .await;
    assert_eq!(
        keys(&bad.body["errors"]),
        ["audience", "description", "name", "permissions"]
    );
    role(&app, "admins", API, &[]).await;
    let clash = app
        .post("/v1/roles", json!({"name": "ADMINS", "audience": API}))
        .await;
    assert_problem(&clash, 409, "/v1/roles");
    role(&app, "admins", "https://other.example.com", &[]).await;
}

async fn user_role_assignment(app: TestApp) {
    let user = app.user().await;
    let (a, b) = (
        role(&app, "a", API, &[]).await,
        role(&app, "b", API, &[]).await,
    );
    let path = format!("/v1/users/{user}/roles");
    let reply = app.put(&path, json!({"value": [a["id"], b["id"]]})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let roles = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(
        roles,
        json!([
            {"id": a["id"], "name": "a", "expires": null, "description": null},
            {"id": b["id"], "name": "b", "expires": null, "description": null},
        ])
    );
    // A new expiry replaces the old one; an expired role is not held.
    app.put(
        &path,
        json!({"value": [b["id"]], "expires": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let roles = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(roles.as_array().unwrap().len(), 1);
    assert_eq!(roles[0]["name"], "a");
    app.put(
        &path,
        json!({"value": [b["id"]], "expires": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let roles = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(roles[1]["expires"], "2999-01-01T00:00:00.000000Z");

    let unknown = app.put(&path, json!({"value": [a["id"], "nope"]})).await;
    assert_problem(&unknown, 422, &path);
    assert!(unknown.body["errors"]["value"][0]
        .as_str()
        .unwrap()
        .contains("nope"));
    assert_problem(&app.put(&path, json!({"value": []})).await, 400, &path);
    assert_problem(
        &app.put(&path, json!({"value": [a["id"]], "expires": "soon"}))
            .await,
        400,
        &path,
    );
    assert_problem(
        &app.put("/v1/users/ghost/roles", json!({"value": [a["id"]]}))
            .await,
        404,
        "/v1/users/ghost/roles",
    );

    let one = format!("/v1/users/{user}/roles/{}", a["id"].as_str().unwrap());
    assert_eq!(app.delete(&one).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.delete(&one).await, 404, &one);
    let roles = app.get(&format!("/v1/users/{user}")).await.body["roles"].clone();
    assert_eq!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect::<Vec<_>>(),
        [json!("b")]
    );
}

async fn connection_maps(app: TestApp) {
    let r = role(&app, "ad-admins", API, &[]).await;
    let base = format!("/v1/roles/{}/connection-maps", r["id"].as_str().unwrap());
    let created = app.post(&base, json!({"name": "AD admins", "groupName": "Domain Admins", "azoConnectionId": "c".repeat(50)})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        keys(&created.body),
        [
            "azoConnectionId",
            "created",
            "createdBy",
            "groupName",
            "id",
            "name",
            "roleId"
        ]
    );
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("{base}/{id}")).await.body, created.body);
    assert_eq!(
        app.get(&format!("{base}?$count=true")).await.body["@odata.count"],
        1
    );
    let again = app
        .post(
            &base,
            json!({"groupName": "Domain Admins", "azoConnectionId": "c".repeat(50)}),
        )
        .await;
    assert_problem(&again, 409, &base);
    let bad = app
        .post(
            &base,
            json!({"groupName": "", "azoConnectionId": "c".repeat(51)}),
        )
        .await;
    assert_problem(&bad, 400, &base);
    assert_eq!(keys(&bad.body["errors"]), ["azoConnectionId", "groupName"]);
    assert_eq!(
        app.delete(&format!("{base}/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.get(&format!("{base}/{id}")).await,
        404,
        &format!("{base}/{id}"),
    );
    assert_problem(
        &app.get(&format!("{base}/x")).await,
        404,
        &format!("{base}/x"),
    );
    let ghost = "/v1/roles/ghost/connection-maps";
    assert_problem(
        &app.post(ghost, json!({"groupName": "g", "azoConnectionId": "c"}))
            .await,
        404,
        ghost,
    );
}
