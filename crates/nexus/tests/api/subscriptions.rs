//! Subscriptions of organizations to products, and each subscription's log.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, keys, schema_object, TestApp};

both_backends!(
    subscription_lifecycle,
    a_patch_that_changes_nothing_writes_nothing,
    listing_filters_and_pages,
    refused_requests,
    racing_patches_both_land,
    subscription_permissions,
    an_organization_shows_its_subscriptions_and_products,
    an_organization_with_a_live_subscription_is_not_deleted,
    the_document_states_what_the_bodies_take,
);

async fn organization_id(app: &TestApp, name: &str) -> i64 {
    app.organization(name).await["id"].as_i64().unwrap()
}

/// A product made through the products API.
async fn product_id(app: &TestApp, name: &str) -> i64 {
    let reply = app
        .post(
            "/v1/products",
            json!({"name": name, "displayName": format!("{name} product")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_i64().unwrap()
}

async fn subscribe(app: &TestApp, organization: i64, product: i64, extra: Value) -> Value {
    let mut body = json!({"organizationId": organization, "productId": product});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let reply = app.post("/v1/subscriptions", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap()
}

fn messages(logs: &Value) -> Vec<String> {
    logs["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| log["logMessage"].as_str().unwrap().to_owned())
        .collect()
}

async fn log_messages(app: &TestApp, subscription: i64) -> Vec<String> {
    let logs = app
        .get(&format!("/v1/subscriptions/{subscription}/logs"))
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    messages(&logs.body)
}

/// The number of audit events about subscription `id`.
async fn audit_events(app: &TestApp, subscription: i64) -> i64 {
    let events = app
        .get(&format!(
            "/v1/audit-events?$filter=resourceType eq 'subscription' and resourceId eq '{subscription}'&$count=true"
        ))
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    events.body["@odata.count"].as_i64().unwrap()
}

async fn subscription_lifecycle(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let product = product_id(&app, "ledger").await;
    let created = app
        .post(
            "/v1/subscriptions",
            json!({"organizationId": acme, "productId": product}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let subscription = id(&created.body);
    assert_eq!(
        created.headers["location"],
        format!("/v1/subscriptions/{subscription}").as_str()
    );
    let mut expected_keys = vec![
        "applicationDeployments",
        "created",
        "createdBy",
        "customMetadata",
        "description",
        "details",
        "expires",
        "id",
        "isEnabled",
        "logs",
        "modified",
        "modifiedBy",
        "organization",
        "organizationId",
        "product",
        "productId",
        "readonlyMetadata",
        "sfContractId",
        "sfLicenseId",
        "sfSubscriptionId",
        "status",
        "statusText",
        "type",
    ];
    expected_keys.sort();
    assert_eq!(keys(&created.body), expected_keys);
    let body = &created.body;
    assert_eq!(body["organizationId"], acme);
    assert_eq!(body["productId"], product);
    // The defaults: Active, enabled, never expiring, no metadata.
    assert_eq!(body["status"], "Active");
    assert_eq!(body["isEnabled"], true);
    assert_eq!(body["expires"], Value::Null);
    assert_eq!(body["customMetadata"], json!({}));
    assert_eq!(body["readonlyMetadata"], json!({}));
    assert_eq!(body["logs"], json!([]));
    assert_eq!(body["applicationDeployments"], json!([]));
    assert_eq!(body["createdBy"], app.admin_id.as_str());
    assert_eq!(body["modified"], body["created"]);

    let read = app.get(&format!("/v1/subscriptions/{subscription}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body, created.body);

    // Every field given, the status in another letter case.
    let full = subscribe(
        &app,
        acme,
        product,
        json!({"status": "pending", "statusText": "awaiting signature", "type": "Annual",
            "description": "Ledger for 50 seats", "details": "legacy", "expires": "2027-01-01T00:00:00Z",
            "isEnabled": false, "sfLicenseId": "a0L1", "sfContractId": "800X", "sfSubscriptionId": "a1S9",
            "customMetadata": {"seats": 50, "region": {"name": "eu"}}}),
    )
    .await;
    assert_eq!(full["status"], "Pending");
    assert_eq!(full["statusText"], "awaiting signature");
    assert_eq!(full["type"], "Annual");
    assert_eq!(full["details"], "legacy");
    assert_eq!(full["expires"], "2027-01-01T00:00:00.000000Z");
    assert_eq!(full["isEnabled"], false);
    assert_eq!(full["sfSubscriptionId"], "a1S9");
    assert_eq!(
        full["customMetadata"],
        json!({"seats": 50, "region": {"name": "eu"}})
    );

    // A change: what it names changes, the rest stays.
    let path = format!("/v1/subscriptions/{subscription}");
    let patched = app
        .patch(
            &path,
            json!({"status": "Suspended", "expires": "2027-01-01T00:00:00Z", "statusText": "unpaid"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["status"], "Suspended");
    assert_eq!(patched.body["statusText"], "unpaid");
    assert_eq!(patched.body["expires"], "2027-01-01T00:00:00.000000Z");
    assert_eq!(patched.body["isEnabled"], true);
    assert!(patched.body["modified"].as_str() > created.body["modified"].as_str());
    assert_eq!(patched.body["created"], created.body["created"]);
    assert_eq!(app.get(&path).await.body, patched.body);

    // null clears; customMetadata is replaced whole.
    let cleared = app
        .patch(
            &path,
            json!({"statusText": null, "expires": null, "customMetadata": {"seats": 10}}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["statusText"], Value::Null);
    assert_eq!(cleared.body["expires"], Value::Null);
    assert_eq!(cleared.body["status"], "Suspended");
    assert_eq!(cleared.body["customMetadata"], json!({"seats": 10}));

    // The log, newest first: what each write changed.
    let expected = [
        "statusText: \"unpaid\" → (none); expires: 2027-01-01T00:00:00.000000Z → (none); \
         customMetadata: changed keys seats",
        "status: Active → Suspended; statusText: (none) → \"unpaid\"; \
         expires: (none) → 2027-01-01T00:00:00.000000Z",
        &format!("created: productId: {product}; organizationId: {acme}; status: Active; isEnabled: true"),
    ];
    let logs = app.get(&format!("{path}/logs")).await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    assert_eq!(messages(&logs.body), expected);
    let first = &logs.body["value"][2];
    let mut log_keys = vec![
        "created",
        "createdBy",
        "id",
        "logMessage",
        "modified",
        "modifiedBy",
        "severity",
        "subscriptionId",
    ];
    log_keys.sort();
    assert_eq!(keys(first), log_keys);
    assert_eq!(first["severity"], "Information");
    assert_eq!(first["subscriptionId"], subscription);
    assert_eq!(first["createdBy"], app.admin_id.as_str());
    // Oldest first when asked, and paged.
    let oldest = app
        .get(&format!("{path}/logs?$orderby=id asc&$top=2&$count=true"))
        .await;
    assert_eq!(oldest.body["@odata.count"], 3, "{}", oldest.body);
    assert_eq!(messages(&oldest.body), [expected[2], expected[1]]);
    let next = oldest.body["@odata.nextLink"].as_str().unwrap();
    assert_eq!(messages(&app.get(next).await.body), [expected[0]]);

    // One entry, with its subscription.
    let log_id = first["id"].as_i64().unwrap();
    let one = app.get(&format!("{path}/logs/{log_id}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["logMessage"], expected[2]);
    assert_eq!(one.body["subscription"], app.get(&path).await.body);

    // $expand=logs fills the subscription's logs, newest first.
    let expanded = app.get(&format!("{path}?$expand=logs")).await;
    assert_eq!(expanded.status, StatusCode::OK, "{}", expanded.body);
    assert_eq!(expanded.body["logs"], logs.body["value"]);
    let selected = app.get(&format!("{path}?$select=id,status")).await;
    assert_eq!(keys(&selected.body), ["id", "status"]);

    // Each write left one audit event; the full subscription's creation
    // one of its own.
    assert_eq!(audit_events(&app, subscription).await, 3);
    assert_eq!(audit_events(&app, id(&full)).await, 1);
    assert_eq!(
        log_messages(&app, id(&full)).await,
        [format!(
            "created: productId: {product}; organizationId: {acme}; status: Pending; \
             statusText: \"awaiting signature\"; type: \"Annual\"; description: \"Ledger for 50 seats\"; \
             details: \"legacy\"; expires: 2027-01-01T00:00:00.000000Z; isEnabled: false; \
             sfLicenseId: \"a0L1\"; sfContractId: \"800X\"; sfSubscriptionId: \"a1S9\"; \
             customMetadata: keys region, seats"
        )]
    );
}

async fn a_patch_that_changes_nothing_writes_nothing(app: TestApp) {
    let organization = organization_id(&app, "steady").await;
    let product = product_id(&app, "steady-product").await;
    let subscription = subscribe(
        &app,
        organization,
        product,
        json!({"statusText": "fine", "customMetadata": {"a": 1}}),
    )
    .await;
    let path = format!("/v1/subscriptions/{}", id(&subscription));
    for body in [
        json!({}),
        json!({"status": "Active", "statusText": "fine", "isEnabled": true}),
        json!({"customMetadata": {"a": 1}, "expires": null, "isEnabled": null}),
        json!({"status": "ACTIVE", "sfLicenseId": null}),
    ] {
        let reply = app.patch(&path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.body);
        assert_eq!(reply.body, subscription, "{body}");
    }
    assert_eq!(log_messages(&app, id(&subscription)).await.len(), 1);
    assert_eq!(audit_events(&app, id(&subscription)).await, 1);
    assert_eq!(app.get(&path).await.body, subscription);
}

async fn listing_filters_and_pages(app: TestApp) {
    let north = organization_id(&app, "north").await;
    let south = organization_id(&app, "south").await;
    let ledger = product_id(&app, "ledger").await;
    let payroll = product_id(&app, "payroll").await;
    let a = id(&subscribe(&app, north, ledger, json!({})).await);
    let b = id(&subscribe(&app, north, payroll, json!({"status": "Suspended"})).await);
    let c = id(&subscribe(&app, south, ledger, json!({"isEnabled": false})).await);
    let ids = |reply: &Value| -> Vec<i64> {
        reply["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no list: {reply}"))
            .iter()
            .map(id)
            .collect()
    };
    let list = |query: String| {
        let app = &app;
        async move {
            let reply = app.get(&format!("/v1/subscriptions{query}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
            reply.body
        }
    };
    assert_eq!(ids(&list(String::new()).await), [a, b, c]);
    assert_eq!(
        ids(&list(format!("?$filter=organizationId eq {north}")).await),
        [a, b]
    );
    assert_eq!(
        ids(&list(format!("?$filter=productId eq {ledger}")).await),
        [a, c]
    );
    assert_eq!(
        ids(&list("?$filter=status eq 'Suspended'".into()).await),
        [b]
    );
    assert_eq!(
        ids(&list(format!(
            "?$filter=organizationId eq {north} and status eq 'Active'"
        ))
        .await),
        [a]
    );
    assert_eq!(ids(&list("?$filter=isEnabled eq false".into()).await), [c]);
    assert_eq!(ids(&list("?$orderby=id desc".into()).await), [c, b, a]);

    // Paged: the next link carries the filter.
    let first = list(format!("?$filter=productId eq {ledger}&$top=1&$count=true")).await;
    assert_eq!(ids(&first), [a]);
    assert_eq!(first["@odata.count"], 2);
    let next = first["@odata.nextLink"].as_str().unwrap();
    let second = app.get(next).await.body;
    assert_eq!(ids(&second), [c]);

    // $expand=logs fills each subscription's log.
    let expanded = list("?$expand=logs".into()).await;
    for item in expanded["value"].as_array().unwrap() {
        assert_eq!(item["logs"].as_array().unwrap().len(), 1, "{item}");
        assert_eq!(item["logs"][0]["subscriptionId"], item["id"]);
    }
    let bad = app.get("/v1/subscriptions?$filter=nope eq 1").await;
    assert_problem(&bad, 400, "/v1/subscriptions");
    assert_eq!(keys(&bad.body["errors"]), ["$filter"]);
    let bad = app.get("/v1/subscriptions?$expand=product").await;
    assert_eq!(keys(&bad.body["errors"]), ["$expand"]);
}

/// Whether a 400 problem names `field`: as a key of `errors`, or (an
/// unknown field, reported for the body as a whole) in a message.
fn names(problem: &Value, field: &str) -> bool {
    keys(&problem["errors"]).iter().any(|key| key == field)
        || problem["errors"]
            .to_string()
            .contains(&format!("`{field}`"))
}

async fn refused_requests(app: TestApp) {
    let organization = organization_id(&app, "strict").await;
    let product = product_id(&app, "strict-product").await;
    let post = |body: Value| {
        let app = &app;
        async move { app.post("/v1/subscriptions", body).await }
    };

    // Unknown organization or product: 422 naming the field.
    let reply = post(json!({"organizationId": 999_999, "productId": product})).await;
    assert_problem(&reply, 422, "/v1/subscriptions");
    assert_eq!(keys(&reply.body["errors"]), ["organizationId"]);
    let reply = post(json!({"organizationId": organization, "productId": 999_999})).await;
    assert_problem(&reply, 422, "/v1/subscriptions");
    assert_eq!(keys(&reply.body["errors"]), ["productId"]);
    let reply = post(json!({"organizationId": 999_998, "productId": 999_999})).await;
    assert_eq!(keys(&reply.body["errors"]), ["organizationId", "productId"]);

    // Bodies the document does not allow: 400 naming the field.
    for (body, field) in [
        (json!({"productId": product}), "organizationId"),
        (
            json!({"organizationId": organization, "productId": product, "status": "Paused"}),
            "status",
        ),
        (
            json!({"organizationId": organization, "productId": product, "customMetadata": [1]}),
            "customMetadata",
        ),
        (
            json!({"organizationId": organization, "productId": product, "customMetadata": "x"}),
            "customMetadata",
        ),
        (
            json!({"organizationId": organization, "productId": product, "expires": "soon"}),
            "expires",
        ),
        (
            json!({"organizationId": organization, "productId": product, "sfContractId": "c".repeat(256)}),
            "sfContractId",
        ),
        (
            json!({"organizationId": "1", "productId": product}),
            "organizationId",
        ),
        (
            json!({"organizationId": organization, "productId": product, "logs": []}),
            "logs",
        ),
    ] {
        let reply = post(body.clone()).await;
        assert_problem(&reply, 400, "/v1/subscriptions");
        assert!(names(&reply.body, field), "{body}: {}", reply.body);
    }
    // Metadata past 16 KiB: the document cannot say so, hence 422.
    let big = json!({"organizationId": organization, "productId": product,
        "customMetadata": {"k": "x".repeat(16 * 1024)}});
    let reply = post(big).await;
    assert_problem(&reply, 422, "/v1/subscriptions");
    assert_eq!(keys(&reply.body["errors"]), ["customMetadata"]);
    // Nothing of the refused requests was stored.
    let listed = app.get("/v1/subscriptions?$count=true").await;
    assert_eq!(listed.body["@odata.count"], 0, "{}", listed.body);

    let subscription = subscribe(&app, organization, product, json!({})).await;
    let path = format!("/v1/subscriptions/{}", id(&subscription));
    for (body, field) in [
        (json!({"status": null}), "status"),
        (json!({"customMetadata": null}), "customMetadata"),
        (json!({"customMetadata": 5}), "customMetadata"),
        (json!({"status": "Paused"}), "status"),
        (json!({"statusText": "s".repeat(251)}), "statusText"),
        (json!({"description": "d".repeat(4001)}), "description"),
        (json!({"productId": product}), "productId"),
    ] {
        let reply = app.patch(&path, body.clone()).await;
        assert_problem(&reply, 400, &path);
        assert!(names(&reply.body, field), "{body}: {}", reply.body);
    }
    let reply = app
        .patch(
            &path,
            json!({"customMetadata": {"k": "x".repeat(16 * 1024)}}),
        )
        .await;
    assert_problem(&reply, 422, &path);
    assert_eq!(app.get(&path).await.body, subscription);
    assert_eq!(log_messages(&app, id(&subscription)).await.len(), 1);

    // Unknown subscriptions and log entries: 404.
    for missing in [
        "/v1/subscriptions/999999",
        "/v1/subscriptions/abc",
        "/v1/subscriptions/999999/logs",
        "/v1/subscriptions/999999/logs/1",
        &format!("{path}/logs/999999"),
        &format!("{path}/logs/abc"),
    ] {
        assert_problem(&app.get(missing).await, 404, missing);
    }
    let reply = app
        .patch("/v1/subscriptions/999999", json!({"status": "Active"}))
        .await;
    assert_problem(&reply, 404, "/v1/subscriptions/999999");
    // Another subscription's entry is not this one's.
    let other = subscribe(&app, organization, product, json!({})).await;
    let logs = app
        .get(&format!("/v1/subscriptions/{}/logs", id(&other)))
        .await;
    let foreign = logs.body["value"][0]["id"].as_i64().unwrap();
    let foreign_path = format!("{path}/logs/{foreign}");
    assert_problem(&app.get(&foreign_path).await, 404, &foreign_path);
}

async fn racing_patches_both_land(app: TestApp) {
    let organization = organization_id(&app, "racing").await;
    let product = product_id(&app, "racing-product").await;
    for round in 0..8 {
        let subscription = subscribe(&app, organization, product, json!({})).await;
        let path = format!("/v1/subscriptions/{}", id(&subscription));
        let text = format!("text {round}");
        let contract = format!("800-{round}");
        let (a, b) = tokio::join!(
            app.patch(&path, json!({"statusText": text})),
            app.patch(&path, json!({"sfContractId": contract})),
        );
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(b.status, StatusCode::OK, "{}", b.body);
        let now = app.get(&path).await.body;
        assert_eq!(now["statusText"], text.as_str(), "{now}");
        assert_eq!(now["sfContractId"], contract.as_str(), "{now}");
        let mut changes = log_messages(&app, id(&subscription)).await;
        assert_eq!(changes.len(), 3, "{changes:?}");
        changes.truncate(2);
        changes.sort();
        assert_eq!(
            changes,
            [
                format!("sfContractId: (none) → \"{contract}\""),
                format!("statusText: (none) → \"{text}\""),
            ]
        );
    }
}

async fn subscription_permissions(app: TestApp) {
    let organization = organization_id(&app, "guarded").await;
    let product = product_id(&app, "guarded-product").await;
    let body = json!({"organizationId": organization, "productId": product});
    let as_key = |permissions: &'static str, method: Method, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            let key = app.key(permissions).await;
            app.request_as(
                method,
                &path,
                &[("authorization", basic(&key))],
                body.as_ref(),
            )
            .await
        }
    };
    for allowed in ["subscription.write", "write"] {
        let reply = as_key(
            allowed,
            Method::POST,
            "/v1/subscriptions".into(),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{allowed}: {}",
            reply.body
        );
    }
    for refused in [
        "subscription.read",
        "read",
        "organization.write",
        "product.write",
    ] {
        let reply = as_key(
            refused,
            Method::POST,
            "/v1/subscriptions".into(),
            Some(body.clone()),
        )
        .await;
        assert_problem(&reply, 403, "/v1/subscriptions");
    }
    let subscription = subscribe(&app, organization, product, json!({})).await;
    let path = format!("/v1/subscriptions/{}", id(&subscription));
    let patch = json!({"statusText": "by key"});
    let reply = as_key(
        "subscription.read",
        Method::PATCH,
        path.clone(),
        Some(patch.clone()),
    )
    .await;
    assert_problem(&reply, 403, &path);
    let reply = as_key(
        "subscription.write",
        Method::PATCH,
        path.clone(),
        Some(patch),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for read in [
        "/v1/subscriptions".to_owned(),
        path.clone(),
        format!("{path}/logs"),
    ] {
        for allowed in ["subscription.read", "read"] {
            let reply = as_key(allowed, Method::GET, read.clone(), None).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{allowed} {read}: {}",
                reply.body
            );
        }
        for refused in ["subscription.write", "organization.read"] {
            let reply = as_key(refused, Method::GET, read.clone(), None).await;
            assert_problem(&reply, 403, &read);
        }
    }
    let anonymous = app
        .request_as(Method::GET, "/v1/subscriptions", &[], None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn an_organization_shows_its_subscriptions_and_products(app: TestApp) {
    let organization = organization_id(&app, "buyer").await;
    let other = organization_id(&app, "bystander").await;
    let ledger = product_id(&app, "ledger").await;
    let payroll = product_id(&app, "payroll").await;
    let unused = product_id(&app, "unused").await;
    let first = subscribe(&app, organization, ledger, json!({})).await;
    let second = subscribe(&app, organization, payroll, json!({})).await;
    // A second subscription to one product lists the product once.
    let third = subscribe(&app, organization, ledger, json!({"status": "Cancelled"})).await;
    subscribe(&app, other, unused, json!({})).await;

    let path = format!("/v1/organizations/{organization}");
    let read = app.get(&path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["subscriptions"], json!([first, second, third]));
    let products: Vec<i64> = read.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(products, [ledger, payroll]);
    let ledger_product = app.get(&format!("/v1/products/{ledger}")).await.body;
    assert_eq!(read.body["products"][0]["name"], ledger_product["name"]);
    // The list answers the same.
    let listed = app
        .get(&format!("/v1/organizations?$filter=id eq {organization}"))
        .await;
    assert_eq!(listed.body["value"][0], read.body);
    // A product lists its subscriptions when asked.
    let expanded = app
        .get(&format!("/v1/products/{ledger}?$expand=subscriptions"))
        .await;
    assert_eq!(expanded.status, StatusCode::OK, "{}", expanded.body);
    assert_eq!(expanded.body["subscriptions"], json!([first, third]));
    assert_eq!(ledger_product["subscriptions"], json!([]));
    let bystander = app.get(&format!("/v1/organizations/{other}")).await.body;
    assert_eq!(bystander["subscriptions"].as_array().unwrap().len(), 1);
    assert_eq!(bystander["products"][0]["id"], unused);
}

async fn an_organization_with_a_live_subscription_is_not_deleted(app: TestApp) {
    let organization = organization_id(&app, "leaving").await;
    let product = product_id(&app, "kept").await;
    let live = subscribe(&app, organization, product, json!({"status": "Suspended"})).await;
    let ended = subscribe(&app, organization, product, json!({"status": "Expired"})).await;
    let path = format!("/v1/organizations/{organization}");
    let refused = app.delete(&path).await;
    assert_problem(&refused, 409, &path);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("subscriptions that have not ended"),
        "{detail}"
    );
    assert_eq!(app.get(&path).await.status, StatusCode::OK);

    let live_path = format!("/v1/subscriptions/{}", id(&live));
    let cancelled = app.patch(&live_path, json!({"status": "Cancelled"})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    // Its subscriptions and their logs went with it.
    for gone in [
        live_path.clone(),
        format!("/v1/subscriptions/{}", id(&ended)),
        format!("{live_path}/logs"),
    ] {
        assert_eq!(app.get(&gone).await.status, StatusCode::NOT_FOUND, "{gone}");
    }
    // The product stays.
    assert_eq!(
        app.get(&format!("/v1/products/{product}")).await.status,
        StatusCode::OK
    );
}

async fn the_document_states_what_the_bodies_take(app: TestApp) {
    let document = app.get("/openapi.json").await.body;
    let create = schema_object(&document, "CreateSubscriptionBody");
    assert_eq!(create["required"], json!(["organizationId", "productId"]));
    assert_eq!(create["properties"]["sfLicenseId"]["maxLength"], 255);
    assert_eq!(create["properties"]["description"]["maxLength"], 4000);
    assert_eq!(create["properties"]["statusText"]["maxLength"], 250);
    let patch = schema_object(&document, "PatchSubscriptionBody");
    // status and customMetadata cannot be null; the texts can (to clear).
    assert_eq!(
        patch["properties"]["status"]["$ref"],
        "#/components/schemas/SubscriptionStatus"
    );
    assert_eq!(patch["properties"]["customMetadata"]["type"], "object");
    assert_eq!(
        patch["properties"]["statusText"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        document["components"]["schemas"]["SubscriptionStatus"]["enum"],
        json!(["Pending", "Active", "Suspended", "Cancelled", "Expired"])
    );
    let patch_operation = &document["paths"]["/v1/subscriptions/{subscriptionId}"]["patch"];
    assert_eq!(patch_operation["operationId"], "PatchSubscription");
    let get_log = &document["paths"]["/v1/subscriptions/{subscriptionId}/logs/{logId}"]["get"];
    assert_eq!(get_log["operationId"], "GetSubscriptionLog");
    assert_eq!(get_log["tags"], json!(["Subscriptions"]));
}
