//! What Nexus asks Auth0 before it stores anything: links are checked against
//! the tenant, and Database users get their Auth0 account created.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::roles::role;
use crate::sim_tenant::{auth0_user, eventually_linked, stats, tenant, Tenant};
use crate::support::{both_backends, Reply, TestApp};

both_backends!(
    links_are_checked_against_auth0,
    nothing_is_stored_when_auth0_is_unreachable,
    database_users_get_an_auth0_account,
    auth0_refusals_leave_no_user
);

/// A Nexus user that Nexus does not create an Auth0 account for.
async fn federated_user(app: &TestApp, email: &str) -> String {
    let reply = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Federation", "displayName": "Grace Hopper",
                   "emailAddress": email, "idpTenantId": "sim", "organization": "acme"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn assert_problem(reply: &Reply, status: StatusCode, kind: &str, detail_has: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["type"], format!("urn:nexus:problem:{kind}"));
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains(detail_has), "{detail}");
}

async fn identities(app: &TestApp, user: &str) -> Value {
    app.get(&format!("/v1/users/{user}/idp_tenants")).await.body["value"].clone()
}

async fn pending_pushes(app: &TestApp) -> Value {
    app.get("/v1/push/status").await.body["pending"].clone()
}

async fn user_count(app: &TestApp) -> Value {
    app.get("/v1/users?$count=true").await.body["@odata.count"].clone()
}

async fn connection(tenant: &Tenant, name: &str) -> auth0::Connection {
    tenant
        .auth0
        .connection_by_name(name)
        .await
        .unwrap()
        .unwrap()
}

async fn links_are_checked_against_auth0(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let user = federated_user(&app, "grace@example.com").await;
    let link = format!("/v1/users/{user}/idp_tenants/sim");
    let database = connection(&tenant, auth0_sim::DEFAULT_CONNECTION).await;
    let azo = auth0_user(&tenant, auth0_sim::DEFAULT_CONNECTION, "grace@example.com").await;
    reqwest::Client::new()
        .post(format!("{}/__sim/connections", tenant.sim.base_url()))
        .json(&json!({"name": "other-db"}))
        .send()
        .await
        .unwrap();

    let unknown_user = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": "auth0|nobody", "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}),
        )
        .await;
    assert_problem(
        &unknown_user,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "no user 'auth0|nobody'",
    );
    // Auth0 refuses an id that is not `provider|id` with a 400.
    let malformed_user = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": "nobody", "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}),
        )
        .await;
    assert_problem(
        &malformed_user,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "no user 'nobody'",
    );
    assert_eq!(identities(&app, &user).await, json!([]));
    let unknown_connection = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": "no-such-connection"}),
        )
        .await;
    assert_problem(
        &unknown_connection,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "no connection with the id or name 'no-such-connection'",
    );
    let wrong_connection = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": "other-db"}),
        )
        .await;
    assert_problem(
        &wrong_connection,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "has no account on connection 'other-db'",
    );
    assert_eq!(identities(&app, &user).await, json!([]));
    assert_eq!(pending_pushes(&app).await, 0);

    // Given by name, stored with the connection's id; either finds it later.
    let by_name = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}),
        )
        .await;
    assert_eq!(by_name.status, StatusCode::OK, "{}", by_name.body);
    assert_eq!(by_name.body["azoConnectionId"], json!(database.id));
    assert_eq!(by_name.body["azoUserId"], json!(azo));
    let by_id = app
        .put(
            &link,
            json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": database.id}),
        )
        .await;
    assert_eq!(by_id.body, by_name.body, "relinking by id changes nothing");
    // A connection map names the connection by id or by name: both match.
    for (name, connection) in [
        ("mapped-by-name", json!(auth0_sim::DEFAULT_CONNECTION)),
        ("mapped-by-id", json!(database.id)),
    ] {
        let role = role(&app, name, "https://api.example.com", &[]).await;
        let map = app
            .post(
                &format!("/v1/roles/{}/connection-maps", role["id"].as_str().unwrap()),
                json!({"groupName": "staff", "azoConnectionId": connection}),
            )
            .await;
        assert_eq!(map.status, StatusCode::CREATED, "{}", map.body);
    }
    for connection in [json!(auth0_sim::DEFAULT_CONNECTION), json!(database.id)] {
        let found = app
            .get(&format!(
                "/v1/users/FindUserByConnection(azoConnectionId='{}',azoUserId='{azo}')",
                connection.as_str().unwrap()
            ))
            .await;
        assert_eq!(
            found.body["id"],
            json!(user),
            "{connection}: {}",
            found.body
        );
        let synced = app
            .put(
                &format!("/v1/users/{user}/$sync"),
                json!({"audience": "https://api.example.com", "attributes": [],
                       "connection": {"connectionId": connection, "groups": ["staff"]}}),
            )
            .await;
        assert_eq!(
            synced.status,
            StatusCode::OK,
            "{connection}: {}",
            synced.body
        );
        assert_eq!(
            synced.body["user"]["identities"][0]["groups"][0]["groupName"],
            "staff"
        );
        let roles: Vec<&str> = synced.body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["mapped-by-id", "mapped-by-name"], "{connection}");
    }
    eventually_linked(&tenant, &azo, &user).await;
}

async fn nothing_is_stored_when_auth0_is_unreachable(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let user = federated_user(&app, "grace@example.com").await;
    let azo = auth0_user(&tenant, auth0_sim::DEFAULT_CONNECTION, "grace@example.com").await;
    let http = reqwest::Client::new();
    let faults = format!("{}/__sim/faults", tenant.sim.base_url());
    http.put(&faults)
        .json(&json!({"fail_for_ms": 600_000}))
        .send()
        .await
        .unwrap();
    let body = json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION});
    let link = format!("/v1/users/{user}/idp_tenants/sim");
    let failing = app.put(&link, body.clone()).await;
    assert_problem(
        &failing,
        StatusCode::SERVICE_UNAVAILABLE,
        "idp-unavailable",
        "could not be reached",
    );
    assert!(failing.headers.contains_key("retry-after"));
    let create = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Ada", "emailAddress": "ada@example.com",
                   "idpTenantId": "sim", "organization": "acme"}),
        )
        .await;
    assert_problem(
        &create,
        StatusCode::SERVICE_UNAVAILABLE,
        "idp-unavailable",
        "nothing was changed",
    );
    assert_eq!(identities(&app, &user).await, json!([]));
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(pending_pushes(&app).await, 0);

    // A tenant nobody listens for: refused connections are unreachable too.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let patched = app
        .patch("/v1/idp_tenants/sim", json!({"baseUrl": closed_url}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    http.put(&faults).json(&json!({})).send().await.unwrap();
    let refused = app.put(&link, body.clone()).await;
    assert_problem(
        &refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "idp-unavailable",
        "'sim'",
    );
    assert_eq!(identities(&app, &user).await, json!([]));

    let restored = app
        .patch(
            "/v1/idp_tenants/sim",
            json!({"baseUrl": tenant.sim.base_url()}),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let linked = app.put(&link, body).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert_eq!(identities(&app, &user).await.as_array().unwrap().len(), 1);
}

async fn database_users_get_an_auth0_account(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let database = connection(&tenant, auth0_sim::DEFAULT_CONNECTION).await;
    let created = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Ada Lovelace", "givenName": "Ada",
                   "familyName": "Lovelace", "emailAddress": "ada@example.com", "idpTenantId": "sim",
                   "organization": "acme",
                   "passwordCredential": {"password": "Corr3ct-Horse!", "sendEmailVerification": true}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = created.body["id"].as_str().unwrap();
    let identity = &created.body["identities"][0];
    assert_eq!(identity["strategy"], "auth0");
    assert_eq!(identity["azoConnectionId"], json!(database.id));
    let azo = identity["azoUserId"].as_str().unwrap();
    assert!(azo.starts_with("auth0|"), "{azo}");
    let account = tenant.auth0.get_user(azo).await.unwrap();
    assert_eq!(account.email.as_deref(), Some("ada@example.com"));
    assert_eq!(account.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(account.given_name.as_deref(), Some("Ada"));
    assert_eq!(account.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(account.email_verified, Some(false));
    assert_eq!(json!(account.app_metadata), json!({"nexus_user_id": user}));
    assert_eq!(
        account.identities[0].connection.as_deref(),
        Some(auth0_sim::DEFAULT_CONNECTION)
    );
    assert_eq!(
        created.body["email-verification-status-type"], "Pending",
        "Auth0 sent the verification e-mail: {}",
        created.body
    );
    assert!(created.body["email-verify-sent-date"].is_string());
    assert_eq!(
        stats(&tenant).await["verificationEmails"],
        json!(["ada@example.com"])
    );

    // No password given: a generated one, and no verification email.
    let generated = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Alan Turing",
                   "emailAddress": "alan@example.com", "emailVerified": true, "idpTenantId": "sim",
                   "organization": "acme"}),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.body);
    let azo = generated.body["identities"][0]["azoUserId"]
        .as_str()
        .unwrap();
    assert_eq!(
        tenant.auth0.get_user(azo).await.unwrap().email_verified,
        Some(true)
    );
    assert_eq!(
        stats(&tenant).await["verificationEmails"],
        json!(["ada@example.com"])
    );

    // Federation users sign in elsewhere: no account is made for them.
    let users_before = stats(&tenant).await["users"].clone();
    let federated = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Federation", "displayName": "Edsger",
                   "emailAddress": "edsger@example.com", "idpTenantId": "sim", "organization": "acme"}),
        )
        .await;
    assert_eq!(federated.status, StatusCode::CREATED, "{}", federated.body);
    assert_eq!(federated.body["identities"], json!([]));
    assert_eq!(stats(&tenant).await["users"], users_before);
}

async fn auth0_refusals_leave_no_user(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let create = |email: &str, extra: Value| {
        let mut body = json!({"authenticationMethod": "Database", "displayName": "Ada",
                              "emailAddress": email, "idpTenantId": "sim", "organization": "acme"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };

    let weak = app
        .post(
            "/v1/users",
            create(
                "ada@example.com",
                json!({"passwordCredential": {"password": "short"}}),
            ),
        )
        .await;
    assert_problem(
        &weak,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "Password is too weak",
    );
    auth0_user(&tenant, auth0_sim::DEFAULT_CONNECTION, "taken@example.com").await;
    let taken = app
        .post("/v1/users", create("taken@example.com", json!({})))
        .await;
    assert_problem(
        &taken,
        StatusCode::CONFLICT,
        "conflict",
        "The user already exists.",
    );
    let no_database = app
        .post(
            "/v1/users",
            create(
                "ada@example.com",
                json!({"passwordCredential": {"azoDatabaseName": "missing-db"}}),
            ),
        )
        .await;
    assert_problem(
        &no_database,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "'missing-db'",
    );
    let no_email = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Ada", "idpTenantId": "sim", "organization": "acme"}),
        )
        .await;
    assert_eq!(
        no_email.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_email.body
    );
    assert_eq!(
        no_email.body["errors"]["emailAddress"],
        json!(["is required to create the Auth0 database account"])
    );
    let both = app
        .post(
            "/v1/users",
            create(
                "ada@example.com",
                json!({"passwordCredential": {"password": "Corr3ct-Horse!", "generateTempPassword": true}}),
            ),
        )
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST, "{}", both.body);
    assert!(both.body["errors"]["passwordCredential.generateTempPassword"].is_array());
    assert_eq!(user_count(&app).await, 0);

    // Auth0 accepts, then Nexus cannot store the user (its email is taken
    // in Nexus): the new Auth0 account is deleted again.
    federated_user(&app, "grace@example.com").await;
    let auth0_users = stats(&tenant).await["users"].clone();
    let duplicate = app
        .post("/v1/users", create("grace@example.com", json!({})))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.body);
    assert_eq!(stats(&tenant).await["users"], auth0_users);
    assert_eq!(user_count(&app).await, 1);
}
