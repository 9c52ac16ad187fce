use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    membership_lifecycle,
    membership_roles,
    members_are_selected_and_expanded,
    organizations_expand_their_members,
    membership_flags_are_patched,
);

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

async fn members_are_selected_and_expanded(app: TestApp) {
    let org = app.organization("shaped").await;
    let id = org["id"].as_i64().unwrap();
    let base = format!("/v1/organizations/{id}/members");
    let mut users = Vec::new();
    for guest in [false, true] {
        let user = app.user().await;
        let added = app
            .post(
                &base,
                json!({"userId": user, "isMfaRequired": guest, "isGuest": guest}),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        users.push(user);
    }

    let plain = app.get(&format!("{base}?$orderby=created")).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    assert_eq!(
        plain.body["@odata.context"],
        format!("/v1/$metadata#organizations({id})/members")
    );
    assert_eq!(keys(&plain.body["value"][0]), MEMBERSHIP_KEYS);
    assert_eq!(plain.body["value"][0]["user"], serde_json::Value::Null);
    assert_eq!(plain.body["value"][1]["isMembershipMfaRequired"], true);

    let selected = app
        .get(&format!("{base}?$select=userId,isGuest&$orderby=created"))
        .await;
    assert_eq!(selected.status, StatusCode::OK, "{}", selected.body);
    assert_eq!(
        selected.body["@odata.context"],
        format!("/v1/$metadata#organizations({id})/members(userId,isGuest)")
    );
    for (item, user) in selected.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&users)
    {
        assert_eq!(keys(item), ["isGuest", "userId"]);
        assert_eq!(item["userId"], user.as_str());
    }

    let expanded = app
        .get(&format!(
            "{base}?$expand=user&$select=userId&$orderby=created"
        ))
        .await;
    assert_eq!(expanded.status, StatusCode::OK, "{}", expanded.body);
    for (item, user) in expanded.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&users)
    {
        assert_eq!(keys(item), ["user", "userId"]);
        assert_eq!(item["user"]["id"], user.as_str());
        let member_of = item["user"]["memberOf"].as_array().unwrap();
        assert!(
            member_of.iter().any(|m| m["organizationId"] == id),
            "{item}"
        );
    }
    let full = app.get(&format!("{base}?$expand=user")).await;
    assert_eq!(keys(&full.body["value"][0]), MEMBERSHIP_KEYS);
    assert!(full.body["value"][0]["user"]["id"].is_string());

    // The next page keeps the shape.
    let first = app
        .get(&format!("{base}?$top=1&$select=userId&$orderby=created"))
        .await;
    let next = first.body["@odata.nextLink"].as_str().unwrap().to_owned();
    let second = app.get(&next).await;
    assert_eq!(keys(&second.body["value"][0]), ["userId"]);
    assert_eq!(second.body["value"][0]["userId"], users[1].as_str());

    for bad in [
        "$select=nope",
        "$select=",
        "$expand=roles",
        "$expand=user,nope",
    ] {
        let reply = app.get(&format!("{base}?{bad}")).await;
        assert_problem(&reply, 400, &base);
    }

    // One membership: the user embedded, `$select` honoured, other
    // options refused.
    let one = format!("{base}/{}", users[0]);
    let whole = app.get(&one).await;
    assert_eq!(keys(&whole.body), MEMBERSHIP_KEYS);
    assert_eq!(whole.body["user"]["id"], users[0].as_str());
    let picked = app.get(&format!("{one}?$select=roles,isGuest")).await;
    assert_eq!(picked.status, StatusCode::OK, "{}", picked.body);
    assert_eq!(keys(&picked.body), ["isGuest", "roles"]);
    let with_user = app.get(&format!("{one}?$select=userId&$expand=user")).await;
    assert_eq!(keys(&with_user.body), ["user", "userId"]);
    for bad in ["$select=nope", "$top=1", "$expand=roles"] {
        assert_problem(&app.get(&format!("{one}?{bad}")).await, 400, &one);
    }
}

async fn organizations_expand_their_members(app: TestApp) {
    let org = app.organization("expanded").await;
    let id = org["id"].as_i64().unwrap();
    let user = app.user().await;
    let added = app
        .post(
            &format!("/v1/organizations/{id}/members"),
            json!({"userId": user, "isMfaRequired": false, "makeAdmin": true}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let path = format!("/v1/organizations/{id}");

    assert_eq!(app.get(&path).await.body["members"], json!([]));
    let expanded = app.get(&format!("{path}?$expand=members")).await;
    assert_eq!(expanded.status, StatusCode::OK, "{}", expanded.body);
    let members = expanded.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["userId"], user.as_str());
    assert_eq!(members[0]["roles"], json!(["organization-admin"]));
    assert_eq!(members[0]["user"], serde_json::Value::Null);

    let picked = app.get(&format!("{path}?$select=name,id")).await;
    assert_eq!(keys(&picked.body), ["id", "name"]);
    let picked = app
        .get(&format!("{path}?$select=name&$expand=members"))
        .await;
    assert_eq!(keys(&picked.body), ["members", "name"]);
    assert_problem(&app.get(&format!("{path}?$expand=user")).await, 400, &path);
    assert_problem(
        &app.get(&format!("{path}?$filter=id eq 1")).await,
        400,
        &path,
    );

    let list = app
        .get("/v1/organizations?$filter=name eq 'expanded'&$expand=members&$select=id,members")
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(
        list.body["@odata.context"],
        "/v1/$metadata#organizations(id,members)"
    );
    assert_eq!(keys(&list.body["value"][0]), ["id", "members"]);
    assert_eq!(list.body["value"][0]["members"][0]["userId"], user.as_str());
}

async fn membership_flags_are_patched(app: TestApp) {
    let org = app.organization("flags").await;
    let base = format!("/v1/organizations/{}/members", org["id"]);
    let user = app.user().await;
    let added = app
        .post(&base, json!({"userId": user, "isMfaRequired": false}))
        .await;
    assert_eq!(added.body["isMembershipMfaRequired"], false);
    let path = format!("{base}/{user}");

    let patched = app.patch(&path, json!({"isMfaRequired": true})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["isMembershipMfaRequired"], true);
    assert_eq!(patched.body["isMfaRequired"], true);
    assert_eq!(patched.body["isGuest"], false);
    let read = app.get(&format!("/v1/users/{user}")).await.body;
    let member_of = read["memberOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organizationId"] == org["id"])
        .expect("the membership");
    assert_eq!(member_of["isMembershipMfaRequired"], true);

    // Nothing to change: nothing written.
    let same = app
        .patch(&path, json!({"isMfaRequired": true, "isGuest": null}))
        .await;
    assert_eq!(same.body["modified"], patched.body["modified"]);
    let guest = app.patch(&path, json!({"isGuest": true})).await;
    assert_eq!(guest.body["isGuest"], true);
    assert_eq!(guest.body["isMembershipMfaRequired"], true);

    let bad = app.patch(&path, json!({"isMfaRequired": "yes"})).await;
    assert_problem(&bad, 400, &path);
    assert_problem(&app.patch(&path, json!({"roles": []})).await, 400, &path);
    let ghost = format!("{base}/ghost");
    assert_problem(
        &app.patch(&ghost, json!({"isGuest": true})).await,
        404,
        &ghost,
    );
}
