use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_problem, both_backends, keys, schema_object, TestApp};

both_backends!(
    create_returns_the_full_user_shape,
    create_with_idp_metadata_links_the_user,
    create_validates_every_field,
    create_checks_references,
    patch_updates_only_given_fields,
    patch_limits,
    delete_removes_everything_of_the_user,
    owner_is_one_level_deep,
    list_filters_orders_and_searches,
    email_addresses_are_unique,
    pushed_profile_fields_take_only_what_auth0_takes,
);

/// Every key of the seed 002 `user` object.
const USER_KEYS: [&str; 34] = [
    "applicationDeployments",
    "attributes",
    "authenticationMethod",
    "created",
    "createdBy",
    "customUpns",
    "displayName",
    "email-verification-status-type",
    "email-verified",
    "email-verify-sent-date",
    "emailAddress",
    "familyName",
    "givenName",
    "id",
    "identities",
    "isActive",
    "isMfaDisabled",
    "language",
    "memberOf",
    "mfaEnrollmentStatus",
    "modified",
    "modifiedBy",
    "nickname",
    "organization",
    "organizationId",
    "owner",
    "ownerId",
    "phoneNumber",
    "picture",
    "recoveryEmailAddress",
    "roles",
    "subscriptions",
    "type",
    "username",
];

async fn setup(app: &TestApp) -> (Value, Value) {
    (app.tenant("us-1").await, app.organization("acme").await)
}

fn create_body() -> Value {
    json!({
        "authenticationMethod": "Database",
        "displayName": "Justin Buchanan",
        "idpTenantId": "us-1",
        "organization": "acme",
        "givenName": "Justin",
        "familyName": "Buchanan",
        "emailAddress": "justin@example.com",
        "phoneNumber": "+14155550123",
        "picture": "https://cdn.example.com/j.png",
        "language": "en-US",
        "username": "justin",
        "nickname": "jb",
        "type": "Employee",
        "makeAdmin": true,
    })
}

async fn create_returns_the_full_user_shape(app: TestApp) {
    let (_, organization) = setup(&app).await;
    let created = app.post("/v1/users", create_body()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = &created.body;
    assert_eq!(keys(user), USER_KEYS);
    let id = user["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok() && id.len() <= 40);
    assert_eq!(user["displayName"], "Justin Buchanan");
    assert_eq!(user["emailAddress"], "justin@example.com");
    assert_eq!(user["phoneNumber"], "+14155550123");
    assert_eq!(user["authenticationMethod"], "Database");
    assert_eq!(user["type"], "Employee");
    assert_eq!(user["isActive"], true);
    assert_eq!(user["email-verified"], false);
    assert_eq!(user["email-verification-status-type"], "Unverified");
    assert_eq!(
        user["createdBy"],
        app.admin_id.as_str(),
        "the caller is recorded"
    );
    assert_eq!(user["organizationId"], organization["id"]);
    assert_eq!(user["organization"], organization);
    assert_eq!(user["owner"], Value::Null);
    for empty in [
        "roles",
        "attributes",
        "customUpns",
        "identities",
        "subscriptions",
        "applicationDeployments",
    ] {
        assert_eq!(user[empty], json!([]), "{empty}");
    }
    let membership = &user["memberOf"][0];
    assert_eq!(user["memberOf"].as_array().unwrap().len(), 1);
    assert_eq!(membership["organizationId"], organization["id"]);
    assert_eq!(membership["organizationName"], "acme");
    assert_eq!(membership["organizationDisplayName"], "acme Inc.");
    assert_eq!(membership["userId"], id);
    assert_eq!(membership["roles"], json!(["organization-admin"]));
    assert_eq!(membership["isGuest"], false);

    let fetched = app.get(&format!("/v1/users/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.body, user);
}

async fn create_with_idp_metadata_links_the_user(app: TestApp) {
    let (tenant, _) = setup(&app).await;
    let mut body = create_body();
    body["idpMetadata"] =
        json!({"azoUserId": "auth0|64f1", "azoConnectionId": "Username-Password-Authentication"});
    let created = app.post("/v1/users", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let identities = created.body["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1);
    assert_eq!(identities[0]["azoUserId"], "auth0|64f1");
    assert_eq!(identities[0]["strategy"], "auth0");
    assert_eq!(identities[0]["idpTenantId"], tenant["id"]);

    // The account is taken now: a second user with it is refused, and not created.
    let mut second = create_body();
    second["emailAddress"] = json!("other@example.com");
    second["idpMetadata"] =
        json!({"azoUserId": "auth0|64f1", "azoConnectionId": "Username-Password-Authentication"});
    let clash = app.post("/v1/users", second).await;
    assert_problem(&clash, 409, "/v1/users");
    assert_eq!(
        app.get("/v1/users?$count=true").await.body["@odata.count"],
        1
    );
}

async fn create_validates_every_field(app: TestApp) {
    setup(&app).await;
    let missing = app.post("/v1/users", json!({})).await;
    assert_problem(&missing, 400, "/v1/users");
    assert_eq!(
        keys(&missing.body["errors"]),
        [
            "authenticationMethod",
            "displayName",
            "idpTenantId",
            "organization"
        ]
    );

    let mut body = create_body();
    body["displayName"] = json!("d".repeat(251));
    body["authenticationMethod"] = json!("Password");
    body["emailAddress"] = json!("not-an-email");
    body["phoneNumber"] = json!("555-0123");
    body["picture"] = json!("javascript:alert(1)");
    body["givenName"] = json!("g".repeat(101));
    body["username"] = json!("");
    body["idpMetadata"] = json!({"azoUserId": "u".repeat(251)});
    let reply = app.post("/v1/users", body).await;
    assert_problem(&reply, 400, "/v1/users");
    assert_eq!(
        keys(&reply.body["errors"]),
        [
            "authenticationMethod",
            "displayName",
            "emailAddress",
            "givenName",
            "idpMetadata.azoConnectionId",
            "idpMetadata.azoUserId",
            "phoneNumber",
            "picture",
            "username"
        ]
    );
    assert_eq!(
        reply.body["errors"]["displayName"],
        json!(["must be at most 250 characters long"])
    );

    let mut edge = create_body();
    edge["displayName"] = json!("d".repeat(250));
    edge["givenName"] = json!("g".repeat(100));
    assert_eq!(
        app.post("/v1/users", edge).await.status,
        StatusCode::CREATED
    );

    let unknown = app.post("/v1/users", json!({"displayname": "typo"})).await;
    assert_problem(&unknown, 400, "/v1/users");
    assert!(unknown.body["errors"]["displayname"][0]
        .as_str()
        .unwrap()
        .contains("unknown field"));
}

async fn create_checks_references(app: TestApp) {
    setup(&app).await;
    let mut body = create_body();
    body["idpTenantId"] = json!("nowhere");
    body["organization"] = json!("no-such-org");
    body["ownerId"] = json!("nobody");
    let reply = app.post("/v1/users", body).await;
    assert_problem(&reply, 422, "/v1/users");
    assert_eq!(reply.body["type"], "urn:nexus:problem:cannot-apply");
    assert_eq!(
        keys(&reply.body["errors"]),
        ["idpTenantId", "organization", "ownerId"]
    );
    assert_eq!(
        app.get("/v1/users?$count=true").await.body["@odata.count"],
        0
    );

    // The organization may be named by id; so may the tenant.
    let organization = app.get("/v1/organizations").await.body["value"][0].clone();
    let tenant = app.get("/v1/idp_tenants").await.body["value"][0].clone();
    let mut by_id = create_body();
    by_id["organization"] = json!(organization["id"].to_string());
    by_id["idpTenantId"] = json!(tenant["id"].to_string());
    let created = app.post("/v1/users", by_id).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["organizationId"], organization["id"]);
}

async fn patch_updates_only_given_fields(app: TestApp) {
    setup(&app).await;
    let created = app.post("/v1/users", create_body()).await.body;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/users/{id}");

    let noop = app
        .patch(&path, json!({"displayName": null, "givenName": null}))
        .await;
    assert_eq!(noop.status, StatusCode::OK);
    assert_eq!(noop.body, created, "nothing given, nothing changed");

    let patched = app
        .patch(&path, json!({"displayName": "J. Buchanan", "isBlocked": true, "emailVerified": true, "phoneNumber": "+442071838750"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(keys(&patched.body), USER_KEYS);
    assert_eq!(patched.body["displayName"], "J. Buchanan");
    assert_eq!(patched.body["isActive"], false);
    assert_eq!(patched.body["email-verified"], true);
    assert_eq!(patched.body["email-verification-status-type"], "Verified");
    assert_eq!(patched.body["phoneNumber"], "+442071838750");
    assert_eq!(patched.body["givenName"], "Justin");
    assert_eq!(patched.body["emailAddress"], "justin@example.com");
    assert_eq!(patched.body["created"], created["created"]);
    assert_ne!(patched.body["modified"], created["modified"]);
    assert_eq!(app.get(&path).await.body, patched.body);

    let unblocked = app
        .patch(
            &path,
            json!({"isBlocked": false, "emailVerifySentDate": "2026-01-02T03:04:05+01:00"}),
        )
        .await;
    assert_eq!(unblocked.body["isActive"], true);
    assert_eq!(
        unblocked.body["email-verify-sent-date"],
        "2026-01-02T02:04:05.000000Z"
    );
}

async fn patch_limits(app: TestApp) {
    setup(&app).await;
    let created = app.post("/v1/users", create_body()).await.body;
    let path = format!("/v1/users/{}", created["id"].as_str().unwrap());
    // PatchUser: displayName max 200, givenName/familyName max 100.
    let ok = app.patch(&path, json!({"displayName": "d".repeat(200), "givenName": "g".repeat(100), "familyName": "f".repeat(100)})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let over = app
        .patch(&path, json!({"displayName": "d".repeat(201), "givenName": "g".repeat(101), "familyName": "f".repeat(101), "recoveryEmailAddress": "x"}))
        .await;
    assert_problem(&over, 400, &path);
    assert_eq!(
        keys(&over.body["errors"]),
        [
            "displayName",
            "familyName",
            "givenName",
            "recoveryEmailAddress"
        ]
    );
    assert_eq!(
        app.get(&path).await.body,
        ok.body,
        "a rejected patch writes nothing"
    );
    let empty = app.patch(&path, json!({"displayName": ""})).await;
    assert_eq!(
        empty.body["errors"]["displayName"],
        json!(["must not be empty"])
    );
    assert_problem(
        &app.patch("/v1/users/nobody", json!({"displayName": "x"}))
            .await,
        404,
        "/v1/users/nobody",
    );
}

async fn delete_removes_everything_of_the_user(app: TestApp) {
    setup(&app).await;
    let mut body = create_body();
    body["idpMetadata"] = json!({"azoUserId": "auth0|gone", "azoConnectionId": "db"});
    let id = app.post("/v1/users", body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/v1/users/{id}/custom-upns"),
        json!({"clientUpnKey": "rdp", "customUpnValue": "gone@corp.example.com"}),
    )
    .await;
    assert_eq!(
        app.delete(&format!("/v1/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.get(&format!("/v1/users/{id}")).await,
        404,
        &format!("/v1/users/{id}"),
    );
    assert_problem(
        &app.delete(&format!("/v1/users/{id}")).await,
        404,
        &format!("/v1/users/{id}"),
    );
    let found = app
        .get("/v1/users/FindUserByConnection(azoConnectionId='db',azoUserId='auth0%7Cgone')")
        .await;
    assert_eq!(found.status, StatusCode::NOT_FOUND);

    // Its Auth0 account and its UPN are free again.
    let mut again = create_body();
    again["idpMetadata"] = json!({"azoUserId": "auth0|gone", "azoConnectionId": "db"});
    let recreated = app.post("/v1/users", again).await;
    assert_eq!(recreated.status, StatusCode::CREATED, "{}", recreated.body);
    let new_id = recreated.body["id"].as_str().unwrap();
    let upn = app
        .post(
            &format!("/v1/users/{new_id}/custom-upns"),
            json!({"clientUpnKey": "rdp", "customUpnValue": "gone@corp.example.com"}),
        )
        .await;
    assert_eq!(upn.status, StatusCode::CREATED);
}

async fn owner_is_one_level_deep(app: TestApp) {
    setup(&app).await;
    let owner = app.post("/v1/users", create_body()).await.body;
    let mut body = create_body();
    body["emailAddress"] = json!("owned@example.com");
    body["ownerId"] = owner["id"].clone();
    let owned = app.post("/v1/users", body).await;
    assert_eq!(owned.status, StatusCode::CREATED, "{}", owned.body);
    assert_eq!(owned.body["ownerId"], owner["id"]);
    let embedded = &owned.body["owner"];
    assert_eq!(keys(embedded), USER_KEYS);
    assert_eq!(embedded["id"], owner["id"]);
    assert_eq!(embedded["displayName"], owner["displayName"]);
    assert_eq!(embedded["owner"], Value::Null);
    assert_eq!(embedded["memberOf"], json!([]));
    // Deleting the owner leaves the owned user without one.
    app.delete(&format!("/v1/users/{}", owner["id"].as_str().unwrap()))
        .await;
    let after = app
        .get(&format!("/v1/users/{}", owned.body["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(after["ownerId"], Value::Null);
    assert_eq!(after["owner"], Value::Null);
}

async fn list_filters_orders_and_searches(app: TestApp) {
    setup(&app).await;
    for (name, email, active) in [
        ("Ann Archer", "ann@example.com", true),
        ("Bob Baker", "bob@example.com", false),
        ("Cy Carter", "cy@example.org", true),
    ] {
        let mut body = create_body();
        body["displayName"] = json!(name);
        body["emailAddress"] = json!(email);
        let id = app.post("/v1/users", body).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if !active {
            app.patch(&format!("/v1/users/{id}"), json!({"isBlocked": true}))
                .await;
        }
    }
    let names = |reply: &Value| -> Vec<String> {
        reply["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app
        .get("/v1/users?$orderby=displayName desc&$count=true")
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(names(&all.body), ["Cy Carter", "Bob Baker", "Ann Archer"]);
    assert_eq!(all.body["@odata.count"], 3);
    assert!(all.body.get("@odata.count").is_some());
    assert!(
        app.get("/v1/users")
            .await
            .body
            .get("@odata.count")
            .is_none(),
        "count only when asked"
    );

    let active = app
        .get("/v1/users?$filter=isActive eq true&$orderby=displayName")
        .await
        .body;
    assert_eq!(names(&active), ["Ann Archer", "Cy Carter"]);
    let filtered = app.get("/v1/users?$filter=startswith(emailAddress,'B') or displayName eq 'Cy Carter'&$orderby=displayName").await.body;
    assert_eq!(names(&filtered), ["Bob Baker", "Cy Carter"]);
    let searched = app.get("/v1/users?$search=EXAMPLE.ORG").await.body;
    assert_eq!(names(&searched), ["Cy Carter"]);
    let paged = app
        .get("/v1/users?$orderby=displayName&$top=1&$skip=1")
        .await
        .body;
    assert_eq!(names(&paged), ["Bob Baker"]);

    for (query, field) in [
        ("$filter=password eq 'x'", "$filter"),
        ("$filter=displayName gt 'a'", "$filter"),
        ("$orderby=phoneNumber", "$orderby"),
        ("$top=1001", "$top"),
        ("$top=-1", "$top"),
        ("$skip=x", "$skip"),
        ("$count=yes", "$count"),
        ("$expand=roles", "$expand"),
    ] {
        let reply = app.get(&format!("/v1/users?{query}")).await;
        assert_problem(&reply, 400, "/v1/users");
        assert!(
            reply.body["errors"][field].is_array(),
            "{query}: {}",
            reply.body
        );
    }
}

async fn email_addresses_are_unique(app: TestApp) {
    setup(&app).await;
    assert_eq!(
        app.post("/v1/users", create_body()).await.status,
        StatusCode::CREATED
    );
    let mut again = create_body();
    again["emailAddress"] = json!("JUSTIN@example.com");
    let clash = app.post("/v1/users", again).await;
    assert_problem(&clash, 409, "/v1/users");
    assert!(clash.body["detail"]
        .as_str()
        .unwrap()
        .contains("emailAddress"));
}

/// givenName, familyName and nickname go to Auth0, which takes 1 to 150
/// (names) or 300 (nickname) characters: Nexus refuses an empty one (it would
/// stop every push of the user) and keeps its own maximum of 100.
async fn pushed_profile_fields_take_only_what_auth0_takes(app: TestApp) {
    setup(&app).await;
    let fields = ["givenName", "familyName", "nickname"];
    let mut empty = create_body();
    for field in fields {
        empty[field] = json!("");
    }
    let refused = app.post("/v1/users", empty).await;
    assert_problem(&refused, 400, "/v1/users");
    assert_eq!(
        keys(&refused.body["errors"]),
        ["familyName", "givenName", "nickname"]
    );
    assert_eq!(
        refused.body["errors"]["givenName"],
        json!(["must not be empty"])
    );

    let created = app.post("/v1/users", create_body()).await.body;
    let path = format!("/v1/users/{}", created["id"].as_str().unwrap());
    for field in fields {
        let empty = app.patch(&path, json!({field: ""})).await;
        assert_problem(&empty, 400, &path);
        assert_eq!(
            empty.body["errors"][field],
            json!(["must not be empty"]),
            "{field}"
        );
        let over = app.patch(&path, json!({field: "x".repeat(101)})).await;
        assert_problem(&over, 400, &path);
        assert_eq!(
            over.body["errors"][field],
            json!(["must be at most 100 characters long"]),
            "{field}"
        );
        for fits in ["x".to_owned(), "x".repeat(100)] {
            let ok = app.patch(&path, json!({field: fits})).await;
            assert_eq!(ok.status, StatusCode::OK, "{field}: {}", ok.body);
            assert_eq!(ok.body[field], json!(fits));
        }
    }

    let document = app.get("/openapi.json").await.body;
    for schema in ["CreateUserBody", "PatchUserBody"] {
        for field in fields {
            let property = &schema_object(&document, schema)["properties"][field];
            assert_eq!(
                (&property["minLength"], &property["maxLength"]),
                (&json!(1), &json!(100)),
                "{schema}.{field}: {property}"
            );
        }
    }
}
