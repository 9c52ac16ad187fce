use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    link_is_an_idempotent_upsert,
    tenant_resolves_by_id_name_azo_name_and_login_domain,
    limits_at_their_edges,
    azo_user_id_is_unique_within_a_tenant,
    list_and_unlink,
    find_user_by_connection,
    unknown_ids_are_404,
);

const IDENTITY_KEYS: [&str; 10] = [
    "azoConnectionId",
    "azoTenantName",
    "azoUserId",
    "groups",
    "id",
    "idpTenantFqdn",
    "idpTenantId",
    "idpTenantName",
    "loginDomain",
    "strategy",
];

fn link_body(azo_user_id: &str) -> serde_json::Value {
    json!({"strategy": "auth0", "azoUserId": azo_user_id, "azoConnectionId": "Username-Password-Authentication"})
}

async fn link_is_an_idempotent_upsert(app: TestApp) {
    let user = app.user().await;
    let tenant = app.tenant("us-9").await;
    let path = format!("/v1/users/{user}/idp_tenants/us-9");
    let first = app.put(&path, link_body("auth0|abc")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(keys(&first.body), IDENTITY_KEYS);
    assert_eq!(first.body["idpTenantId"], tenant["id"]);
    assert_eq!(first.body["idpTenantName"], "us-9");
    assert_eq!(first.body["azoTenantName"], "eci-us-9-prod");
    assert_eq!(first.body["idpTenantFqdn"], "eci-us-9-prod.us.auth0.com");
    assert_eq!(first.body["loginDomain"], "login.us-9.example.com");
    assert_eq!(first.body["groups"], json!([]));

    let again = app.put(&path, link_body("auth0|abc")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body);

    // Re-linking with other values updates the same identity.
    let changed = app
        .put(
            &path,
            json!({"strategy": "samlp", "azoUserId": "samlp|x", "azoConnectionId": "corp-saml"}),
        )
        .await;
    assert_eq!(changed.body["id"], first.body["id"]);
    assert_eq!(changed.body["strategy"], "samlp");
    assert_eq!(changed.body["azoConnectionId"], "corp-saml");
    let listed = app
        .get(&format!("/v1/users/{user}/idp_tenants?$count=true"))
        .await
        .body;
    // The fixture user has no identity of its own; this is its only one.
    assert_eq!(listed["@odata.count"], 1);
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["identities"],
        json!([changed.body])
    );
}

async fn tenant_resolves_by_id_name_azo_name_and_login_domain(app: TestApp) {
    let user = app.user().await;
    let tenant = app.tenant("eu-2").await;
    let id = tenant["id"].to_string();
    for reference in [
        id.as_str(),
        "eu-2",
        "EU-2",
        "eci-eu-2-prod",
        "login.eu-2.example.com",
    ] {
        let reply = app
            .put(
                &format!("/v1/users/{user}/idp_tenants/{reference}"),
                link_body("auth0|same"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reference}: {}", reply.body);
        assert_eq!(reply.body["idpTenantId"], tenant["id"], "{reference}");
    }
    let path = format!("/v1/users/{user}/idp_tenants/no-such-tenant");
    assert_problem(&app.put(&path, link_body("auth0|same")).await, 404, &path);
}

async fn limits_at_their_edges(app: TestApp) {
    let user = app.user().await;
    app.tenant("edge").await;
    let path = format!("/v1/users/{user}/idp_tenants/edge");
    let max = json!({"strategy": "s".repeat(25), "azoUserId": "u".repeat(250), "azoConnectionId": "c".repeat(50)});
    let ok = app.put(&path, max).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["azoUserId"].as_str().unwrap().len(), 250);

    let over = json!({"strategy": "s".repeat(26), "azoUserId": "u".repeat(251), "azoConnectionId": "c".repeat(51)});
    let reply = app.put(&path, over).await;
    assert_problem(&reply, 400, &path);
    assert_eq!(
        reply.body["errors"]["strategy"],
        json!(["must be at most 25 characters long"])
    );
    assert_eq!(
        reply.body["errors"]["azoUserId"],
        json!(["must be at most 250 characters long"])
    );
    assert_eq!(
        reply.body["errors"]["azoConnectionId"],
        json!(["must be at most 50 characters long"])
    );

    let empty = app
        .put(
            &path,
            json!({"strategy": "", "azoUserId": "", "azoConnectionId": ""}),
        )
        .await;
    assert_problem(&empty, 400, &path);
    assert_eq!(
        keys(&empty.body["errors"]),
        ["azoConnectionId", "azoUserId", "strategy"]
    );
    assert_eq!(
        empty.body["errors"]["strategy"],
        json!(["must not be empty"])
    );

    let missing = app.put(&path, json!({})).await;
    assert_eq!(missing.body["errors"]["azoUserId"], json!(["is required"]));

    // Nothing of the rejected requests was stored.
    let stored = app.get(&format!("/v1/users/{user}/idp_tenants/edge")).await;
    assert_eq!(stored.body, ok.body);
}

async fn azo_user_id_is_unique_within_a_tenant(app: TestApp) {
    let (first, second) = (app.user().await, app.user().await);
    app.tenant("uniq").await;
    app.tenant("other").await;
    assert_eq!(
        app.put(
            &format!("/v1/users/{first}/idp_tenants/uniq"),
            link_body("auth0|taken")
        )
        .await
        .status,
        200
    );
    let path = format!("/v1/users/{second}/idp_tenants/uniq");
    let clash = app.put(&path, link_body("auth0|taken")).await;
    assert_problem(&clash, 409, &path);
    assert!(clash.body["detail"].as_str().unwrap().contains("azoUserId"));
    // The same Auth0 id in another tenant is another account.
    assert_eq!(
        app.put(
            &format!("/v1/users/{second}/idp_tenants/other"),
            link_body("auth0|taken")
        )
        .await
        .status,
        200
    );
}

async fn list_and_unlink(app: TestApp) {
    let user = app.user().await;
    app.tenant("a1").await;
    app.tenant("a2").await;
    app.put(
        &format!("/v1/users/{user}/idp_tenants/a1"),
        link_body("auth0|1"),
    )
    .await;
    app.put(
        &format!("/v1/users/{user}/idp_tenants/a2"),
        link_body("auth0|2"),
    )
    .await;
    let list = app
        .get(&format!(
            "/v1/users/{user}/idp_tenants?$orderby=idpTenantName desc"
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<_> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["idpTenantName"].clone())
        .collect();
    assert_eq!(names, [json!("a2"), json!("a1")]);

    assert_eq!(
        app.delete(&format!("/v1/users/{user}/idp_tenants/a1"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let path = format!("/v1/users/{user}/idp_tenants/a1");
    assert_problem(&app.delete(&path).await, 404, &path);
    assert_problem(&app.get(&path).await, 404, &path);
    let remaining = app.get(&format!("/v1/users/{user}")).await.body["identities"].clone();
    assert_eq!(remaining.as_array().unwrap().len(), 1);
    assert_eq!(remaining[0]["idpTenantName"], "a2");
    // A tenant with linked identities cannot be deleted; once unlinked it can.
    assert_problem(
        &app.delete("/v1/idp_tenants/a2").await,
        409,
        "/v1/idp_tenants/a2",
    );
    app.delete(&format!("/v1/users/{user}/idp_tenants/a2"))
        .await;
    assert_eq!(
        app.delete("/v1/idp_tenants/a2").await.status,
        StatusCode::NO_CONTENT
    );
}

async fn find_user_by_connection(app: TestApp) {
    let user = app.user().await;
    app.tenant("find").await;
    app.put(
        &format!("/v1/users/{user}/idp_tenants/find"),
        json!({"strategy": "auth0", "azoUserId": "auth0|o'brien", "azoConnectionId": "db-main"}),
    )
    .await;
    let found = app.get("/v1/users/FindUserByConnection(azoConnectionId='db-main',azoUserId='auth0%7Co''brien')").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["id"], user.as_str());
    assert_eq!(found.body["identities"][0]["azoUserId"], "auth0|o'brien");

    let path =
        "/v1/users/FindUserByConnection(azoConnectionId='db-main',azoUserId='auth0%7Cnobody')";
    let missing = app.get(path).await;
    assert_problem(
        &missing,
        404,
        "/v1/users/FindUserByConnection(azoConnectionId='db-main',azoUserId='auth0%7Cnobody')",
    );
    let malformed = app
        .get("/v1/users/FindUserByConnection(azoConnectionId='db-main')")
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body["errors"]["FindUserByConnection"].is_array());
}

async fn unknown_ids_are_404(app: TestApp) {
    app.tenant("known").await;
    let path = "/v1/users/ghost/idp_tenants/known";
    assert_problem(&app.put(path, link_body("auth0|1")).await, 404, path);
    assert_problem(
        &app.get("/v1/users/ghost/idp_tenants").await,
        404,
        "/v1/users/ghost/idp_tenants",
    );
    assert_problem(&app.delete(path).await, 404, path);
}
