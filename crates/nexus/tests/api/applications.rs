use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::products::product;
use crate::support::{assert_problem, basic, both_backends, keys, TestApp};

both_backends!(
    application_create_and_get,
    application_list_patch_delete,
    application_errors,
    racing_for_one_client,
    racing_for_one_application_name,
    application_permissions,
);

async fn tenant_id(app: &TestApp, name: &str) -> i64 {
    app.tenant(name).await["id"].as_i64().unwrap()
}

async fn product_id(app: &TestApp, name: &str) -> i64 {
    product(app, name).await["id"].as_i64().unwrap()
}

/// Creates an application; its body.
pub async fn application(app: &TestApp, product: i64, name: &str, clients: Value) -> Value {
    let reply = app
        .post(
            "/v1/applications",
            json!({"productId": product, "name": name, "displayName": name, "clients": clients}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn application_create_and_get(app: TestApp) {
    let us = tenant_id(&app, "us-1").await;
    let eu = tenant_id(&app, "eu-1").await;
    let ledger = product_id(&app, "ledger").await;
    let created = app
        .post(
            "/v1/applications",
            json!({"productId": ledger, "name": "web", "displayName": "Ledger Web",
                "description": "The browser app", "isActive": false,
                "clients": [{"idpTenantId": us, "clientId": "web-us"}, {"idpTenantId": eu, "clientId": "web_EU-1"}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        keys(&created.body),
        [
            "clients",
            "created",
            "createdBy",
            "description",
            "displayName",
            "id",
            "isActive",
            "modified",
            "modifiedBy",
            "name",
            "productId"
        ]
    );
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/applications/{id}").as_str()
    );
    assert_eq!(created.body["productId"], ledger);
    assert_eq!(created.body["isActive"], false);
    assert_eq!(created.body["description"], "The browser app");
    assert_eq!(created.body["createdBy"], app.admin_id.as_str());
    let mut clients = vec![
        json!({"idpTenantId": us, "clientId": "web-us"}),
        json!({"idpTenantId": eu, "clientId": "web_EU-1"}),
    ];
    clients.sort_by_key(|c| c["idpTenantId"].as_i64());
    assert_eq!(created.body["clients"], json!(clients));
    let read = app.get(&format!("/v1/applications/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body, created.body);

    // The product answers its applications, by name.
    let api = application(&app, ledger, "api", json!([])).await;
    assert_eq!(api["isActive"], true);
    assert_eq!(api["clients"], json!([]));
    assert_eq!(api["description"], Value::Null);
    let product = app.get(&format!("/v1/products/{ledger}")).await.body;
    assert_eq!(product["applications"], json!([api, read.body]));
    let listed = app.get("/v1/products").await.body;
    assert_eq!(listed["value"][0]["applications"], product["applications"]);

    for missing in ["999999", "web", "0"] {
        let path = format!("/v1/applications/{missing}");
        assert_problem(&app.get(&path).await, 404, &path);
    }
}

async fn application_list_patch_delete(app: TestApp) {
    let tenant = tenant_id(&app, "us-1").await;
    let other_tenant = tenant_id(&app, "eu-1").await;
    let ledger = product_id(&app, "ledger").await;
    let till = product_id(&app, "till").await;
    let web = application(
        &app,
        ledger,
        "web",
        json!([{"idpTenantId": tenant, "clientId": "w1"}]),
    )
    .await;
    application(&app, ledger, "api", json!([])).await;
    application(&app, till, "web", json!([])).await;

    let all = app
        .get("/v1/applications?$count=true&$orderby=name,productId")
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["@odata.count"], 3);
    let of_ledger = app
        .get(&format!(
            "/v1/applications?$filter=productId eq {ledger}&$orderby=name"
        ))
        .await;
    let names: Vec<&str> = of_ledger.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"], "{}", of_ledger.body);
    assert_eq!(of_ledger.body["value"][1]["clients"], web["clients"]);
    let page = app.get("/v1/applications?$top=2").await;
    let next = page.body["@odata.nextLink"].as_str().expect("a next link");
    assert_eq!(
        app.get(next).await.body["value"].as_array().unwrap().len(),
        1
    );

    // PATCH replaces the clients; absent fields stay; null clears the description.
    let id = web["id"].as_i64().unwrap();
    let path = format!("/v1/applications/{id}");
    let patched = app
        .patch(
            &path,
            json!({"description": "d", "clients": [
                {"idpTenantId": other_tenant, "clientId": "w2"},
                {"idpTenantId": tenant, "clientId": "w1"}]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["description"], "d");
    assert_eq!(patched.body["name"], "web");
    let mut expected = vec![
        json!({"idpTenantId": tenant, "clientId": "w1"}),
        json!({"idpTenantId": other_tenant, "clientId": "w2"}),
    ];
    expected.sort_by_key(|c| c["idpTenantId"].as_i64());
    assert_eq!(patched.body["clients"], json!(expected));
    assert_eq!(app.get(&path).await.body, patched.body);
    // The same clients in another order change nothing.
    expected.reverse();
    let same = app
        .patch(&path, json!({"clients": expected, "name": null}))
        .await;
    assert_eq!(
        same.body["modified"], patched.body["modified"],
        "{}",
        same.body
    );
    let cleared = app
        .patch(
            &path,
            json!({"description": null, "clients": [], "isActive": false, "displayName": "W"}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["description"], Value::Null);
    assert_eq!(cleared.body["clients"], json!([]));
    assert_eq!(cleared.body["isActive"], false);
    assert_eq!(cleared.body["displayName"], "W");
    // A freed client can run another application.
    application(
        &app,
        till,
        "pos",
        json!([{"idpTenantId": tenant, "clientId": "w1"}]),
    )
    .await;
    // Renamed to another application's name of the same product: 409; of
    // another product's: fine.
    let clash = app.patch(&path, json!({"name": "API"})).await;
    assert_problem(&clash, 409, &path);
    assert!(clash.body["detail"].as_str().unwrap().contains("API"));
    let renamed = app.patch(&path, json!({"name": "pos"})).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_problem(
        &app.patch("/v1/applications/999999", json!({})).await,
        404,
        "/v1/applications/999999",
    );
    let moved = app.patch(&path, json!({"productId": till})).await;
    assert_problem(&moved, 400, &path);

    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'application'&$count=true")
        .await;
    // Four created, three changes that changed something, one deleted.
    assert_eq!(events.body["@odata.count"], 8, "{}", events.body);
    // Deleting the tenant takes its clients off the applications.
    let pos = app
        .get(&format!(
            "/v1/applications?$filter=productId eq {till} and name eq 'pos'"
        ))
        .await;
    assert_eq!(pos.body["value"][0]["clients"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.delete(&format!("/v1/idp_tenants/{tenant}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let pos = app
        .get(&format!(
            "/v1/applications?$filter=productId eq {till} and name eq 'pos'"
        ))
        .await;
    assert_eq!(pos.body["value"][0]["clients"], json!([]));
}

async fn application_errors(app: TestApp) {
    let tenant = tenant_id(&app, "us-1").await;
    let ledger = product_id(&app, "ledger").await;
    let till = product_id(&app, "till").await;
    let base = || json!({"productId": ledger, "name": "web", "displayName": "Web"});
    let with = |field: &str, value: Value| {
        let mut body = base();
        body[field] = value;
        body
    };
    let client = |id: &str| json!({"idpTenantId": tenant, "clientId": id});
    let fifty: Vec<Value> = (0..50).map(|i| client(&format!("c{i}"))).collect();
    let mut fifty_one = fifty.clone();
    fifty_one.push(client("c50"));
    for (body, field) in [
        (json!({"name": "web", "displayName": "Web"}), "productId"),
        (json!({"productId": ledger, "displayName": "Web"}), "name"),
        (json!({"productId": ledger, "name": "web"}), "displayName"),
        (with("name", json!("n".repeat(101))), "name"),
        (with("name", json!("")), "name"),
        (with("displayName", json!("d".repeat(251))), "displayName"),
        (with("description", json!("d".repeat(1001))), "description"),
        (with("clients", json!(fifty_one)), "clients"),
        (
            with("clients", json!([client("a"), client("a")])),
            "clients",
        ),
        (
            with("clients", json!([client("a b")])),
            "clients[0].clientId",
        ),
        (
            with("clients", json!([client(&"c".repeat(65))])),
            "clients[0].clientId",
        ),
        (with("clients", json!([client("")])), "clients[0].clientId"),
    ] {
        let reply = app.post("/v1/applications", body.clone()).await;
        assert_problem(&reply, 400, "/v1/applications");
        assert_eq!(keys(&reply.body["errors"]), [field], "{body}");
    }
    for body in [
        with("clients", json!([{"idpTenantId": tenant}])),
        with("clients", json!([{"idpTenantId": "us-1", "clientId": "a"}])),
        with(
            "clients",
            json!([{"idpTenantId": tenant, "clientId": "a", "x": 1}]),
        ),
        with("owner", json!("me")),
    ] {
        assert_problem(
            &app.post("/v1/applications", body).await,
            400,
            "/v1/applications",
        );
    }
    // At the limits.
    let edges = app
        .post(
            "/v1/applications",
            json!({"productId": ledger, "name": "n".repeat(100), "displayName": "d".repeat(250),
                "description": "x".repeat(1000), "clients": fifty}),
        )
        .await;
    assert_eq!(edges.status, StatusCode::CREATED, "{}", edges.body);
    assert_eq!(edges.body["clients"].as_array().unwrap().len(), 50);
    let long_id = app
        .post(
            "/v1/applications",
            json!({"productId": ledger, "name": "long", "displayName": "x", "clients": [client(&"c".repeat(64))]}),
        )
        .await;
    assert_eq!(long_id.status, StatusCode::CREATED, "{}", long_id.body);

    // Facts about the data: 422.
    let unknown_product = app
        .post("/v1/applications", with("productId", json!(999_999)))
        .await;
    assert_problem(&unknown_product, 422, "/v1/applications");
    assert_eq!(keys(&unknown_product.body["errors"]), ["productId"]);
    let unknown_tenant = app
        .post(
            "/v1/applications",
            with(
                "clients",
                json!([client("ok"), {"idpTenantId": 999_999, "clientId": "x"}]),
            ),
        )
        .await;
    assert_problem(&unknown_tenant, 422, "/v1/applications");
    assert_eq!(
        keys(&unknown_tenant.body["errors"]),
        ["clients[1].idpTenantId"]
    );

    // Conflicts: 409.
    let web = application(&app, ledger, "web", json!([client("web-client")])).await;
    let name_taken = app
        .post("/v1/applications", with("name", json!("WEB")))
        .await;
    assert_problem(&name_taken, 409, "/v1/applications");
    // The name is unique within its product only.
    application(&app, till, "WEB", json!([])).await;
    let client_taken = app
        .post(
            "/v1/applications",
            json!({"productId": till, "name": "pos", "displayName": "x",
                "clients": [client("free"), client("web-client")]}),
        )
        .await;
    assert_problem(&client_taken, 409, "/v1/applications");
    let detail = client_taken.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("'web'") && detail.contains(&format!("id {}", web["id"])),
        "{detail}"
    );
    // One client id in another tenant is another client.
    let other = tenant_id(&app, "eu-1").await;
    let elsewhere = app
        .post(
            "/v1/applications",
            json!({"productId": till, "name": "pos", "displayName": "x",
                "clients": [{"idpTenantId": other, "clientId": "web-client"}]}),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.body);
    // PATCH: taking another application's client, an unknown tenant.
    let pos_path = format!("/v1/applications/{}", elsewhere.body["id"]);
    let take = app
        .patch(&pos_path, json!({"clients": [client("web-client")]}))
        .await;
    assert_problem(&take, 409, &pos_path);
    assert!(take.body["detail"].as_str().unwrap().contains("'web'"));
    let nowhere = app
        .patch(
            &pos_path,
            json!({"clients": [{"idpTenantId": 999_999, "clientId": "x"}]}),
        )
        .await;
    assert_problem(&nowhere, 422, &pos_path);
    assert_eq!(keys(&nowhere.body["errors"]), ["clients[0].idpTenantId"]);
    let kept = app.get(&pos_path).await.body;
    assert_eq!(
        kept["clients"], elsewhere.body["clients"],
        "nothing was changed"
    );
    let count = app.get("/v1/applications?$count=true").await;
    assert_eq!(count.body["@odata.count"], 5, "{}", count.body);
    // Deleting a deployed application is refused (409) too; no deployment
    // can be made through the API here yet, so that case is not run.
}

async fn racing_for_one_client(app: TestApp) {
    let tenant = tenant_id(&app, "us-1").await;
    let ledger = product_id(&app, "ledger").await;
    for round in 0..10 {
        let client = json!([{"idpTenantId": tenant, "clientId": format!("client-{round}")}]);
        let body = |name: String| json!({"productId": ledger, "name": name, "displayName": "x", "clients": client});
        let (a, b) = tokio::join!(
            app.post("/v1/applications", body(format!("a-{round}"))),
            app.post("/v1/applications", body(format!("b-{round}")))
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let (winner, loser) = if a.status == 201 { (&a, &b) } else { (&b, &a) };
        let detail = loser.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("'{}'", winner.body["name"].as_str().unwrap())),
            "{detail}"
        );
    }
    // Two changes racing to take one client from nobody.
    for round in 0..5 {
        let first = application(&app, ledger, &format!("first-{round}"), json!([])).await;
        let second = application(&app, ledger, &format!("second-{round}"), json!([])).await;
        let clients =
            json!({"clients": [{"idpTenantId": tenant, "clientId": format!("moved-{round}")}]});
        let (first, second) = (
            format!("/v1/applications/{}", first["id"]),
            format!("/v1/applications/{}", second["id"]),
        );
        let (a, b) = tokio::join!(
            app.patch(&first, clients.clone()),
            app.patch(&second, clients.clone())
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    }
    let all = app.get("/v1/applications?$count=true&$top=1000").await;
    let clients: usize = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["clients"].as_array().unwrap().len())
        .sum();
    assert_eq!(clients, 15, "one application per client");
}

async fn racing_for_one_application_name(app: TestApp) {
    let ledger = product_id(&app, "ledger").await;
    for round in 0..10 {
        let name = format!("app-{round}");
        let (a, b) = tokio::join!(
            app.post(
                "/v1/applications",
                json!({"productId": ledger, "name": name, "displayName": "a"})
            ),
            app.post(
                "/v1/applications",
                json!({"productId": ledger, "name": name.to_uppercase(), "displayName": "b"})
            )
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    }
    let all = app.get("/v1/applications?$count=true").await;
    assert_eq!(all.body["@odata.count"], 10);
}

async fn application_permissions(app: TestApp) {
    let ledger = product_id(&app, "ledger").await;
    let web = application(&app, ledger, "web", json!([])).await;
    let path = format!("/v1/applications/{}", web["id"]);
    let reader = app.key("application.read").await;
    let send = |key: String, method: Method, target: String, body: Option<Value>| {
        let app = &app;
        async move {
            app.request_as(
                method,
                &target,
                &[("authorization", basic(&key))],
                body.as_ref(),
            )
            .await
        }
    };
    assert_eq!(
        send(reader.clone(), Method::GET, path.clone(), None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(reader.clone(), Method::GET, "/v1/applications".into(), None)
            .await
            .status,
        200
    );
    let new = json!({"productId": ledger, "name": "x", "displayName": "x"});
    for (method, target, body) in [
        (
            Method::POST,
            "/v1/applications".to_owned(),
            Some(new.clone()),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"displayName": "x"})),
        ),
        (Method::DELETE, path.clone(), None),
    ] {
        let reply = send(reader.clone(), method, target.clone(), body).await;
        assert_problem(&reply, 403, &target);
    }
    // product.write does not write applications.
    let product_writer = app.key("product.write product.read").await;
    let refused = send(
        product_writer,
        Method::POST,
        "/v1/applications".into(),
        Some(new.clone()),
    )
    .await;
    assert_problem(&refused, 403, "/v1/applications");
    let writer = app.key("application.write").await;
    let created = send(writer, Method::POST, "/v1/applications".into(), Some(new)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.get(&path).await.body["displayName"], "web");
}
