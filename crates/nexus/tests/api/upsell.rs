//! Upsell: a product's modules and their rules, the catalog of an
//! organization's live subscriptions, and upsell requests.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, keys, Reply, TestApp};

both_backends!(
    upsell_module_declarations,
    upsell_module_rules_name_declared_modules,
    upsell_module_body_edges,
    upsell_modules_go_with_their_product,
    upsell_racing_declarations,
    upsell_requests_go_with_their_organization,
    upsell_catalog_lists_live_subscriptions_modules,
    upsell_request_create_and_get,
    upsell_request_refusals,
    upsell_request_body_edges,
    upsell_request_subscription_must_be_live,
    upsell_dependency_rules_are_enforced,
    upsell_request_lifecycle,
    upsell_racing_completions_add_once,
    upsell_permissions,
);

async fn new_product(app: &TestApp, name: &str) -> i64 {
    let reply = app
        .post("/v1/products", json!({"name": name, "displayName": name}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_i64().unwrap()
}

async fn organization(app: &TestApp, name: &str) -> i64 {
    app.organization(name).await["id"].as_i64().unwrap()
}

async fn subscription(app: &TestApp, organization: i64, product: i64, extra: Value) -> i64 {
    let mut body = json!({"organizationId": organization, "productId": product});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let reply = app.post("/v1/subscriptions", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_i64().unwrap()
}

fn modules_path(product: i64) -> String {
    format!("/v1/products/{product}/upsell-dependencies")
}

async fn declare(app: &TestApp, product: i64, body: Value) -> Reply {
    app.put(&modules_path(product), body).await
}

async fn declared(app: &TestApp, product: i64, body: Value) -> Value {
    let reply = declare(app, product, body).await;
    assert!(reply.status.is_success(), "{}", reply.body);
    reply.body
}

fn requires(module: &str) -> Value {
    json!({"mode": "Requires", "moduleString": module})
}

fn excludes(module: &str) -> Value {
    json!({"mode": "Excludes", "moduleString": module})
}

async fn request(app: &TestApp, body: Value) -> Reply {
    app.post("/v1/upsell-requests", body).await
}

fn items(subscription: i64, items: &[(&str, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(module, quantity)| {
            json!({"moduleString": module, "requestedAdditionalQuantity": quantity})
        })
        .collect();
    json!({"subscriptionId": subscription, "requestItems": items})
}

async fn requested(app: &TestApp, body: Value) -> Value {
    let reply = request(app, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// Asserts a problem of `status` whose `errors` name `field` alone.
fn assert_names(reply: &Reply, status: u16, instance: &str, field: &str) {
    assert_problem(reply, status, instance);
    assert_eq!(keys(&reply.body["errors"]), [field], "{}", reply.body);
}

async fn newest_event(app: &TestApp) -> Value {
    let reply = app.get("/v1/audit-events?$orderby=id desc&$top=1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"][0].clone()
}

async fn newest_log(app: &TestApp, subscription: i64) -> String {
    let reply = app
        .get(&format!("/v1/subscriptions/{subscription}/logs"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"][0]["logMessage"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn catalog(app: &TestApp, organization: i64) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/subscriptions/upsell-catalog/{organization}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body.as_array().unwrap().clone()
}

/// What the subscription holds of `module`, as the catalog says.
async fn held(app: &TestApp, organization: i64, subscription: i64, module: &str) -> i64 {
    catalog(app, organization)
        .await
        .iter()
        .find(|item| item["subscriptionId"] == subscription && item["moduleString"] == module)
        .unwrap_or_else(|| panic!("{module} of {subscription} in the catalog"))["currentQuantity"]
        .as_i64()
        .unwrap()
}

async fn patch_request(app: &TestApp, id: &Value, body: Value) -> Reply {
    app.patch(&format!("/v1/upsell-requests/{id}"), body).await
}

async fn upsell_module_declarations(app: TestApp) {
    let product = new_product(&app, "ledger").await;
    let path = modules_path(product);
    let created = declare(&app, product, json!({"moduleString": "CORE"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers["location"], format!("{path}/CORE").as_str());
    assert_eq!(
        keys(&created.body),
        [
            "created",
            "createdBy",
            "modified",
            "modifiedBy",
            "moduleString",
            "productId",
            "pupm",
            "requires",
            "sfModuleId",
            "sfProductId",
            "softwareDeliveryType"
        ]
    );
    assert_eq!(created.body["productId"], product);
    assert_eq!(created.body["requires"], json!([]));
    assert_eq!(created.body["pupm"], Value::Null);
    assert_eq!(created.body["createdBy"], app.admin_id.as_str());

    let body = json!({"moduleString": "PAYROLL", "requires": [requires("CORE")],
        "sfModuleId": "a0M1", "sfProductId": "01t1", "softwareDeliveryType": "Cloud", "pupm": 4.25});
    let payroll = declare(&app, product, body.clone()).await;
    assert_eq!(payroll.status, StatusCode::CREATED, "{}", payroll.body);
    assert_eq!(payroll.body["requires"], json!([requires("CORE")]));
    assert_eq!(payroll.body["sfModuleId"], "a0M1");
    assert_eq!(payroll.body["sfProductId"], "01t1");
    assert_eq!(payroll.body["softwareDeliveryType"], "Cloud");
    assert_eq!(payroll.body["pupm"], 4.25);
    let event = newest_event(&app).await;
    assert_eq!(event["resourceType"], "upsellModule");
    assert_eq!(event["resourceId"], format!("{product}/PAYROLL").as_str());

    // The same declaration again writes nothing.
    let before = newest_event(&app).await["id"].clone();
    let again = declare(&app, product, body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, payroll.body);
    assert_eq!(newest_event(&app).await["id"], before);

    // A changed one replaces the rules and data whole.
    declared(&app, product, json!({"moduleString": "TIME"})).await;
    let replaced = declare(
        &app,
        product,
        json!({"moduleString": "PAYROLL", "requires": [excludes("TIME"), requires("CORE")], "pupm": 0}),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(
        replaced.body["requires"],
        json!([excludes("TIME"), requires("CORE")])
    );
    assert_eq!(replaced.body["sfModuleId"], Value::Null);
    assert_eq!(replaced.body["softwareDeliveryType"], Value::Null);
    assert_eq!(replaced.body["pupm"], 0.0);
    assert_eq!(replaced.body["created"], payroll.body["created"]);
    assert_ne!(replaced.body["modified"], payroll.body["modified"]);
    let event = newest_event(&app).await;
    assert_ne!(event["id"], before);
    assert_eq!(event["changes"]["sfModuleId"]["before"], "a0M1");

    let list = app.get(&path).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["moduleString"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CORE", "PAYROLL", "TIME"]);
    assert_eq!(list.body[1], replaced.body);
    let one = app.get(&format!("{path}/PAYROLL")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body, replaced.body);
    assert_problem(
        &app.get(&format!("{path}/NONE")).await,
        404,
        &format!("{path}/NONE"),
    );

    // A module that rules name cannot go; the conflict names them.
    let refused = app.delete(&format!("{path}/CORE")).await;
    assert_problem(&refused, 409, &format!("{path}/CORE"));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("'PAYROLL'"),
        "{}",
        refused.body
    );
    let removed = app.delete(&format!("{path}/PAYROLL")).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let event = newest_event(&app).await;
    assert_eq!(event["operation"], "DeleteUpsellDependency");
    assert_eq!(
        app.delete(&format!("{path}/CORE")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &app.delete(&format!("{path}/CORE")).await,
        404,
        &format!("{path}/CORE"),
    );
    let names: Vec<Value> = app.get(&path).await.body.as_array().unwrap().clone();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0]["moduleString"], "TIME");

    for unknown in ["999999", "ledger"] {
        let path = format!("/v1/products/{unknown}/upsell-dependencies");
        assert_problem(&app.get(&path).await, 404, &path);
        assert_problem(
            &app.put(&path, json!({"moduleString": "X"})).await,
            404,
            &path,
        );
        let one = format!("{path}/X");
        assert_problem(&app.delete(&one).await, 404, &one);
    }
}

async fn upsell_module_rules_name_declared_modules(app: TestApp) {
    let product = new_product(&app, "ledger").await;
    let other = new_product(&app, "other").await;
    declared(&app, other, json!({"moduleString": "ELSEWHERE"})).await;
    declared(&app, product, json!({"moduleString": "CORE"})).await;
    let path = modules_path(product);
    for (rules, field) in [
        (
            json!([requires("CORE"), requires("NONE")]),
            "requires[1].moduleString",
        ),
        // A module of another product is not this product's.
        (json!([excludes("ELSEWHERE")]), "requires[0].moduleString"),
        (json!([requires("PAYROLL")]), "requires[0].moduleString"),
        (
            json!([requires("CORE"), excludes("CORE")]),
            "requires[1].moduleString",
        ),
    ] {
        let reply = declare(
            &app,
            product,
            json!({"moduleString": "PAYROLL", "requires": rules}),
        )
        .await;
        assert_names(&reply, 422, &path, field);
    }
    // Nothing was declared by the refused requests.
    assert_eq!(app.get(&path).await.body.as_array().unwrap().len(), 1);
    // Rules compare names exactly.
    let reply = declare(
        &app,
        product,
        json!({"moduleString": "PAYROLL", "requires": [requires("core")]}),
    )
    .await;
    assert_problem(&reply, 422, &path);
}

async fn upsell_module_body_edges(app: TestApp) {
    let product = new_product(&app, "ledger").await;
    let path = modules_path(product);
    let long = "M".repeat(100);
    declared(&app, product, json!({"moduleString": long})).await;
    declared(&app, product, json!({"moduleString": "a"})).await;
    let fifty: Vec<String> = (0..50).map(|i| format!("M{i}")).collect();
    for name in &fifty {
        declared(&app, product, json!({"moduleString": name})).await;
    }
    let rules: Vec<Value> = fifty.iter().map(|name| requires(name)).collect();
    let ok = declare(
        &app,
        product,
        json!({"moduleString": "HR:payroll.v2_x-1", "requires": rules, "sfModuleId": "s".repeat(255),
            "sfProductId": "p", "softwareDeliveryType": "t".repeat(255), "pupm": 1000000000}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["requires"].as_array().unwrap().len(), 50);
    let mut too_many = rules.clone();
    too_many.push(requires("a"));
    for (body, field) in [
        (json!({}), "moduleString"),
        (json!({"moduleString": null}), "moduleString"),
        (json!({"moduleString": ""}), "moduleString"),
        (json!({"moduleString": "M".repeat(101)}), "moduleString"),
        (json!({"moduleString": "-a"}), "moduleString"),
        (json!({"moduleString": "a b"}), "moduleString"),
        (
            json!({"moduleString": "X", "requires": too_many}),
            "requires",
        ),
        (
            json!({"moduleString": "X", "requires": [{"mode": "Needs", "moduleString": "a"}]}),
            "requires[0].mode",
        ),
        (
            json!({"moduleString": "X", "requires": [{"moduleString": "a"}]}),
            "requires[0].mode",
        ),
        (
            json!({"moduleString": "X", "requires": [{"mode": "Requires"}]}),
            "requires[0].moduleString",
        ),
        (
            json!({"moduleString": "X", "requires": [{"mode": "Requires", "moduleString": "a/b"}]}),
            "requires[0].moduleString",
        ),
        (json!({"moduleString": "X", "sfModuleId": ""}), "sfModuleId"),
        (
            json!({"moduleString": "X", "sfProductId": "p".repeat(256)}),
            "sfProductId",
        ),
        (
            json!({"moduleString": "X", "softwareDeliveryType": "t".repeat(256)}),
            "softwareDeliveryType",
        ),
        (json!({"moduleString": "X", "pupm": -0.01}), "pupm"),
        (json!({"moduleString": "X", "pupm": 1000000000.5}), "pupm"),
    ] {
        let reply = declare(&app, product, body.clone()).await;
        assert_names(&reply, 400, &path, field);
    }
    for body in [
        json!({"moduleString": "X", "pupm": "4"}),
        json!({"moduleString": "X", "unknown": 1}),
        json!({"moduleString": "X", "requires": "CORE"}),
    ] {
        assert_problem(&declare(&app, product, body).await, 400, &path);
    }
    // A mode is read in any letter case and answered in its own.
    let lower = declared(
        &app,
        product,
        json!({"moduleString": "Y", "requires": [{"mode": "excludes", "moduleString": "a"}]}),
    )
    .await;
    assert_eq!(lower["requires"], json!([excludes("a")]));
    assert_eq!(app.get(&path).await.body.as_array().unwrap().len(), 54);
}

async fn upsell_modules_go_with_their_product(app: TestApp) {
    let product = new_product(&app, "ledger").await;
    declared(&app, product, json!({"moduleString": "CORE"})).await;
    declared(
        &app,
        product,
        json!({"moduleString": "PAYROLL", "requires": [requires("CORE")]}),
    )
    .await;
    let deleted = app.delete(&format!("/v1/products/{product}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let path = modules_path(product);
    assert_problem(&app.get(&path).await, 404, &path);
    // A product of the same name starts without modules.
    let again = new_product(&app, "ledger").await;
    assert_eq!(app.get(&modules_path(again)).await.body, json!([]));
}

async fn upsell_requests_go_with_their_organization(app: TestApp) {
    let (acme, held_by_acme, product) = subscribed(&app, "acme").await;
    let made = requested(&app, items(held_by_acme, &[("CORE", 2)])).await;
    patch_request(&app, &made["id"], json!({"status": "Completed"})).await;
    let open = requested(&app, items(held_by_acme, &[("CORE", 1)])).await;
    let acme_path = format!("/v1/organizations/{acme}");
    assert_problem(&app.delete(&acme_path).await, 409, &acme_path);
    app.patch(
        &format!("/v1/subscriptions/{held_by_acme}"),
        json!({"status": "Cancelled"}),
    )
    .await;
    let deleted = app.delete(&acme_path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    for id in [&made["id"], &open["id"]] {
        let path = format!("/v1/upsell-requests/{id}");
        assert_problem(&app.get(&path).await, 404, &path);
    }
    let catalog_path = format!("/v1/subscriptions/upsell-catalog/{acme}");
    assert_problem(&app.get(&catalog_path).await, 404, &catalog_path);
    // The product keeps its modules; a new subscription holds none of them.
    let again = organization(&app, "acme-again").await;
    let fresh = subscription(&app, again, product, json!({})).await;
    assert_eq!(held(&app, again, fresh, "CORE").await, 0);
}

async fn upsell_racing_declarations(app: TestApp) {
    let product = new_product(&app, "ledger").await;
    let body = json!({"moduleString": "CORE", "pupm": 3.5});
    let replies = join_all((0..8).map(|_| declare(&app, product, body.clone()))).await;
    let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let same = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!((created, same), (1, 7), "{statuses:?}");
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'upsellModule'&$count=true")
        .await;
    assert_eq!(events.body["@odata.count"], 1, "{}", events.body);

    // A rule naming a module races the module's deletion: either the rule
    // lands and the deletion is refused, or the deletion lands and the rule
    // is refused; never a rule naming a module that is gone.
    for round in 0..4 {
        let target = format!("T{round}");
        declared(&app, product, json!({"moduleString": target})).await;
        let rule = json!({"moduleString": format!("R{round}"), "requires": [requires(&target)]});
        let path = format!("{}/{target}", modules_path(product));
        let (put, delete) = tokio::join!(declare(&app, product, rule), app.delete(&path));
        match (put.status.as_u16(), delete.status.as_u16()) {
            (201, 409) | (422, 204) => {}
            other => panic!("{other:?}: {} {}", put.body, delete.body),
        }
        let list = app.get(&modules_path(product)).await.body;
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["moduleString"].as_str().unwrap())
            .collect();
        let named: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["requires"].as_array().unwrap())
            .map(|r| r["moduleString"].as_str().unwrap())
            .collect();
        assert!(named.iter().all(|n| names.contains(n)), "{list}");
    }
}

/// An organization subscribed to a product that declares CORE, PAYROLL
/// (requires CORE) and LITE (excludes PAYROLL): (organization,
/// subscription, product).
async fn subscribed(app: &TestApp, name: &str) -> (i64, i64, i64) {
    let organization = organization(app, name).await;
    let product = new_product(app, &format!("{name}-product")).await;
    declared(
        app,
        product,
        json!({"moduleString": "CORE", "sfModuleId": "m-core", "sfProductId": "p-core", "pupm": 2.5}),
    )
    .await;
    declared(
        app,
        product,
        json!({"moduleString": "PAYROLL", "requires": [requires("CORE")], "sfModuleId": "m-pay"}),
    )
    .await;
    declared(
        app,
        product,
        json!({"moduleString": "LITE", "requires": [excludes("PAYROLL")]}),
    )
    .await;
    let subscription = subscription(
        app,
        organization,
        product,
        json!({"sfLicenseId": "lic-1", "sfContractId": "con-1", "sfSubscriptionId": "sub-1"}),
    )
    .await;
    (organization, subscription, product)
}

async fn upsell_catalog_lists_live_subscriptions_modules(app: TestApp) {
    let (acme, live, product) = subscribed(&app, "acme").await;
    let second_product = new_product(&app, "second").await;
    declared(
        &app,
        second_product,
        json!({"moduleString": "A-ONE", "softwareDeliveryType": "OnPremise", "pupm": 10}),
    )
    .await;
    let second = subscription(&app, acme, second_product, json!({})).await;
    // Subscriptions that are not live are left out.
    subscription(&app, acme, product, json!({"status": "Suspended"})).await;
    subscription(&app, acme, product, json!({"isEnabled": false})).await;
    subscription(&app, acme, product, json!({"status": "Pending"})).await;
    let expired = subscription(&app, acme, product, json!({})).await;
    let patched = app
        .patch(
            &format!("/v1/subscriptions/{expired}"),
            json!({"expires": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    // One that expires later is live.
    let expiring = subscription(
        &app,
        acme,
        second_product,
        json!({"expires": "2099-01-01T00:00:00Z"}),
    )
    .await;
    // A subscription to a product without modules adds nothing.
    let bare = new_product(&app, "bare").await;
    subscription(&app, acme, bare, json!({})).await;
    // Another organization's subscription is not acme's.
    let (other, _, _) = subscribed(&app, "other").await;

    let listed_items = catalog(&app, acme).await;
    let listed: Vec<(i64, &str)> = listed_items
        .iter()
        .map(|i| {
            (
                i["subscriptionId"].as_i64().unwrap(),
                i["moduleString"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (live, "CORE"),
            (live, "LITE"),
            (live, "PAYROLL"),
            (second, "A-ONE"),
            (expiring, "A-ONE"),
        ]
    );
    assert_eq!(
        listed_items[0],
        json!({
            "subscriptionId": live, "sfModuleId": "m-core", "sfProductId": "p-core",
            "sfAccountId": null, "sfLicenseId": "lic-1", "sfContractId": "con-1",
            "sfSubscriptionId": "sub-1", "moduleString": "CORE", "currentQuantity": 0,
            "currentPupm": 2.5, "softwareDeliveryType": null, "dependencies": [],
        })
    );
    assert_eq!(
        listed_items[1]["dependencies"],
        json!([{"mode": "Excludes", "moduleString": "PAYROLL"}])
    );
    assert_eq!(listed_items[2]["sfModuleId"], "m-pay");
    assert_eq!(listed_items[2]["sfProductId"], Value::Null);
    assert_eq!(listed_items[2]["currentPupm"], Value::Null);
    assert_eq!(
        listed_items[2]["dependencies"],
        json!([{"mode": "Requires", "moduleString": "CORE"}])
    );
    assert_eq!(
        listed_items[3],
        json!({
            "subscriptionId": second, "sfModuleId": null, "sfProductId": null,
            "sfAccountId": null, "sfLicenseId": null, "sfContractId": null,
            "sfSubscriptionId": null, "moduleString": "A-ONE", "currentQuantity": 0,
            "currentPupm": 10.0, "softwareDeliveryType": "OnPremise", "dependencies": [],
        })
    );

    // A completed request shows in the quantities.
    let made = requested(&app, items(live, &[("CORE", 7)])).await;
    assert_eq!(held(&app, acme, live, "CORE").await, 0);
    let done = patch_request(&app, &made["id"], json!({"status": "Completed"})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(held(&app, acme, live, "CORE").await, 7);
    assert_eq!(held(&app, acme, live, "PAYROLL").await, 0);

    // A subscription that stops being live leaves the catalog.
    app.patch(
        &format!("/v1/subscriptions/{second}"),
        json!({"status": "Cancelled"}),
    )
    .await;
    assert_eq!(catalog(&app, acme).await.len(), 4);
    let others = catalog(&app, other).await;
    assert_eq!(others.len(), 3);
    assert!(others.iter().all(|i| i["subscriptionId"] != live));

    let empty = organization(&app, "empty").await;
    assert_eq!(catalog(&app, empty).await, Vec::<Value>::new());
    for unknown in ["999999", "acme"] {
        let path = format!("/v1/subscriptions/upsell-catalog/{unknown}");
        assert_problem(&app.get(&path).await, 404, &path);
    }
    // The catalog's path does not hide a subscription's log.
    let logs = app.get(&format!("/v1/subscriptions/{live}/logs")).await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
}

async fn upsell_request_create_and_get(app: TestApp) {
    let (acme, subscription, _) = subscribed(&app, "acme").await;
    let body = json!({"organizationId": acme, "subscriptionId": subscription, "requestItems": [
        {"moduleString": "CORE", "requestedAdditionalQuantity": 5, "currentQuantity": 0,
         "sfModuleId": "m-core", "sfProductId": "p-core", "sfSubscriptionId": "sub-1"},
        {"moduleString": "PAYROLL", "requestedAdditionalQuantity": 2},
    ]});
    let created = request(&app, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/upsell-requests/{id}").as_str()
    );
    assert_eq!(
        keys(&created.body),
        [
            "created",
            "createdBy",
            "id",
            "modified",
            "modifiedBy",
            "organizationId",
            "requestItems",
            "sfContractId",
            "sfLicenseId",
            "sfOpportunityId",
            "status",
            "statusText",
            "subscriptionId"
        ]
    );
    assert_eq!(created.body["status"], "Pending");
    assert_eq!(created.body["statusText"], Value::Null);
    assert_eq!(created.body["organizationId"], acme);
    assert_eq!(created.body["subscriptionId"], subscription);
    assert_eq!(created.body["sfLicenseId"], "lic-1");
    assert_eq!(created.body["sfContractId"], "con-1");
    assert_eq!(created.body["sfOpportunityId"], Value::Null);
    assert_eq!(created.body["createdBy"], app.admin_id.as_str());
    assert_eq!(
        created.body["requestItems"],
        json!([
            {"sfModuleId": "m-core", "sfProductId": "p-core", "sfSubscriptionId": "sub-1",
             "moduleString": "CORE", "currentQuantity": 0, "requestedAdditionalQuantity": 5},
            {"sfModuleId": "m-pay", "sfProductId": null, "sfSubscriptionId": "sub-1",
             "moduleString": "PAYROLL", "currentQuantity": 0, "requestedAdditionalQuantity": 2},
        ])
    );
    assert_eq!(
        newest_log(&app, subscription).await,
        format!("Upsell request {id} created: CORE +5, PAYROLL +2")
    );
    let event = newest_event(&app).await;
    assert_eq!(event["resourceType"], "upsellRequest");
    assert_eq!(event["resourceId"], id.to_string().as_str());
    assert_eq!(event["operation"], "CreateUpsellRequest");

    let path = format!("/v1/upsell-requests/{id}");
    let got = app.get(&path).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body, created.body);
    let selected = app.get(&format!("{path}?$select=id,status")).await;
    assert_eq!(selected.status, StatusCode::OK, "{}", selected.body);
    assert_eq!(selected.body, json!({"id": id, "status": "Pending"}));
    assert_problem(
        &app.get(&format!("{path}?$select=nothing")).await,
        400,
        &path,
    );
    for unknown in ["999999", "first"] {
        let path = format!("/v1/upsell-requests/{unknown}");
        assert_problem(&app.get(&path).await, 404, &path);
    }
    // Without organizationId, the subscription's organization.
    let plain = requested(&app, items(subscription, &[("CORE", 1)])).await;
    assert_eq!(plain["organizationId"], acme);
}

async fn upsell_request_refusals(app: TestApp) {
    let (acme, subscription, _) = subscribed(&app, "acme").await;
    let other = organization(&app, "other").await;
    let path = "/v1/upsell-requests";
    let before = newest_event(&app).await["id"].clone();
    for (body, field) in [
        (items(999999, &[("CORE", 1)]), "subscriptionId"),
        (
            json!({"organizationId": other, "subscriptionId": subscription,
                "requestItems": [{"moduleString": "CORE", "requestedAdditionalQuantity": 1}]}),
            "organizationId",
        ),
        (
            items(subscription, &[("CORE", 1), ("NONE", 1)]),
            "requestItems[1].moduleString",
        ),
        (
            items(subscription, &[("CORE", 1), ("CORE", 2)]),
            "requestItems[1].moduleString",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "sfModuleId": "m-pay"}]}),
            "requestItems[0].sfModuleId",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "PAYROLL", "requestedAdditionalQuantity": 1, "sfProductId": "p-core"},
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1}]}),
            "requestItems[0].sfProductId",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "sfSubscriptionId": "sub-2"}]}),
            "requestItems[0].sfSubscriptionId",
        ),
    ] {
        let reply = request(&app, body.clone()).await;
        assert_names(&reply, 422, path, field);
    }
    // A module of another product is not the subscription's.
    let (_, _, other_product) = subscribed(&app, "elsewhere").await;
    declared(&app, other_product, json!({"moduleString": "EXTRA"})).await;
    assert_problem(
        &request(&app, items(subscription, &[("EXTRA", 1)])).await,
        422,
        path,
    );

    // A stale currentQuantity is a conflict that gives the current one.
    let made = requested(&app, items(subscription, &[("CORE", 3)])).await;
    patch_request(&app, &made["id"], json!({"status": "Completed"})).await;
    let stale = request(
        &app,
        json!({"organizationId": acme, "subscriptionId": subscription, "requestItems": [
            {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "currentQuantity": 0}]}),
    )
    .await;
    assert_problem(&stale, 409, path);
    let detail = stale.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("stale") && detail.contains("holds 3 of 'CORE'"),
        "{detail}"
    );
    let fresh = requested(
        &app,
        json!({"subscriptionId": subscription, "requestItems": [
            {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "currentQuantity": 3}]}),
    )
    .await;
    assert_eq!(fresh["requestItems"][0]["currentQuantity"], 3);
    // The refused requests wrote nothing: the events since are the
    // request, its completion and the last request.
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'upsellRequest'&$orderby=id desc&$top=10")
        .await;
    let after: Vec<&Value> = events.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"].as_i64() > before.as_i64())
        .collect();
    assert_eq!(after.len(), 3, "{}", events.body);
}

async fn upsell_request_body_edges(app: TestApp) {
    let (_, subscription, product) = subscribed(&app, "acme").await;
    let fifty: Vec<String> = (0..50).map(|i| format!("M{i}")).collect();
    for name in &fifty {
        declared(&app, product, json!({"moduleString": name})).await;
    }
    let all: Vec<(&str, i64)> = fifty.iter().map(|n| (n.as_str(), 1)).collect();
    let ok = request(&app, items(subscription, &all)).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["requestItems"].as_array().unwrap().len(), 50);
    let edges = requested(
        &app,
        json!({"subscriptionId": subscription, "organizationId": null, "requestItems": [
            {"moduleString": "CORE", "requestedAdditionalQuantity": 1000000.0, "currentQuantity": 0,
             "sfModuleId": "m-core"}]}),
    )
    .await;
    assert_eq!(
        edges["requestItems"][0]["requestedAdditionalQuantity"],
        1000000
    );
    let mut fifty_one = all.clone();
    fifty_one.push(("CORE", 1));
    let path = "/v1/upsell-requests";
    let both = request(&app, json!({})).await;
    assert_problem(&both, 400, path);
    assert_eq!(
        keys(&both.body["errors"]),
        ["requestItems", "subscriptionId"]
    );
    for (body, field) in [
        (json!({"subscriptionId": subscription}), "requestItems"),
        (
            json!({"subscriptionId": subscription, "requestItems": []}),
            "requestItems",
        ),
        (items(subscription, &fifty_one), "requestItems"),
        (
            json!({"requestItems": [{"moduleString": "CORE", "requestedAdditionalQuantity": 1}]}),
            "subscriptionId",
        ),
        (
            items(subscription, &[("CORE", 0)]),
            "requestItems[0].requestedAdditionalQuantity",
        ),
        (
            items(subscription, &[("CORE", 1000001)]),
            "requestItems[0].requestedAdditionalQuantity",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [{"moduleString": "CORE"}]}),
            "requestItems[0].requestedAdditionalQuantity",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [{"requestedAdditionalQuantity": 1}]}),
            "requestItems[0].moduleString",
        ),
        (
            items(subscription, &[("C O R E", 1)]),
            "requestItems[0].moduleString",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "currentQuantity": -1}]}),
            "requestItems[0].currentQuantity",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "sfModuleId": "m".repeat(256)}]}),
            "requestItems[0].sfModuleId",
        ),
        (
            json!({"subscriptionId": subscription, "requestItems": [
                {"moduleString": "CORE", "requestedAdditionalQuantity": 1, "sfSubscriptionId": ""}]}),
            "requestItems[0].sfSubscriptionId",
        ),
    ] {
        let reply = request(&app, body.clone()).await;
        assert_names(&reply, 400, path, field);
    }
    for body in [
        json!({"subscriptionId": "1", "requestItems": []}),
        json!({"subscriptionId": 1.5, "requestItems": []}),
        json!({"subscriptionId": subscription, "requestItems": [
            {"moduleString": "CORE", "requestedAdditionalQuantity": 2147483648_i64}]}),
        json!({"subscriptionId": subscription, "requestItems": [], "extra": true}),
    ] {
        assert_problem(&request(&app, body).await, 400, path);
    }
}

async fn upsell_request_subscription_must_be_live(app: TestApp) {
    let (_, subscription, _) = subscribed(&app, "acme").await;
    let path = format!("/v1/subscriptions/{subscription}");
    for (change, undo, why) in [
        (
            json!({"status": "Suspended"}),
            json!({"status": "Active"}),
            "its status is Suspended",
        ),
        (
            json!({"isEnabled": false}),
            json!({"isEnabled": true}),
            "it is disabled",
        ),
        (
            json!({"expires": "2020-01-01T00:00:00Z"}),
            json!({"expires": null}),
            "it expired at 2020-01-01T00:00:00",
        ),
    ] {
        let patched = app.patch(&path, change).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let refused = request(&app, items(subscription, &[("CORE", 1)])).await;
        assert_problem(&refused, 409, "/v1/upsell-requests");
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{detail}");
        app.patch(&path, undo).await;
        requested(&app, items(subscription, &[("CORE", 1)])).await;
    }
}

async fn upsell_dependency_rules_are_enforced(app: TestApp) {
    let (acme, subscription, _) = subscribed(&app, "acme").await;
    let path = "/v1/upsell-requests";
    // PAYROLL requires CORE: neither held nor requested.
    let refused = request(&app, items(subscription, &[("PAYROLL", 1)])).await;
    assert_problem(&refused, 409, path);
    assert_eq!(
        refused.body["detail"],
        "module 'PAYROLL' requires 'CORE', which the subscription neither holds nor requests"
    );
    // Requested with it.
    requested(&app, items(subscription, &[("PAYROLL", 1), ("CORE", 1)])).await;
    // LITE excludes PAYROLL: not both in one request.
    let together = request(
        &app,
        items(subscription, &[("LITE", 1), ("PAYROLL", 1), ("CORE", 1)]),
    )
    .await;
    assert_problem(&together, 409, path);
    assert_eq!(
        together.body["detail"],
        "module 'LITE' excludes 'PAYROLL', which is requested"
    );
    // Held: CORE, then PAYROLL once completed.
    let core = requested(&app, items(subscription, &[("CORE", 2)])).await;
    patch_request(&app, &core["id"], json!({"status": "Completed"})).await;
    requested(&app, items(subscription, &[("PAYROLL", 1)])).await;
    let payroll = requested(&app, items(subscription, &[("PAYROLL", 4)])).await;
    patch_request(&app, &payroll["id"], json!({"status": "Completed"})).await;
    assert_eq!(held(&app, acme, subscription, "PAYROLL").await, 4);
    let held_refusal = request(&app, items(subscription, &[("LITE", 1)])).await;
    assert_problem(&held_refusal, 409, path);
    assert_eq!(
        held_refusal.body["detail"],
        "module 'LITE' excludes 'PAYROLL', which the subscription holds"
    );
    // The other way round: a held LITE refuses a requested PAYROLL.
    let (other, second, _) = subscribed(&app, "other").await;
    let lite = requested(&app, items(second, &[("LITE", 1), ("CORE", 1)])).await;
    patch_request(&app, &lite["id"], json!({"status": "Completed"})).await;
    assert_eq!(held(&app, other, second, "LITE").await, 1);
    let by_held = request(&app, items(second, &[("PAYROLL", 1)])).await;
    assert_problem(&by_held, 409, path);
    assert_eq!(
        by_held.body["detail"],
        "module 'LITE' (which the subscription holds) excludes 'PAYROLL', which is requested"
    );
}

async fn upsell_request_lifecycle(app: TestApp) {
    let (acme, subscription, _) = subscribed(&app, "acme").await;
    let made = requested(&app, items(subscription, &[("CORE", 5)])).await;
    let id = made["id"].clone();
    let path = format!("/v1/upsell-requests/{id}");

    // Nothing to change: nothing written.
    let before = newest_event(&app).await["id"].clone();
    for body in [
        json!({}),
        json!({"status": "Pending"}),
        json!({"status": null}),
    ] {
        let same = patch_request(&app, &id, body).await;
        assert_eq!(same.status, StatusCode::OK, "{}", same.body);
        assert_eq!(same.body, made);
    }
    assert_eq!(newest_event(&app).await["id"], before);

    let submitted = patch_request(
        &app,
        &id,
        json!({"status": "submitted", "statusText": "sent to sales", "sfOpportunityId": "006A"}),
    )
    .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["status"], "Submitted");
    assert_eq!(submitted.body["statusText"], "sent to sales");
    assert_eq!(submitted.body["sfOpportunityId"], "006A");
    assert_eq!(submitted.body["requestItems"], made["requestItems"]);
    assert_ne!(submitted.body["modified"], made["modified"]);
    assert_eq!(
        newest_log(&app, subscription).await,
        format!("Upsell request {id}: Pending → Submitted")
    );
    let event = newest_event(&app).await;
    assert_eq!(event["operation"], "PatchUpsellRequest");
    assert_eq!(event["changes"]["status"]["before"], "Pending");
    assert_eq!(held(&app, acme, subscription, "CORE").await, 0);

    let back = patch_request(&app, &id, json!({"status": "Pending"})).await;
    assert_problem(&back, 409, &path);
    // A text change alone is no status change: not logged.
    let cleared = patch_request(&app, &id, json!({"statusText": null})).await;
    assert_eq!(cleared.body["statusText"], Value::Null);
    assert_eq!(cleared.body["sfOpportunityId"], "006A");
    assert_eq!(
        newest_log(&app, subscription).await,
        format!("Upsell request {id}: Pending → Submitted")
    );

    let completed = patch_request(&app, &id, json!({"status": "Completed"})).await;
    assert_eq!(completed.status, StatusCode::OK, "{}", completed.body);
    assert_eq!(completed.body["status"], "Completed");
    assert_eq!(held(&app, acme, subscription, "CORE").await, 5);
    assert_eq!(
        newest_log(&app, subscription).await,
        format!("Upsell request {id} completed: CORE +5")
    );
    // Final: any change is a conflict, and nothing is added again.
    for body in [
        json!({"status": "Completed"}),
        json!({"status": "Rejected"}),
        json!({"statusText": "again"}),
    ] {
        assert_problem(&patch_request(&app, &id, body).await, 409, &path);
    }
    assert_eq!(held(&app, acme, subscription, "CORE").await, 5);

    // Pending may be rejected straight away; rejecting adds nothing.
    let other = requested(&app, items(subscription, &[("CORE", 2)])).await;
    assert_eq!(other["requestItems"][0]["currentQuantity"], 5);
    let rejected = patch_request(&app, &other["id"], json!({"status": "Rejected"})).await;
    assert_eq!(rejected.body["status"], "Rejected");
    assert_eq!(held(&app, acme, subscription, "CORE").await, 5);
    let again = patch_request(&app, &other["id"], json!({"status": "Completed"})).await;
    assert_problem(&again, 409, &format!("/v1/upsell-requests/{}", other["id"]));

    for (body, field) in [
        (json!({"status": "Done"}), "status"),
        (json!({"statusText": "s".repeat(251)}), "statusText"),
        (json!({"sfOpportunityId": ""}), "sfOpportunityId"),
        (
            json!({"sfOpportunityId": "o".repeat(256)}),
            "sfOpportunityId",
        ),
    ] {
        let reply = patch_request(&app, &made["id"], body).await;
        assert_names(&reply, 400, &path, field);
    }
    let fresh = requested(&app, items(subscription, &[("CORE", 1)])).await;
    let edges = patch_request(
        &app,
        &fresh["id"],
        json!({"statusText": "s".repeat(250), "sfOpportunityId": "o".repeat(255)}),
    )
    .await;
    assert_eq!(edges.status, StatusCode::OK, "{}", edges.body);
    let unknown = "/v1/upsell-requests/999999";
    assert_problem(
        &app.patch(unknown, json!({"status": "Rejected"})).await,
        404,
        unknown,
    );

    // The list pages and filters.
    let (_, second, _) = subscribed(&app, "other").await;
    requested(&app, items(second, &[("CORE", 1)])).await;
    let all = app.get("/v1/upsell-requests?$count=true").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["@odata.count"], 4);
    let ids: Vec<i64> = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    let mine = app
        .get(&format!(
            "/v1/upsell-requests?$filter=subscriptionId eq {subscription} and status eq 'Pending'"
        ))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let value = mine.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["id"], fresh["id"]);
    let of_acme = app
        .get(&format!(
            "/v1/upsell-requests?$filter=organizationId eq {acme}&$top=1"
        ))
        .await;
    assert_eq!(of_acme.body["value"].as_array().unwrap().len(), 1);
    assert!(
        of_acme.body["@odata.nextLink"].is_string(),
        "{}",
        of_acme.body
    );
    assert_problem(
        &app.get("/v1/upsell-requests?$filter=requestItems eq 'x'")
            .await,
        400,
        "/v1/upsell-requests",
    );
}

async fn upsell_racing_completions_add_once(app: TestApp) {
    let (acme, subscription, _) = subscribed(&app, "acme").await;
    let made = requested(&app, items(subscription, &[("CORE", 5), ("LITE", 2)])).await;
    let replies =
        join_all((0..8).map(|_| patch_request(&app, &made["id"], json!({"status": "Completed"}))))
            .await;
    let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(held(&app, acme, subscription, "CORE").await, 5);
    assert_eq!(held(&app, acme, subscription, "LITE").await, 2);

    // Completions of different requests to one subscription all add up.
    let requests =
        join_all((0..6).map(|_| request(&app, items(subscription, &[("CORE", 1)])))).await;
    let ids: Vec<Value> = requests
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.body["id"].clone()
        })
        .collect();
    let completions = join_all(
        ids.iter()
            .map(|id| patch_request(&app, id, json!({"status": "Completed"}))),
    )
    .await;
    assert!(completions.iter().all(|r| r.status == StatusCode::OK));
    assert_eq!(held(&app, acme, subscription, "CORE").await, 11);
}

async fn upsell_permissions(app: TestApp) {
    let (acme, subscription, product) = subscribed(&app, "acme").await;
    let made = requested(&app, items(subscription, &[("CORE", 1)])).await;
    let id = made["id"].as_i64().unwrap();
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
    let modules = modules_path(product);
    let create = items(subscription, &[("CORE", 1)]);
    let cases: Vec<(Method, String, Option<Value>, &'static str, &'static str)> = vec![
        (
            Method::PUT,
            modules.clone(),
            Some(
                json!({"moduleString": "CORE", "sfModuleId": "m-core", "sfProductId": "p-core", "pupm": 2.5}),
            ),
            "product.write",
            "product.read",
        ),
        (
            Method::GET,
            modules.clone(),
            None,
            "product.read",
            "product.write",
        ),
        (
            Method::GET,
            format!("{modules}/CORE"),
            None,
            "product.read",
            "upsell_request.read",
        ),
        (
            Method::GET,
            format!("/v1/subscriptions/upsell-catalog/{acme}"),
            None,
            "upsell_request.read",
            "subscription.read",
        ),
        (
            Method::POST,
            "/v1/upsell-requests".into(),
            Some(create),
            "upsell-request.write",
            "upsell_request.read",
        ),
        (
            Method::GET,
            "/v1/upsell-requests".into(),
            None,
            "upsell_request.read",
            "upsell-request.write",
        ),
        (
            Method::GET,
            format!("/v1/upsell-requests/{id}"),
            None,
            "upsell_request.read",
            "subscription.read",
        ),
        (
            Method::PATCH,
            format!("/v1/upsell-requests/{id}"),
            Some(json!({"statusText": "checked"})),
            "upsell-request.write",
            "upsell_request.read",
        ),
    ];
    for (method, path, body, allowed, lacking) in cases {
        let refused = as_key(lacking, method.clone(), path.clone(), body.clone()).await;
        assert_problem(&refused, 403, &path);
        let reply = as_key(allowed, method.clone(), path.clone(), body).await;
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.body);
    }
    // The spelling matters: the reference's two spellings are two permissions.
    let refused = as_key(
        "upsell-request.read",
        Method::GET,
        format!("/v1/upsell-requests/{id}"),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let deleted = as_key(
        "product.write",
        Method::DELETE,
        format!("{modules}/LITE"),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let refused = as_key(
        "product.read",
        Method::DELETE,
        format!("{modules}/PAYROLL"),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
