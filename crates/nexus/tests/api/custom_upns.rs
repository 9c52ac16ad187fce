use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    create_get_list_patch_delete,
    patch_leaves_absent_and_null_fields,
    limits_at_their_edges,
    value_form_is_checked,
    one_upn_per_key_per_user,
    same_principal_cannot_belong_to_two_users,
    unknown_ids_are_404,
);

const UPN_KEYS: [&str; 8] = [
    "clientUpnKey",
    "created",
    "createdBy",
    "customUpnValue",
    "id",
    "modified",
    "modifiedBy",
    "userId",
];

async fn create_get_list_patch_delete(app: TestApp) {
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    let created = app
        .post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "justin@corp.example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(keys(&created.body), UPN_KEYS);
    assert_eq!(created.body["userId"], user.as_str());
    assert_eq!(
        created.body["createdBy"],
        app.admin_id.as_str(),
        "the caller is recorded"
    );
    assert_eq!(created.body["modifiedBy"], app.admin_id.as_str());
    assert_eq!(created.body["clientUpnKey"], "rdp");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.len() <= 40);

    let fetched = app.get(&format!("{base}/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, created.body);

    let listed = app.get(&format!("{base}?$count=true")).await;
    assert_eq!(listed.body["@odata.count"], 1);
    assert_eq!(listed.body["value"][0], created.body);

    let patched = app
        .patch(
            &format!("{base}/{id}"),
            json!({"customUpnValue": "jb@corp.example.com"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(keys(&patched.body), UPN_KEYS);
    assert_eq!(patched.body["customUpnValue"], "jb@corp.example.com");
    assert_eq!(patched.body["clientUpnKey"], "rdp");
    assert_eq!(patched.body["created"], created.body["created"]);
    assert!(patched.body["modified"].as_str() > created.body["modified"].as_str());

    let user_body = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(user_body["customUpns"], json!([patched.body]));

    let deleted = app.delete(&format!("{base}/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.get(&format!("{base}/{id}")).await,
        404,
        &format!("{base}/{id}"),
    );
    assert_eq!(app.get(&base).await.body["value"], json!([]));
}

async fn patch_leaves_absent_and_null_fields(app: TestApp) {
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    let created = app
        .post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "a@corp.example.com"}),
        )
        .await
        .body;
    let id = created["id"].as_str().unwrap();
    let patched = app
        .patch(
            &format!("{base}/{id}"),
            json!({"clientUpnKey": null, "customUpnValue": null}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.body, created,
        "a no-op patch changes nothing, not even `modified`"
    );
    let patched = app
        .patch(&format!("{base}/{id}"), json!({"clientUpnKey": "vdi"}))
        .await;
    assert_eq!(patched.body["clientUpnKey"], "vdi");
    assert_eq!(patched.body["customUpnValue"], "a@corp.example.com");
}

async fn limits_at_their_edges(app: TestApp) {
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    let domain = "corp.example.com";
    let value_1024 = format!("{}@{domain}", "u".repeat(1024 - 1 - domain.len()));
    let ok = app
        .post(
            &base,
            json!({"clientUpnKey": "k".repeat(255), "customUpnValue": value_1024}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(
        ok.body["customUpnValue"].as_str().unwrap().chars().count(),
        1024
    );

    let bad = app
        .post(
            &base,
            json!({"clientUpnKey": "k".repeat(256), "customUpnValue": format!("u{value_1024}")}),
        )
        .await;
    assert_problem(&bad, 400, &base);
    assert_eq!(
        bad.body["errors"]["clientUpnKey"],
        json!(["must be at most 255 characters long"])
    );
    assert_eq!(
        bad.body["errors"]["customUpnValue"],
        json!(["must be at most 1024 characters long"])
    );

    let empty = app
        .post(&base, json!({"clientUpnKey": "", "customUpnValue": ""}))
        .await;
    assert_problem(&empty, 400, &base);
    assert_eq!(
        keys(&empty.body["errors"]),
        ["clientUpnKey", "customUpnValue"]
    );

    let missing = app.post(&base, json!({"clientUpnKey": "x"})).await;
    assert_eq!(
        missing.body["errors"]["customUpnValue"],
        json!(["is required"])
    );

    let id = ok.body["id"].as_str().unwrap();
    let patch = app
        .patch(
            &format!("{base}/{id}"),
            json!({"clientUpnKey": "k".repeat(256)}),
        )
        .await;
    assert_problem(&patch, 400, &format!("{base}/{id}"));
    let unchanged = app.get(&format!("{base}/{id}")).await.body;
    assert_eq!(unchanged, ok.body, "a rejected patch writes nothing");
}

async fn value_form_is_checked(app: TestApp) {
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    for bad in [
        "justin",
        "@corp.com",
        "justin@",
        "a@b@corp.com",
        "jus tin@corp.com",
        "justin@corp..com",
        "justin@-corp.com",
    ] {
        let reply = app.post(&base, json!({"customUpnValue": bad})).await;
        assert_problem(&reply, 400, &base);
        assert!(
            reply.body["errors"]["customUpnValue"].is_array(),
            "{bad}: {}",
            reply.body
        );
    }
    let wrong_type = app.post(&base, json!({"customUpnValue": 42})).await;
    assert_problem(&wrong_type, 400, &base);
    assert!(wrong_type.body["errors"]["customUpnValue"][0]
        .as_str()
        .unwrap()
        .contains("invalid type"));
}

async fn one_upn_per_key_per_user(app: TestApp) {
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    assert_eq!(
        app.post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "a@corp.example.com"})
        )
        .await
        .status,
        201
    );
    let again = app
        .post(
            &base,
            json!({"clientUpnKey": "rdp", "customUpnValue": "b@corp.example.com"}),
        )
        .await;
    assert_problem(&again, 409, &base);
    // Another key is fine, and so is one UPN without a key — but only one.
    assert_eq!(
        app.post(
            &base,
            json!({"clientUpnKey": "vdi", "customUpnValue": "b@corp.example.com"})
        )
        .await
        .status,
        201
    );
    assert_eq!(
        app.post(&base, json!({"customUpnValue": "c@corp.example.com"}))
            .await
            .status,
        201
    );
    assert_problem(
        &app.post(&base, json!({"customUpnValue": "d@corp.example.com"}))
            .await,
        409,
        &base,
    );
    // Moving a UPN onto a key the user already uses is a conflict too.
    let vdi = app
        .get(&format!("{base}?$filter=clientUpnKey eq 'vdi'"))
        .await
        .body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moved = app
        .patch(&format!("{base}/{vdi}"), json!({"clientUpnKey": "rdp"}))
        .await;
    assert_problem(&moved, 409, &format!("{base}/{vdi}"));
    assert_eq!(
        app.get(&format!("{base}?$count=true")).await.body["@odata.count"],
        3
    );
}

async fn same_principal_cannot_belong_to_two_users(app: TestApp) {
    let (first, second) = (app.user().await, app.user().await);
    let created = app
        .post(
            &format!("/v1/users/{first}/custom-upns"),
            json!({"clientUpnKey": "rdp", "customUpnValue": "Shared@Corp.example.com"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let path = format!("/v1/users/{second}/custom-upns");
    let clash = app
        .post(
            &path,
            json!({"clientUpnKey": "rdp", "customUpnValue": "shared@corp.EXAMPLE.com"}),
        )
        .await;
    assert_problem(&clash, 409, &path);
    assert!(clash.body["detail"]
        .as_str()
        .unwrap()
        .contains("customUpnValue"));
    // The same principal for a different client key is a different login.
    assert_eq!(
        app.post(
            &path,
            json!({"clientUpnKey": "vdi", "customUpnValue": "shared@corp.example.com"})
        )
        .await
        .status,
        201
    );
}

async fn unknown_ids_are_404(app: TestApp) {
    let user = app.user().await;
    let path = "/v1/users/nobody/custom-upns";
    assert_problem(
        &app.post(path, json!({"customUpnValue": "a@b.com"})).await,
        404,
        path,
    );
    assert_problem(&app.get(path).await, 404, path);
    let path = format!("/v1/users/{user}/custom-upns/nothing");
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(
        &app.patch(&path, json!({"clientUpnKey": "x"})).await,
        404,
        &path,
    );
    assert_problem(&app.delete(&path).await, 404, &path);
    // A UPN is reachable only through its own user.
    let other = app.user().await;
    let upn = app
        .post(
            &format!("/v1/users/{other}/custom-upns"),
            json!({"customUpnValue": "o@corp.example.com"}),
        )
        .await
        .body;
    let path = format!(
        "/v1/users/{user}/custom-upns/{}",
        upn["id"].as_str().unwrap()
    );
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
}
