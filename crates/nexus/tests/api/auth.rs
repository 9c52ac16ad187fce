use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{
    assert_problem, basic, both_backends, concrete, create_key, keys, TestApp, API_AUDIENCE,
};

both_backends!(
    every_route_checks_credentials_and_permissions,
    api_keys_show_their_secret_once,
    revoked_keys_stop_at_once,
    verified_keys_are_cached,
    role_keys_hold_the_role_permissions,
    sts_clients,
    head_is_get_without_a_body,
);

/// What a protected operation needs.
enum Needs {
    /// Any valid credentials.
    Credentials,
    Permission(String),
    /// A user's own access token (Bearer with ApplicationToken, no Basic).
    UserToken,
}

/// The operations of the served document, with what each needs.
async fn protected_operations(app: &TestApp) -> Vec<(Method, String, Needs)> {
    let document: Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            match operation["security"].as_array() {
                // The tenant's log-stream token, not Nexus credentials:
                // log_stream.rs tests what it refuses.
                Some(security) if security == &[json!({"LogStreamToken": []})] => {
                    assert_eq!(path, "/v1/idp_tenants/{idpTenantId}/log-stream");
                }
                Some(security) => {
                    let bearer = json!({"Bearer": [], "ApplicationToken": []});
                    let needs = if security == std::slice::from_ref(&bearer) {
                        Needs::UserToken
                    } else {
                        assert_eq!(
                            security,
                            &[bearer, json!({"Basic": []})],
                            "{method} {path}: Bearer+ApplicationToken, or Basic"
                        );
                        match operation["x-nexus-permission"].as_str() {
                            Some(permission) => Needs::Permission(permission.to_owned()),
                            None => Needs::Credentials,
                        }
                    };
                    operations.push((method, path.clone(), needs));
                }
                None => assert!(
                    ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()),
                    "{method} {path} is open: only health checks and metrics may be"
                ),
            }
        }
    }
    assert!(
        operations.len() >= 50,
        "{} protected operations",
        operations.len()
    );
    operations
}

async fn every_route_checks_credentials_and_permissions(app: TestApp) {
    let operations = protected_operations(&app).await;
    let now = nexus_core::Timestamp::now();
    let expired = create_key(&app.nexus, "read write user.sync", now.plus_seconds(-60)).await;
    let revoked = app.key("read write user.sync").await;
    let revoked_id = revoked.split(':').next().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/v1/api-keys/{revoked_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let unrelated = app.key("unrelated.thing").await;
    let known_id = unrelated.split(':').next().unwrap().to_owned();

    for (method, path, needs) in operations {
        let target = concrete(&path);
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let send = |headers: Vec<(&'static str, String)>| {
            let (method, target, body) = (method.clone(), target.clone(), body.clone());
            let app = &app;
            async move {
                app.request_as(method, &target, &headers, body.as_ref())
                    .await
            }
        };
        let unauthorized: Vec<(&str, Vec<(&'static str, String)>)> = vec![
            ("no credentials", vec![]),
            (
                "malformed header",
                vec![("authorization", "Basic !!not-base64!!".to_owned())],
            ),
            (
                "unknown scheme",
                vec![("authorization", "Digest abc".to_owned())],
            ),
            (
                "unknown key",
                vec![("authorization", basic("nobody:some-secret-value-1234"))],
            ),
            (
                "wrong secret",
                vec![(
                    "authorization",
                    basic(&format!("{known_id}:wrong-secret-value")),
                )],
            ),
            ("expired key", vec![("authorization", basic(&expired))]),
            ("revoked key", vec![("authorization", basic(&revoked))]),
        ];
        for (case, headers) in unauthorized {
            let reply = send(headers).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {method} {path}: {}",
                reply.body
            );
            assert_eq!(reply.content_type, "application/problem+json");
            let challenge = reply
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(
                challenge.contains("Basic") && challenge.contains("Bearer"),
                "{case}: {method} {path}"
            );
            assert!(
                !reply.body.to_string().contains("secret-value"),
                "no secret echoed"
            );
        }
        let permission = match needs {
            Needs::Permission(permission) => permission,
            Needs::Credentials => {
                let allowed = send(vec![("authorization", basic(&unrelated))]).await;
                assert_eq!(
                    allowed.status,
                    StatusCode::OK,
                    "{method} {path}: {}",
                    allowed.body
                );
                assert_eq!(allowed.body["id"], json!(known_id));
                continue;
            }
            Needs::UserToken => {
                // No key is a user, whatever it holds (me.rs sends users).
                for key in [&unrelated, &app.key("read write user.sync").await] {
                    let refused = send(vec![("authorization", basic(key))]).await;
                    assert_problem(&refused, 403, &target);
                    assert_eq!(refused.body["type"], json!("urn:nexus:problem:not-a-user"));
                }
                continue;
            }
        };
        let forbidden = send(vec![("authorization", basic(&unrelated))]).await;
        assert_eq!(
            forbidden.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            forbidden.body
        );
        assert!(forbidden.body["detail"]
            .as_str()
            .unwrap()
            .contains(&permission));

        let holder = app.key(&permission).await;
        let allowed = send(vec![("authorization", basic(&holder))]).await;
        assert!(
            ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&allowed.status),
            "{method} {path} with {permission}: {} {}",
            allowed.status,
            allowed.body
        );
    }
    for open in ["/healthz", "/readyz", "/openapi.json", "/metrics"] {
        let reply = app
            .anonymous
            .get(format!("{}{open}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{open} is open");
    }
    let docs = app
        .anonymous
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
}

async fn api_keys_show_their_secret_once(app: TestApp) {
    let created = app
        .post(
            "/v1/api-keys",
            json!({"description": "the Action", "permissions": "user.sync"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = &created.body;
    assert_eq!(
        keys(key),
        [
            "created",
            "createdBy",
            "credential",
            "description",
            "expiresAt",
            "id",
            "modified",
            "modifiedBy",
            "permissions",
            "revokedAt",
            "roleId",
            "secret"
        ]
    );
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    assert!(secret.len() >= 40, "a high-entropy secret");
    assert_eq!(key["credential"], format!("{id}:{secret}"));
    assert_eq!(key["createdBy"], app.admin_id.as_str());
    let expires = nexus_core::Timestamp::parse(key["expiresAt"].as_str().unwrap()).unwrap();
    let in_a_year = nexus_core::Timestamp::now().plus_days(365);
    assert!(
        expires <= in_a_year && expires > in_a_year.plus_seconds(-60),
        "one year by default"
    );

    let fetched = app.get(&format!("/v1/api-keys/{id}")).await.body;
    assert!(fetched.get("secret").is_none() && fetched.get("credential").is_none());
    let listed = app.get("/v1/api-keys").await.body.to_string();
    assert!(!listed.contains(secret), "lists never show a secret");

    // The key works for what it holds and nothing else.
    let user = app.user().await;
    let sync = app
        .request_as(
            Method::GET,
            &format!("/v1/users/{user}"),
            &[("authorization", basic(&format!("{id}:{secret}")))],
            None,
        )
        .await;
    assert_problem(&sync, 403, &format!("/v1/users/{user}"));

    // Malformed bodies are 400; well-formed ones that name a missing role
    // or a past moment cannot be applied: 422.
    for (body, status, field) in [
        (json!({}), 400, "permissions"),
        (json!({"permissions": "User.Read"}), 400, "permissions"),
        (
            json!({"permissions": "read", "expiresAt": "2001-01-01T00:00:00Z"}),
            422,
            "expiresAt",
        ),
        (
            json!({"permissions": "read", "roleId": "nope"}),
            422,
            "roleId",
        ),
    ] {
        let reply = app.post("/v1/api-keys", body).await;
        assert_problem(&reply, status, "/v1/api-keys");
        assert!(reply.body["errors"][field].is_array(), "{}", reply.body);
        let kind = if status == 400 {
            "validation"
        } else {
            "cannot-apply"
        };
        assert_eq!(reply.body["type"], format!("urn:nexus:problem:{kind}"));
    }

    // A permission no route needs would make a key that can do nothing.
    let listed_before = app.get("/v1/api-keys?$count=true").await.body["@odata.count"].clone();
    let unknown = app
        .post(
            "/v1/api-keys",
            json!({"permissions": "user.sync bogus invoice.read"}),
        )
        .await;
    assert_problem(&unknown, 400, "/v1/api-keys");
    let message = unknown.body["errors"]["permissions"][0].as_str().unwrap();
    assert!(
        message.starts_with("unknown permissions: bogus invoice.read;"),
        "{message}"
    );
    assert!(message.contains("user.sync") && message.contains("customer.mfa.write"));
    assert_eq!(
        app.get("/v1/api-keys?$count=true").await.body["@odata.count"],
        listed_before,
        "nothing was created"
    );
}

async fn revoked_keys_stop_at_once(app: TestApp) {
    let credential = app.key("read").await;
    let id = credential.split(':').next().unwrap();
    let headers = [("authorization", basic(&credential))];
    assert_eq!(
        app.request_as(Method::GET, "/v1/users", &headers, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/v1/api-keys/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let after = app
        .request_as(Method::GET, "/v1/users", &headers, None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert!(after.body["detail"].as_str().unwrap().contains("revoked"));
    assert!(app.get(&format!("/v1/api-keys/{id}")).await.body["revokedAt"].is_string());
    assert_problem(
        &app.delete("/v1/api-keys/nope").await,
        404,
        "/v1/api-keys/nope",
    );
}

async fn verified_keys_are_cached(app: TestApp) {
    let credential = app.key("read").await;
    let id = credential.split(':').next().unwrap().to_owned();
    let headers = [("authorization", basic(&credential))];
    assert_eq!(
        app.request_as(Method::GET, "/v1/users", &headers, None)
            .await
            .status,
        StatusCode::OK
    );
    // Revoked behind the server's back (another replica would do this): the
    // verified key is served from the cache, without a database lookup.
    let mut tx = app.store.begin().await.unwrap();
    let current = nexus_store::api_keys::get_for_update(&mut tx, &id)
        .await
        .unwrap()
        .expect("the key");
    nexus_store::api_keys::revoke(
        &mut tx,
        &current,
        &nexus_core::Actor::system("RevokeApiKey"),
    )
    .await
    .unwrap();
    nexus_store::commit(tx).await.unwrap();
    assert_eq!(
        app.request_as(Method::GET, "/v1/users", &headers, None)
            .await
            .status,
        StatusCode::OK
    );
    // A wrong secret for the same key is not in the cache.
    let wrong = [(
        "authorization",
        basic(&format!("{id}:another-secret-value")),
    )];
    assert_eq!(
        app.request_as(Method::GET, "/v1/users", &wrong, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn role_keys_hold_the_role_permissions(app: TestApp) {
    let role = app
        .post(
            "/v1/roles",
            json!({"name": "auditor", "audience": API_AUDIENCE, "permissions": ["user.read"]}),
        )
        .await
        .body;
    let created = app
        .post("/v1/api-keys", json!({"roleId": role["id"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let headers = [(
        "authorization",
        basic(created.body["credential"].as_str().unwrap()),
    )];
    assert_eq!(
        app.request_as(Method::GET, "/v1/users", &headers, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.request_as(Method::GET, "/v1/roles", &headers, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn sts_clients(app: TestApp) {
    let tenant = app.tenant("batch").await;
    let created = app.post("/v1/sts-clients", json!({"clientId": "batch-job@clients", "idpTenantId": "login.batch.example.com", "description": "nightly", "permissions": "user.read  tenant.read"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        keys(&created.body),
        [
            "clientId",
            "created",
            "createdBy",
            "description",
            "idpTenantId",
            "modified",
            "modifiedBy",
            "permissions"
        ]
    );
    assert_eq!(created.body["clientId"], "batch-job");
    assert_eq!(created.body["idpTenantId"], tenant["id"]);
    for (body, status) in [
        (json!({"clientId": "x", "permissions": "user.read"}), 400),
        (
            json!({"clientId": "x", "idpTenantId": "nowhere", "permissions": "user.read"}),
            422,
        ),
        (
            json!({"clientId": "x", "idpTenantId": "", "permissions": "user.read"}),
            400,
        ),
    ] {
        let field = "idpTenantId";
        let reply = app.post("/v1/sts-clients", body).await;
        assert_problem(&reply, status, "/v1/sts-clients");
        assert!(reply.body["errors"][field].is_array(), "{}", reply.body);
    }
    // A mapping to permissions no route uses would be useless, as for keys.
    let bogus = app
        .post(
            "/v1/sts-clients",
            json!({"clientId": "x", "idpTenantId": "batch", "permissions": "user.read bogus"}),
        )
        .await;
    assert_problem(&bogus, 400, "/v1/sts-clients");
    assert!(bogus.body["errors"]["permissions"][0]
        .as_str()
        .unwrap()
        .starts_with("unknown permissions: bogus;"));
    let by_number = app
        .post("/v1/sts-clients", json!({"clientId": "numbered", "idpTenantId": tenant["id"].to_string(), "permissions": "user.read"}))
        .await;
    assert_eq!(by_number.status, StatusCode::CREATED, "{}", by_number.body);
    app.delete("/v1/sts-clients/numbered").await;
    assert_eq!(created.body["permissions"], "tenant.read user.read");
    assert_problem(
        &app.post(
            "/v1/sts-clients",
            json!({"clientId": "batch-job", "idpTenantId": "batch", "permissions": "read"}),
        )
        .await,
        409,
        "/v1/sts-clients",
    );
    assert_problem(
        &app.post("/v1/sts-clients", json!({"clientId": "x"})).await,
        400,
        "/v1/sts-clients",
    );
    let list = app.get("/v1/sts-clients").await.body;
    assert_eq!(list.as_array().unwrap().len(), 1, "a bare array");
    assert_eq!(
        app.get("/v1/sts-clients/batch-job@clients").await.body["clientId"],
        "batch-job"
    );
    assert_eq!(
        app.delete("/v1/sts-clients/batch-job").await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.get("/v1/sts-clients/batch-job").await,
        404,
        "/v1/sts-clients/batch-job",
    );
}

/// HEAD answers what GET would, without the body, and needs what GET needs;
/// where GET is not served it is 405.
async fn head_is_get_without_a_body(app: TestApp) {
    let user = app.user().await;
    let head = |client: &reqwest::Client, path: String| {
        let request = client.head(format!("{}{path}", app.base));
        async move { request.send().await.expect("HEAD sent") }
    };
    for path in [
        "/healthz".to_owned(),
        "/openapi.json".to_owned(),
        format!("/v1/users/{user}"),
    ] {
        let get = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let get_type = get.headers()["content-type"].clone();
        assert_eq!(get.status(), StatusCode::OK, "GET {path}");
        let reply = head(&app.client, path.clone()).await;
        assert_eq!(reply.status(), StatusCode::OK, "HEAD {path}");
        assert_eq!(reply.headers()["content-type"], get_type, "HEAD {path}");
        assert!(
            reply.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
    let anonymous = head(&app.anonymous, format!("/v1/users/{user}")).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let narrow = app.key("tenant.read").await;
    let forbidden = app
        .anonymous
        .head(format!("{}/v1/users", app.base))
        .header("authorization", basic(&narrow))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let not_served = head(&app.client, format!("/v1/users/{user}/$sync")).await;
    assert_eq!(not_served.status(), StatusCode::METHOD_NOT_ALLOWED);
}
