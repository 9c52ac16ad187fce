use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, keys, schema_object, TestApp};

both_backends!(
    product_create_and_get,
    product_list_patch_delete,
    product_errors,
    product_developers_role,
    racing_for_one_product_name,
    product_permissions,
    the_document_states_the_body_rules,
);

/// Creates a product; its body.
pub async fn product(app: &TestApp, name: &str) -> Value {
    let reply = app
        .post(
            "/v1/products",
            json!({"name": name, "displayName": format!("{name} product")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn product_create_and_get(app: TestApp) {
    let maker = app.organization("maker").await["id"].as_i64().unwrap();
    let created = app
        .post(
            "/v1/products",
            json!({
                "name": "Ledger", "displayName": "Ledger", "url": "https://ledger.example.com/",
                "metadata": {"tier": "gold", "limits": {"seats": 5}}, "publicMetadata": {"icon": "l.png"},
                "longDescription": "Books.", "organizationId": maker, "isActive": false,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        keys(&created.body),
        [
            "applications",
            "created",
            "createdBy",
            "displayName",
            "id",
            "isActive",
            "longDescription",
            "metadata",
            "modified",
            "modifiedBy",
            "name",
            "organizationId",
            "publicMetadata",
            "subscriptions",
            "url"
        ]
    );
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/products/{id}").as_str()
    );
    assert_eq!(created.body["name"], "Ledger");
    assert_eq!(created.body["url"], "https://ledger.example.com/");
    assert_eq!(created.body["isActive"], false);
    assert_eq!(
        created.body["metadata"],
        json!({"tier": "gold", "limits": {"seats": 5}})
    );
    assert_eq!(created.body["publicMetadata"], json!({"icon": "l.png"}));
    assert_eq!(created.body["organizationId"], maker);
    assert_eq!(created.body["applications"], json!([]));
    assert_eq!(created.body["subscriptions"], json!([]));
    assert_eq!(created.body["createdBy"], app.admin_id.as_str());
    assert_eq!(created.body["modifiedBy"], app.admin_id.as_str());

    let read = app.get(&format!("/v1/products/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body, created.body);

    // Defaults.
    let plain = product(&app, "plain").await;
    assert_eq!(plain["isActive"], true);
    assert_eq!(plain["metadata"], json!({}));
    assert_eq!(plain["publicMetadata"], json!({}));
    assert_eq!(plain["url"], Value::Null);
    assert_eq!(plain["longDescription"], Value::Null);
    assert_eq!(plain["organizationId"], Value::Null);

    // `$select` and `$expand`.
    let selected = app
        .get(&format!(
            "/v1/products/{id}?$select=name,url&$expand=subscriptions"
        ))
        .await;
    assert_eq!(selected.status, StatusCode::OK, "{}", selected.body);
    assert_eq!(keys(&selected.body), ["name", "subscriptions", "url"]);
    let bad = app.get(&format!("/v1/products/{id}?$expand=owners")).await;
    assert_problem(&bad, 400, &format!("/v1/products/{id}"));

    for missing in ["999999", "ledger", "0"] {
        let path = format!("/v1/products/{missing}");
        assert_problem(&app.get(&path).await, 404, &path);
    }
}

async fn product_list_patch_delete(app: TestApp) {
    let mut ids = Vec::new();
    for name in ["c-prod", "a-prod", "b-prod"] {
        ids.push(product(&app, name).await["id"].as_i64().unwrap());
    }
    let listed = app.get("/v1/products?$orderby=name&$count=true").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["@odata.count"], 3);
    let names: Vec<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-prod", "b-prod", "c-prod"]);
    let page = app.get("/v1/products?$orderby=name&$top=2").await;
    assert_eq!(page.body["value"].as_array().unwrap().len(), 2);
    let next = page.body["@odata.nextLink"].as_str().expect("a next link");
    let rest = app.get(next).await;
    assert_eq!(rest.body["value"][0]["name"], "c-prod", "{}", rest.body);
    assert!(rest.body.get("@odata.nextLink").is_none());
    let filtered = app.get("/v1/products?$filter=startswith(name,'b')").await;
    assert_eq!(filtered.body["value"][0]["id"], ids[2], "{}", filtered.body);
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);

    // PATCH: absent leaves, null clears the nullable fields, metadata is replaced whole.
    let id = ids[0];
    let path = format!("/v1/products/{id}");
    let maker = app.organization("maker").await["id"].as_i64().unwrap();
    let set = app
        .patch(
            &path,
            json!({"url": "http://c.example.com", "longDescription": "long", "organizationId": maker,
                "metadata": {"a": 1}, "publicMetadata": {"b": [1, 2]}, "displayName": "C!"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["url"], "http://c.example.com");
    assert_eq!(set.body["organizationId"], maker);
    assert_eq!(set.body["metadata"], json!({"a": 1}));
    assert_eq!(set.body["displayName"], "C!");
    assert_eq!(set.body["created"], app.get(&path).await.body["created"]);
    let cleared = app
        .patch(
            &path,
            json!({"url": null, "longDescription": null, "organizationId": null,
                "displayName": null, "isActive": null, "metadata": {"z": true}}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["url"], Value::Null);
    assert_eq!(cleared.body["longDescription"], Value::Null);
    assert_eq!(cleared.body["organizationId"], Value::Null);
    assert_eq!(cleared.body["displayName"], "C!");
    assert_eq!(cleared.body["isActive"], true);
    assert_eq!(cleared.body["metadata"], json!({"z": true}));
    assert_eq!(cleared.body["publicMetadata"], json!({"b": [1, 2]}));
    assert_eq!(app.get(&path).await.body, cleared.body);
    // A change that changes nothing writes nothing.
    let same = app.patch(&path, json!({"displayName": "C!"})).await;
    assert_eq!(same.body["modified"], cleared.body["modified"]);
    // Renamed, with another case of its own name.
    let renamed = app.patch(&path, json!({"name": "C-Prod"})).await;
    assert_eq!(renamed.body["name"], "C-Prod", "{}", renamed.body);
    // Another product's name is taken, whatever its case.
    let clash = app.patch(&path, json!({"name": "A-PROD"})).await;
    assert_problem(&clash, 409, &path);
    assert!(clash.body["detail"].as_str().unwrap().contains("A-PROD"));
    assert_eq!(app.get(&path).await.body["name"], "C-Prod");
    let unknown_org = app.patch(&path, json!({"organizationId": 999_999})).await;
    assert_problem(&unknown_org, 422, &path);
    assert_eq!(keys(&unknown_org.body["errors"]), ["organizationId"]);
    assert_problem(
        &app.patch("/v1/products/999999", json!({})).await,
        404,
        "/v1/products/999999",
    );

    // The maker organization's deletion leaves the product without one.
    let made = app.patch(&path, json!({"organizationId": maker})).await;
    assert_eq!(made.body["organizationId"], maker);
    assert_eq!(
        app.delete(&format!("/v1/organizations/{maker}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path).await.body["organizationId"], Value::Null);

    // DELETE: refused while the product has applications.
    let application = app
        .post(
            "/v1/applications",
            json!({"productId": id, "name": "web", "displayName": "Web"}),
        )
        .await;
    assert_eq!(
        application.status,
        StatusCode::CREATED,
        "{}",
        application.body
    );
    let refused = app.delete(&path).await;
    assert_problem(&refused, 409, &path);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("applications"),
        "{}",
        refused.body
    );
    let application_path = format!("/v1/applications/{}", application.body["id"]);
    assert_eq!(
        app.delete(&application_path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
    let remaining = app.get("/v1/products?$count=true").await;
    assert_eq!(remaining.body["@odata.count"], 2);

    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'product'&$count=true")
        .await;
    // Three created, four changes that changed something, one deleted.
    assert_eq!(events.body["@odata.count"], 8, "{}", events.body);
}

async fn product_errors(app: TestApp) {
    let long_name = "n".repeat(100);
    let ok = app
        .post(
            "/v1/products",
            json!({"name": long_name, "displayName": "d".repeat(250), "longDescription": "l".repeat(4000)}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    for (body, field) in [
        (json!({"displayName": "x"}), "name"),
        (json!({"name": "x"}), "displayName"),
        (json!({"name": "n".repeat(101), "displayName": "x"}), "name"),
        (json!({"name": "-x", "displayName": "x"}), "name"),
        (json!({"name": "a b", "displayName": "x"}), "name"),
        (json!({"name": "x", "displayName": ""}), "displayName"),
        (
            json!({"name": "x", "displayName": "x", "url": "ftp://x.example.com"}),
            "url",
        ),
        (
            json!({"name": "x", "displayName": "x", "url": "not a url"}),
            "url",
        ),
        (
            json!({"name": "x", "displayName": "x", "longDescription": "l".repeat(4001)}),
            "longDescription",
        ),
        (
            json!({"name": "x", "displayName": "x", "developersRoleAudience": "a b"}),
            "developersRoleAudience",
        ),
        (
            json!({"name": "n".repeat(90), "displayName": "x", "developersRoleAudience": "aud"}),
            "name",
        ),
    ] {
        let reply = app.post("/v1/products", body.clone()).await;
        assert_problem(&reply, 400, "/v1/products");
        assert_eq!(keys(&reply.body["errors"]), [field], "{body}");
    }
    // Past 16 KiB as JSON ({"k":"…"} is 8 bytes besides the value): the
    // document cannot state a size in bytes, hence 422; nothing is created.
    for field in ["metadata", "publicMetadata"] {
        let body =
            json!({"name": "big", "displayName": "x", field: {"k": "v".repeat(16 * 1024 - 7)}});
        let reply = app.post("/v1/products", body).await;
        assert_problem(&reply, 422, "/v1/products");
        assert_eq!(keys(&reply.body["errors"]), [field]);
    }
    let fits =
        json!({"name": "big", "displayName": "x", "metadata": {"k": "v".repeat(16 * 1024 - 8)}});
    let reply = app.post("/v1/products", fits).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // Not an object, or a field the document does not have: the body is not read.
    for body in [
        json!({"name": "x", "displayName": "x", "metadata": [1]}),
        json!({"name": "x", "displayName": "x", "publicMetadata": "text"}),
        json!({"name": "x", "displayName": "x", "owner": "me"}),
    ] {
        assert_problem(&app.post("/v1/products", body).await, 400, "/v1/products");
    }
    let unknown = app
        .post(
            "/v1/products",
            json!({"name": "orphan", "displayName": "x", "organizationId": 999_999}),
        )
        .await;
    assert_problem(&unknown, 422, "/v1/products");
    assert_eq!(keys(&unknown.body["errors"]), ["organizationId"]);
    // The name is unique without regard to case.
    product(&app, "Ledger").await;
    let taken = app
        .post(
            "/v1/products",
            json!({"name": "LEDGER", "displayName": "x"}),
        )
        .await;
    assert_problem(&taken, 409, "/v1/products");
    assert!(taken.body["detail"].as_str().unwrap().contains("LEDGER"));
    let all = app.get("/v1/products?$count=true").await;
    assert_eq!(all.body["@odata.count"], 3, "nothing else was written");
}

async fn product_developers_role(app: TestApp) {
    let created = app
        .post(
            "/v1/products",
            json!({"name": "Ledger", "displayName": "Ledger Books",
                "developersRoleAudience": "https://api.example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let roles = app
        .get("/v1/roles?$filter=name eq 'Ledger-developers'")
        .await;
    assert_eq!(roles.status, StatusCode::OK, "{}", roles.body);
    let role = &roles.body["value"][0];
    assert_eq!(role["name"], "Ledger-developers", "{}", roles.body);
    assert_eq!(role["audience"], "https://api.example.com");
    assert_eq!(role["permissions"], json!([]));
    assert_eq!(role["description"], "Developers of Ledger Books");
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'role'&$count=true")
        .await;
    assert_eq!(events.body["@odata.count"], 1, "{}", events.body);

    // The role exists (for that audience): nothing is created.
    let again = app
        .post(
            "/v1/products",
            json!({"name": "ledger", "displayName": "x", "developersRoleAudience": "https://api.example.com"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let existing_role = app
        .post(
            "/v1/roles",
            json!({"name": "Books-developers", "audience": "https://api.example.com"}),
        )
        .await;
    assert_eq!(
        existing_role.status,
        StatusCode::CREATED,
        "{}",
        existing_role.body
    );
    let clash = app
        .post(
            "/v1/products",
            json!({"name": "Books", "displayName": "x", "developersRoleAudience": "https://api.example.com"}),
        )
        .await;
    assert_problem(&clash, 409, "/v1/products");
    assert!(
        clash.body["detail"]
            .as_str()
            .unwrap()
            .contains("Books-developers"),
        "{}",
        clash.body
    );
    let books = app
        .get("/v1/products?$filter=name eq 'Books'&$count=true")
        .await;
    assert_eq!(books.body["@odata.count"], 0, "the product was not written");
    // Another audience's role of that name is no clash.
    let other = app
        .post(
            "/v1/products",
            json!({"name": "Books", "displayName": "x", "developersRoleAudience": "https://other.example.com"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);

    // Without role.write: 403, and nothing written.
    let key = app.key("product.write role.read").await;
    let refused = app
        .request_as(
            Method::POST,
            "/v1/products",
            &[("authorization", basic(&key))],
            Some(&json!({"name": "Cash", "displayName": "x", "developersRoleAudience": "https://api.example.com"})),
        )
        .await;
    assert_problem(&refused, 403, "/v1/products");
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("role.write"));
    let products = app
        .get("/v1/products?$filter=name eq 'Cash'&$count=true")
        .await;
    assert_eq!(products.body["@odata.count"], 0);
    // Without the option, product.write is enough.
    let plain = app
        .request_as(
            Method::POST,
            "/v1/products",
            &[("authorization", basic(&key))],
            Some(&json!({"name": "Cash", "displayName": "x"})),
        )
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
    let with_both = app.key("product.write role.write").await;
    let allowed = app
        .request_as(
            Method::POST,
            "/v1/products",
            &[("authorization", basic(&with_both))],
            Some(&json!({"name": "Till", "displayName": "x", "developersRoleAudience": "https://api.example.com"})),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);
    let roles = app
        .get("/v1/roles?$filter=audience eq 'https://api.example.com'&$orderby=name&$count=true")
        .await;
    let names: Vec<&str> = roles.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Books-developers", "Ledger-developers", "Till-developers"]
    );
}

async fn racing_for_one_product_name(app: TestApp) {
    for round in 0..10 {
        let name = format!("race-{round}");
        let body = |display: &str| json!({"name": name, "displayName": display});
        let upper = json!({"name": name.to_uppercase(), "displayName": "b"});
        let (a, b) = tokio::join!(
            app.post("/v1/products", body("a")),
            app.post("/v1/products", upper)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let listed = app
            .get(&format!("/v1/products?$search={name}&$count=true"))
            .await;
        assert_eq!(listed.body["@odata.count"], 1, "{}", listed.body);
    }
}

async fn product_permissions(app: TestApp) {
    let id = product(&app, "guarded").await["id"].as_i64().unwrap();
    let path = format!("/v1/products/{id}");
    let reader = app.key("product.read").await;
    let as_reader = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let reader = reader.clone();
        async move {
            app.request_as(
                method,
                &path,
                &[("authorization", basic(&reader))],
                body.as_ref(),
            )
            .await
        }
    };
    assert_eq!(as_reader(Method::GET, path.clone(), None).await.status, 200);
    assert_eq!(
        as_reader(Method::GET, "/v1/products".into(), None)
            .await
            .status,
        200
    );
    for (method, target, body) in [
        (
            Method::POST,
            "/v1/products".to_owned(),
            Some(json!({"name": "x", "displayName": "x"})),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"displayName": "x"})),
        ),
        (Method::DELETE, path.clone(), None),
    ] {
        let reply = as_reader(method, target.clone(), body).await;
        assert_problem(&reply, 403, &target);
    }
    assert_eq!(app.get(&path).await.body["displayName"], "guarded product");
    let writer = app.key("product.write").await;
    let read_by_writer = app
        .request_as(
            Method::GET,
            &path,
            &[("authorization", basic(&writer))],
            None,
        )
        .await;
    assert_problem(&read_by_writer, 403, &path);
    let by_application_key = app.key("application.read application.write").await;
    let refused = app
        .request_as(
            Method::GET,
            "/v1/products",
            &[("authorization", basic(&by_application_key))],
            None,
        )
        .await;
    assert_problem(&refused, 403, "/v1/products");
}

async fn the_document_states_the_body_rules(app: TestApp) {
    let document = app.get("/openapi.json").await.body;
    let create = schema_object(&document, "CreateProductBody");
    let properties = &create["properties"];
    // A JSON object field takes nothing else (a non-object is a 400).
    for field in ["metadata", "publicMetadata"] {
        let kinds = properties[field]["type"].to_string();
        assert!(
            kinds.contains("object") && !kinds.contains("string"),
            "{field}: {kinds}"
        );
    }
    assert_eq!(
        properties["name"]["pattern"],
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    );
    assert_eq!(properties["name"]["maxLength"], 100);
    let required = create["required"].to_string();
    assert!(
        required.contains("name") && required.contains("displayName"),
        "{required}"
    );
    // With a developer role, the name leaves room for `-developers`.
    let tie = document["components"]["schemas"]["CreateProductBody"]["allOf"][1].to_string();
    assert!(
        tie.contains("developersRoleAudience") && tie.contains("{0,88}"),
        "{tie}"
    );
    for body in ["CreateApplicationBody", "PatchApplicationBody"] {
        let clients = &schema_object(&document, body)["properties"]["clients"];
        assert_eq!(clients["uniqueItems"], true, "{body}: {clients}");
        assert_eq!(clients["maxItems"], 50, "{body}: {clients}");
    }
    let client = schema_object(&document, "ApplicationClient");
    assert_eq!(
        client["properties"]["clientId"]["pattern"],
        r"^[A-Za-z0-9_-]+$"
    );
    assert_eq!(client["properties"]["clientId"]["maxLength"], 64);
    assert_eq!(client["additionalProperties"], false, "{client}");
    // The permissions are documented on each operation.
    let paths = &document["paths"];
    assert_eq!(
        paths["/v1/products"]["post"]["x-nexus-permission"],
        "product.write"
    );
    assert_eq!(
        paths["/v1/products/{productId}"]["get"]["x-nexus-permission"],
        "product.read"
    );
    assert_eq!(
        paths["/v1/applications"]["get"]["x-nexus-permission"],
        "application.read"
    );
    assert_eq!(
        paths["/v1/applications/{applicationId}"]["delete"]["x-nexus-permission"],
        "application.write"
    );
    assert_eq!(
        paths["/v1/products"]["post"]["tags"],
        serde_json::json!(["Products"])
    );
    assert_eq!(
        paths["/v1/applications"]["post"]["tags"],
        serde_json::json!(["Applications"])
    );
}
