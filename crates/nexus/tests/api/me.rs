//! The caller itself: `GET /v1/me` and the self-service profile,
//! `PATCH /v1/me`, with a user's access token and with other credentials.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sim_tenant::{eventually, eventually_linked, linked_user, tenant};
use crate::support::{assert_problem, basic, both_backends, keys, schema_object, Reply, TestApp};
use crate::tokens::{jwks_server, jwt_tenant, token_headers, token_tenant};

both_backends!(
    a_user_reads_itself_and_others_their_id,
    a_user_changes_its_own_profile,
    only_a_users_token_changes_a_profile,
    a_deleted_users_token_names_no_one,
    a_profile_change_reaches_auth0,
);

/// A Database user of the tenant `jwt` signed in as `auth0|me`: its id and
/// the headers that call as it.
async fn signed_in(app: &TestApp) -> (String, Vec<(&'static str, String)>) {
    let jwks = jwks_server().await;
    jwt_tenant(app, &jwks).await;
    let user = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Justin Buchanan",
            "idpTenantId": "jwt", "organization": "acme",
            "idpMetadata": {"azoUserId": "auth0|me", "azoConnectionId": "db"}}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let id = user.body["id"].as_str().unwrap().to_owned();
    (id, token_headers(app, &jwks, "auth0|me").await)
}

/// A client token of the tenant `jwt` whose STS mapping holds `user.write`.
async fn client_headers(app: &TestApp) -> Vec<(&'static str, String)> {
    let jwks = jwks_server().await;
    token_tenant(app, &jwks, "jwt-m2m").await;
    let mapped = app
        .post(
            "/v1/sts-clients",
            json!({"clientId": "batch", "idpTenantId": "jwt-m2m", "permissions": "user.write user.read"}),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::CREATED, "{}", mapped.body);
    token_headers(app, &jwks, "batch@clients").await
}

async fn patch_me(app: &TestApp, headers: &[(&str, String)], body: Value) -> Reply {
    app.request_as(Method::PATCH, "/v1/me", headers, Some(&body))
        .await
}

async fn a_user_reads_itself_and_others_their_id(app: TestApp) {
    let (user, headers) = signed_in(&app).await;
    let me = app.request_as(Method::GET, "/v1/me", &headers, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let stored = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(
        me.body, stored.body,
        "the caller's user, as GET user shows it"
    );
    assert_eq!(me.body["identities"][0]["azoUserId"], json!("auth0|me"));

    let key = app.key("user.sync").await;
    let key_id = key.split(':').next().unwrap();
    let by_key = app
        .request_as(
            Method::GET,
            "/v1/me",
            &[("authorization", basic(&key))],
            None,
        )
        .await;
    assert_eq!(by_key.status, StatusCode::OK, "{}", by_key.body);
    assert_eq!(by_key.body, json!({"id": key_id}));

    let client = client_headers(&app).await;
    let by_client = app.request_as(Method::GET, "/v1/me", &client, None).await;
    assert_eq!(by_client.status, StatusCode::OK, "{}", by_client.body);
    assert_eq!(by_client.body, json!({"id": "batch"}));

    let document = app.get("/openapi.json").await.body;
    let answers = &document["components"]["schemas"]["MeAnswer"]["oneOf"];
    assert_eq!(
        answers,
        &json!([
            {"$ref": "#/components/schemas/User", "description": "A user's access token: the user."},
            {"$ref": "#/components/schemas/Caller", "description": "An API key or a client's token: the id it acts as."},
        ])
    );
}

async fn a_user_changes_its_own_profile(app: TestApp) {
    let (user, headers) = signed_in(&app).await;
    let other = app.user().await;
    let other_before = app.get(&format!("/v1/users/{other}")).await.body;
    let picture = |length: usize| format!("https://cdn.example.com/{}", "p".repeat(length - 24));

    // Each field, at its longest.
    let values = [
        ("givenName", "g".repeat(100)),
        ("familyName", "f".repeat(100)),
        ("nickname", "n".repeat(100)),
        ("language", "l".repeat(35)),
        ("picture", picture(250)),
    ];
    for (field, value) in &values {
        let patched = patch_me(&app, &headers, json!({*field: value})).await;
        assert_eq!(patched.status, StatusCode::OK, "{field}: {}", patched.body);
        assert_eq!(&patched.body[*field], value, "{field}");
        assert_eq!(patched.body["id"], json!(user));
        assert_eq!(
            patched.body["modifiedBy"],
            json!(user),
            "stamped by the user"
        );
    }
    let stored = app.get(&format!("/v1/users/{user}")).await.body;
    for (field, value) in &values {
        assert_eq!(&stored[*field], value, "{field} is stored");
    }

    // Absent and null fields are left as they are.
    let kept = patch_me(
        &app,
        &headers,
        json!({"nickname": null, "givenName": "Justin"}),
    )
    .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.body["nickname"], json!("n".repeat(100)));
    assert_eq!(kept.body["familyName"], json!("f".repeat(100)));
    assert_eq!(kept.body["givenName"], json!("Justin"));

    // One past each limit, an empty name, a picture that is no URL.
    let refused = [
        ("givenName", json!("g".repeat(101))),
        ("familyName", json!("f".repeat(101))),
        ("nickname", json!("n".repeat(101))),
        ("nickname", json!("")),
        ("language", json!("l".repeat(36))),
        ("picture", json!(picture(251))),
        ("picture", json!("not a url")),
    ];
    for (field, value) in refused {
        let reply = patch_me(&app, &headers, json!({field: value})).await;
        assert_problem(&reply, 400, "/v1/me");
        assert_eq!(
            keys(&reply.body["errors"]),
            [field],
            "{field}: {}",
            reply.body
        );
    }
    // Nothing else of a user is the user's to change, nor another user.
    for (field, value) in [
        ("displayName", json!("Someone Else")),
        ("isBlocked", json!(false)),
        ("username", json!("root")),
        ("emailVerified", json!(true)),
        ("id", json!(other)),
        ("userId", json!(other)),
    ] {
        let reply = patch_me(&app, &headers, json!({field: value, "nickname": "x"})).await;
        assert_problem(&reply, 400, "/v1/me");
        assert!(
            reply.body["errors"][field][0]
                .as_str()
                .is_some_and(|m| m.starts_with("unknown field")),
            "{field}: {}",
            reply.body
        );
    }
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(
        after["nickname"],
        json!("n".repeat(100)),
        "refusals write nothing"
    );
    assert_eq!(after["displayName"], json!("Justin Buchanan"));
    assert_eq!(
        app.get(&format!("/v1/users/{other}")).await.body,
        other_before
    );

    // The document states the limits the server keeps, and who may call.
    let document = app.get("/openapi.json").await.body;
    let body = schema_object(&document, "UpdateMeProfileBody");
    let properties = keys(&body["properties"]);
    assert_eq!(
        properties,
        ["familyName", "givenName", "language", "nickname", "picture"]
    );
    assert_eq!(body["additionalProperties"], json!(false));
    for (field, max) in [
        ("givenName", 100),
        ("familyName", 100),
        ("nickname", 100),
        ("language", 35),
        ("picture", 250),
    ] {
        assert_eq!(
            body["properties"][field]["maxLength"],
            json!(max),
            "{field}"
        );
    }
    assert_eq!(
        body["properties"]["picture"]["pattern"],
        json!(nexus_core::patterns::HTTP_URL),
        "the picture is the URL the server takes"
    );
    let operation = &document["paths"]["/v1/me"]["patch"];
    assert_eq!(operation["operationId"], json!("UpdateMeProfile"));
    assert_eq!(
        operation["security"],
        json!([{"Bearer": [], "ApplicationToken": []}])
    );
    let statuses = keys(&operation["responses"]);
    assert_eq!(
        statuses,
        ["200", "400", "401", "403", "413", "415", "429", "503"]
    );
}

async fn only_a_users_token_changes_a_profile(app: TestApp) {
    let writer = app.key("read write").await;
    let writer_id = writer.split(':').next().unwrap().to_owned();
    let by_key = patch_me(
        &app,
        &[("authorization", basic(&writer))],
        json!({"nickname": "key"}),
    )
    .await;
    assert_problem(&by_key, 403, "/v1/me");
    assert_eq!(by_key.body["type"], json!("urn:nexus:problem:not-a-user"));
    // The refusal is in the audit trail, as every refusal after authentication.
    let events = app
        .get(&format!("/v1/audit-events?$filter=actor eq '{writer_id}'"))
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let events = events.body["value"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["outcome"], json!("denied"));
    assert_eq!(events[0]["operation"], json!("UpdateMeProfile"));

    let client = client_headers(&app).await;
    let by_client = patch_me(&app, &client, json!({"nickname": "client"})).await;
    assert_problem(&by_client, 403, "/v1/me");
    assert_eq!(
        by_client.body["type"],
        json!("urn:nexus:problem:not-a-user")
    );

    // Without credentials: 401, as everywhere.
    let anonymous = patch_me(&app, &[], json!({"nickname": "nobody"})).await;
    assert_problem(&anonymous, 401, "/v1/me");
}

/// A token verified before its user was deleted names no one: 401 on both
/// routes, not a 404 for a path that names nothing.
async fn a_deleted_users_token_names_no_one(app: TestApp) {
    let (user, headers) = signed_in(&app).await;
    let deleted = app.delete(&format!("/v1/users/{user}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let read = app.request_as(Method::GET, "/v1/me", &headers, None).await;
    assert_problem(&read, 401, "/v1/me");
    let patched = patch_me(&app, &headers, json!({"nickname": "ghost"})).await;
    assert_problem(&patched, 401, "/v1/me");
    assert!(
        patched.headers.contains_key("www-authenticate"),
        "{:?}",
        patched.headers
    );
}

/// The user's own change reaches its Auth0 database account, as an
/// administrator's PatchUser does. The user signs in through a second
/// tenant, whose token Nexus verifies.
async fn a_profile_change_reaches_auth0(app: TestApp) {
    let sim = tenant(&app, 100).await;
    let (user, azo) = linked_user(&app, &sim, "ada@example.com").await;
    eventually_linked(&sim, &azo, &user).await;
    let jwks = jwks_server().await;
    token_tenant(&app, &jwks, "jwt").await;
    let linked = app
        .put(
            &format!("/v1/users/{user}/idp_tenants/jwt"),
            json!({"strategy": "auth0", "azoUserId": "auth0|ada", "azoConnectionId": "db"}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    let headers = token_headers(&app, &jwks, "auth0|ada").await;

    let picture = "https://cdn.example.com/ada.png";
    let patched = patch_me(
        &app,
        &headers,
        json!({"givenName": "Ada", "familyName": "Lovelace", "nickname": "ada", "picture": picture}),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    eventually(&sim, &azo, |u| json!(u.picture), json!(picture)).await;
    let pushed = sim.auth0.get_user(&azo).await.unwrap();
    assert_eq!(pushed.given_name.as_deref(), Some("Ada"));
    assert_eq!(pushed.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(pushed.nickname.as_deref(), Some("ada"));
}
