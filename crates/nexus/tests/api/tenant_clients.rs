//! The tenant's applications, read from the simulated Auth0: the list with
//! each option and its envelope, the Client shape, who sees which
//! application (owners by user and by role), enabling and disabling an
//! application on a connection (which changes who can sign in), and the
//! refusals.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sim_tenant::{
    access_token, fail, linked_user, recover, sign_in, tenant, Tenant, SEEDED_PASSWORD,
};
use crate::support::{assert_problem, basic, both_backends, TestApp, API_AUDIENCE};

both_backends!(
    the_list_answers_each_option_and_the_client_shape,
    client_read_sees_only_the_callers_applications,
    a_connection_enables_and_disables_an_application,
    without_credentials_or_auth0_nothing_is_read,
);

const CLIENTS: &str = "/v1/tenants/sim/clients";

/// Seeds an application in the simulator.
async fn application(tenant: &Tenant, id: &str, name: &str, metadata: Value, settings: Value) {
    let mut body = json!({"client_id": id, "client_secret": format!("{id}-secret-value"), "name": name,
        "client_metadata": metadata});
    for (key, value) in settings.as_object().unwrap() {
        body[key] = value.clone();
    }
    let seeded = reqwest::Client::new()
        .post(format!("{}/__sim/clients", tenant.sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), StatusCode::NO_CONTENT);
}

fn ids(reply: &Value) -> Vec<&str> {
    reply["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

async fn list_as(app: &TestApp, credential: &str, query: &str) -> Value {
    let headers = [("authorization", basic(credential))];
    let reply = app
        .request_as(Method::GET, &format!("{CLIENTS}{query}"), &headers, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

async fn the_list_answers_each_option_and_the_client_shape(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    application(
        &tenant,
        "app-portal",
        "Customer Portal",
        json!({"app_upn_key": "rdp", "owners": "u-1, developers", "product_name": "Portal",
            "application_name": "portal-web", "manually_created": "true"}),
        json!({"app_type": "regular_web", "callbacks": ["https://portal.example.com/cb"],
            "allowed_logout_urls": ["https://portal.example.com/"], "web_origins": ["https://portal.example.com"],
            "allowed_origins": ["https://cdn.example.com"], "grant_types": ["authorization_code", "refresh_token"],
            "logo_uri": "https://portal.example.com/logo.png", "token_endpoint_auth_method": "client_secret_post",
            "cross_origin_authentication": true, "jwt_configuration": {"lifetime_in_seconds": 3600},
            "mobile": {"ios": {"team_id": "TEAM", "app_bundle_identifier": "com.example.portal"}},
            "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 10,
                "token_lifetime": 86400, "infinite_token_lifetime": false, "idle_token_lifetime": 3600,
                "infinite_idle_token_lifetime": true}}),
    )
    .await;
    application(
        &tenant,
        "app-billing",
        "Billing",
        json!({}),
        json!({"app_type": "spa"}),
    )
    .await;
    application(&tenant, "app-admin", "Admin Console", json!({}), json!({})).await;

    let all = app.get(CLIENTS).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(
        ids(&all.body),
        [
            "app-admin",
            "app-billing",
            "app-portal",
            auth0_sim::DEFAULT_CLIENT_ID
        ]
    );
    assert_eq!(
        all.body["@odata.context"],
        "/v1/$metadata#tenants('sim')/clients"
    );
    assert!(all.body.get("@odata.count").is_none() && all.body.get("@odata.nextLink").is_none());
    let portal = all.body["value"][2].clone();
    assert_eq!(
        portal,
        json!({"id": "app-portal", "name": "Customer Portal", "type": "regular_web",
            "mobile": {"ios": {"teamId": "TEAM", "appBundleIdentifier": "com.example.portal"}, "android": null},
            "owners": ["u-1", "developers"], "secret": null, "logoUrl": "https://portal.example.com/logo.png",
            "grantTypes": ["authorization_code", "refresh_token"], "productName": "Portal",
            "callbackUrls": ["https://portal.example.com/cb"], "client_upn_key": "rdp",
            "applicationName": "portal-web", "manuallyCreated": true, "clientAuthMethod": "client_secret_post",
            "allowedLogoutUrls": ["https://portal.example.com/"], "allowedWebOrigins": ["https://portal.example.com"],
            "allowedCorsOrigins": ["https://cdn.example.com"], "idTokenExpiration": 3600,
            "refreshTokenReuseInterval": 10, "refreshTokenAbsoluteLifetime": 86400,
            "refreshTokenInactivityLifetime": 3600, "isRefreshTokenRotationEnabled": true,
            "isRefreshTokenAbsoluteExpirationEnabled": true, "isRefreshTokenInactivityLifetimeEnabled": false,
            "allowCrossOriginAuthentication": true})
    );
    assert!(
        !all.body.to_string().contains("-secret-value"),
        "no secret is ever answered"
    );

    // $count, $top with the next link (followed to the end), $skip.
    let counted = app.get(&format!("{CLIENTS}?$count=true&$top=3")).await.body;
    assert_eq!(counted["@odata.count"], 4);
    assert_eq!(ids(&counted), ["app-admin", "app-billing", "app-portal"]);
    let next = counted["@odata.nextLink"].as_str().unwrap();
    assert_eq!(next, format!("{CLIENTS}?$count=true&$top=3&$skip=3"));
    let last = app.get(next).await.body;
    assert_eq!(ids(&last), [auth0_sim::DEFAULT_CLIENT_ID]);
    assert!(last.get("@odata.nextLink").is_none());
    assert_eq!(
        ids(&app.get(&format!("{CLIENTS}?$skip=1&$top=1")).await.body),
        ["app-billing"]
    );

    // $orderby (NULL after every value), $search, $select.
    let by_name = app.get(&format!("{CLIENTS}?$orderby=name desc")).await.body;
    assert_eq!(
        ids(&by_name),
        [
            auth0_sim::DEFAULT_CLIENT_ID,
            "app-portal",
            "app-billing",
            "app-admin"
        ]
    );
    let by_key = app
        .get(&format!("{CLIENTS}?$orderby=client_upn_key,id desc"))
        .await
        .body;
    assert_eq!(ids(&by_key)[0], "app-portal");
    let found = app.get(&format!("{CLIENTS}?$search=PORTAL")).await.body;
    assert_eq!(ids(&found), ["app-portal"]);
    let selected = app
        .get(&format!(
            "{CLIENTS}?$select=id,client_upn_key&$search=portal"
        ))
        .await
        .body;
    assert_eq!(
        selected["value"],
        json!([{"id": "app-portal", "client_upn_key": "rdp"}])
    );
    assert_eq!(
        selected["@odata.context"],
        "/v1/$metadata#tenants('sim')/clients(id,client_upn_key)"
    );

    // Options the list refuses.
    for (query, field) in [
        ("$filter=name eq 'x'", "$filter"),
        ("$skiptoken=abc", "$skiptoken"),
        ("$select=secretive", "$select"),
        ("$select=", "$select"),
        ("$orderby=owners", "$orderby"),
        ("$top=1001", "$top"),
        ("$count=maybe", "$count"),
    ] {
        let refused = app.get(&format!("{CLIENTS}?{query}")).await;
        assert_problem(&refused, 400, CLIENTS);
        assert!(
            refused.body["errors"][field].is_array(),
            "{query}: {}",
            refused.body
        );
    }

    // The tenant by id, Auth0 tenant name and login domain; an unknown one.
    let tenant_id = app.get("/v1/idp_tenants/sim").await.body["id"].clone();
    let patched = app
        .patch(
            "/v1/idp_tenants/sim",
            json!({"loginDomain": "login.sim.example.com"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    for reference in [
        tenant_id.to_string(),
        "eci-sim".into(),
        "login.sim.example.com".into(),
    ] {
        let reply = app
            .get(&format!("/v1/tenants/{reference}/clients?$top=1"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reference}: {}", reply.body);
        assert_eq!(ids(&reply.body), ["app-admin"], "{reference}");
    }
    let unknown = app.get("/v1/tenants/nowhere/clients").await;
    assert_problem(&unknown, 404, "/v1/tenants/nowhere/clients");
}

async fn client_read_sees_only_the_callers_applications(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let role = |name: &str| json!({"name": name, "audience": API_AUDIENCE, "permissions": ["client.read"]});
    let developers = app.post("/v1/roles", role("developers")).await.body;
    let testers = app.post("/v1/roles", role("testers")).await.body;
    let readers = app.post("/v1/roles", role("readers")).await.body;
    let (user, _) = linked_user(&app, &tenant, "owner@example.com").await;
    let assigned = app
        .put(
            &format!("/v1/users/{user}/roles"),
            json!({"value": [readers["id"]]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);

    application(
        &tenant,
        "by-role-name",
        "A",
        json!({"owners": "developers"}),
        json!({}),
    )
    .await;
    let by_id = format!("x,{}", testers["id"].as_str().unwrap());
    application(
        &tenant,
        "by-role-id",
        "B",
        json!({"owners": by_id}),
        json!({}),
    )
    .await;
    application(
        &tenant,
        "by-user",
        "C",
        json!({"owners": format!(" {user} ")}),
        json!({}),
    )
    .await;
    application(&tenant, "nobodys", "D", json!({}), json!({})).await;

    // A key with a role: the applications its role owns, by name.
    let key_of_role = |role: &Value| {
        let role = role["id"].clone();
        let app = &app;
        async move {
            let created = app.post("/v1/api-keys", json!({"roleId": role})).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            created.body["credential"].as_str().unwrap().to_owned()
        }
    };
    let developer = key_of_role(&developers).await;
    assert_eq!(ids(&list_as(&app, &developer, "").await), ["by-role-name"]);
    let tester = key_of_role(&testers).await;
    assert_eq!(ids(&list_as(&app, &tester, "").await), ["by-role-id"]);
    // A key without a role is no owner.
    let bare = app.key("client.read").await;
    assert_eq!(
        list_as(&app, &bare, "?$count=true").await["@odata.count"],
        0
    );

    // A user's token: the applications that name the user (its role owns none).
    let token = access_token(
        &tenant,
        "owner@example.com",
        SEEDED_PASSWORD,
        API_AUDIENCE,
        "openid",
    )
    .await;
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("applicationtoken", app.key("client.read").await),
    ];
    let mine = app.request_as(Method::GET, CLIENTS, &headers, None).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(ids(&mine.body), ["by-user"]);

    // Everything with client.read.all or a bare read.
    let everything = [
        "by-role-id",
        "by-role-name",
        "by-user",
        auth0_sim::DEFAULT_CLIENT_ID,
        "nobodys",
    ];
    for permissions in ["client.read.all", "read"] {
        let key = app.key(permissions).await;
        assert_eq!(
            ids(&list_as(&app, &key, "").await),
            everything,
            "{permissions}"
        );
    }
    let other = app.key("user.read client.write").await;
    let refused = app
        .request_as(
            Method::GET,
            CLIENTS,
            &[("authorization", basic(&other))],
            None,
        )
        .await;
    assert_problem(&refused, 403, CLIENTS);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("client.read.all"));
}

async fn a_connection_enables_and_disables_an_application(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    application(
        &tenant,
        "app-portal",
        "Portal",
        json!({"owners": "developers"}),
        json!({}),
    )
    .await;
    application(&tenant, "app-other", "Other", json!({}), json!({})).await;
    let connection = auth0_sim::DEFAULT_CONNECTION_ID;
    let path = format!("/v1/tenants/sim/connections/{connection}/clients");
    let enabled = || tenant.auth0.all_connection_clients(connection);

    let on = app
        .patch(&path, json!({"clientId": "app-portal", "enabled": true}))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(
        on.body,
        json!({"connectionId": connection, "clientId": "app-portal", "enabled": true})
    );
    assert_eq!(
        enabled().await.unwrap(),
        [auth0_sim::DEFAULT_CLIENT_ID, "app-portal"]
    );
    let again = app
        .patch(&path, json!({"clientId": "app-portal", "enabled": true}))
        .await;
    assert_eq!((again.status, &again.body), (StatusCode::OK, &on.body));
    let off = app
        .patch(&path, json!({"clientId": "app-portal", "enabled": false}))
        .await;
    assert_eq!(off.body["enabled"], false, "{}", off.body);
    assert_eq!(enabled().await.unwrap(), [auth0_sim::DEFAULT_CLIENT_ID]);

    // The connection then signs no one in to an application disabled on it.
    linked_user(&app, &tenant, "ada@example.com").await;
    assert_eq!(
        sign_in(&tenant, "ada@example.com", SEEDED_PASSWORD).await,
        200
    );
    let default = auth0_sim::DEFAULT_CLIENT_ID;
    let off = app
        .patch(&path, json!({"clientId": default, "enabled": false}))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        sign_in(&tenant, "ada@example.com", SEEDED_PASSWORD).await,
        403
    );
    let on = app
        .patch(&path, json!({"clientId": default, "enabled": true}))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(
        sign_in(&tenant, "ada@example.com", SEEDED_PASSWORD).await,
        200
    );

    // client.write: only the caller's own applications.
    let developers = app
        .post(
            "/v1/roles",
            json!({"name": "developers", "audience": API_AUDIENCE, "permissions": ["client.write"]}),
        )
        .await
        .body;
    let key = app
        .post("/v1/api-keys", json!({"roleId": developers["id"]}))
        .await
        .body;
    let writer = [("authorization", basic(key["credential"].as_str().unwrap()))];
    let body = |client: &str| json!({"clientId": client, "enabled": true});
    let refused = app
        .request_as(Method::PATCH, &path, &writer, Some(&body("app-other")))
        .await;
    assert_problem(&refused, 403, &path);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("client.write.all"));
    assert_eq!(enabled().await.unwrap(), [auth0_sim::DEFAULT_CLIENT_ID]);
    let owned = app
        .request_as(Method::PATCH, &path, &writer, Some(&body("app-portal")))
        .await;
    assert_eq!(owned.status, StatusCode::OK, "{}", owned.body);
    assert!(enabled().await.unwrap().contains(&"app-portal".to_owned()));
    let bare = [("authorization", basic(&app.key("client.write").await))];
    let refused = app
        .request_as(Method::PATCH, &path, &bare, Some(&body("app-portal")))
        .await;
    assert_problem(&refused, 403, &path);

    // What is not there, and bodies that say too little.
    for (target, body) in [
        (
            "/v1/tenants/sim/connections/con_nothere/clients".to_owned(),
            body("app-portal"),
        ),
        (
            "/v1/tenants/sim/connections/not-a-connection/clients".to_owned(),
            body("app-portal"),
        ),
        (path.clone(), body("no-such-app")),
        (
            "/v1/tenants/nowhere/connections/con_x/clients".to_owned(),
            body("app-portal"),
        ),
    ] {
        let missing = app.patch(&target, body).await;
        assert_problem(&missing, 404, &target);
    }
    for (body, field) in [
        (json!({"enabled": true}), "clientId"),
        (json!({"clientId": "", "enabled": true}), "clientId"),
        (json!({"clientId": "app-portal"}), "enabled"),
    ] {
        let refused = app.patch(&path, body.clone()).await;
        assert_problem(&refused, 400, &path);
        assert!(
            refused.body["errors"][field].is_array(),
            "{body}: {}",
            refused.body
        );
    }
}

async fn without_credentials_or_auth0_nothing_is_read(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let bare = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "bare", "azoTenantName": "eci-bare", "fqdn": "bare.us.auth0.com"}),
        )
        .await;
    assert_eq!(bare.status, StatusCode::CREATED, "{}", bare.body);
    let listed = app.get("/v1/tenants/bare/clients").await;
    assert_problem(&listed, 409, "/v1/tenants/bare/clients");
    let path = "/v1/tenants/bare/connections/con_x/clients";
    let patched = app
        .patch(path, json!({"clientId": "a", "enabled": true}))
        .await;
    assert_problem(&patched, 409, path);

    fail(&tenant, &["GET", "PATCH"]).await;
    let down = app.get(CLIENTS).await;
    assert_problem(&down, 503, CLIENTS);
    let path = format!(
        "/v1/tenants/sim/connections/{}/clients",
        auth0_sim::DEFAULT_CONNECTION_ID
    );
    let body = json!({"clientId": auth0_sim::DEFAULT_CLIENT_ID, "enabled": false});
    let down = app.patch(&path, body.clone()).await;
    assert_problem(&down, 503, &path);
    recover(&tenant).await;
    let enabled = tenant
        .auth0
        .all_connection_clients(auth0_sim::DEFAULT_CONNECTION_ID)
        .await
        .unwrap();
    assert_eq!(
        enabled,
        [auth0_sim::DEFAULT_CLIENT_ID],
        "nothing was changed"
    );
}
