//! Application deployments, their users, and the entitlement `$sync`
//! answers from them.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_problem, basic, both_backends, keys, Reply, TestApp};
use crate::sync::{linked_user, sync_body};

both_backends!(
    deployment_lifecycle,
    deployment_validation,
    assigning_users,
    a_full_deployment_refuses_new_users,
    racing_for_the_last_seat,
    deployment_permissions,
    sync_answers_whether_the_user_is_entitled,
    every_term_of_an_entitlement_counts,
    the_user_shows_its_deployments,
    what_is_in_use_cannot_be_deleted,
    lowering_the_cap_races_assignments,
    deleting_races_assignments,
    the_user_count_follows_deleted_users,
    deleting_a_user_races_its_reassignment,
);

/// A product, an application of it run by `clients` (tenant name, client
/// id), and the organization's subscription to the product.
pub struct Catalog {
    pub product: i64,
    pub application: i64,
    pub subscription: i64,
}

pub async fn catalog(
    app: &TestApp,
    name: &str,
    organization: i64,
    clients: &[(i64, &str)],
) -> Catalog {
    let product = app
        .post("/v1/products", json!({"name": name, "displayName": name}))
        .await;
    assert_eq!(product.status, StatusCode::CREATED, "{}", product.body);
    let product = product.body["id"].as_i64().unwrap();
    let clients: Vec<Value> = clients
        .iter()
        .map(|(tenant, client)| json!({"idpTenantId": tenant, "clientId": client}))
        .collect();
    let application = app
        .post(
            "/v1/applications",
            json!({"productId": product, "name": name, "displayName": name, "clients": clients}),
        )
        .await;
    assert_eq!(
        application.status,
        StatusCode::CREATED,
        "{}",
        application.body
    );
    let subscription = app
        .post(
            "/v1/subscriptions",
            json!({"organizationId": organization, "productId": product}),
        )
        .await;
    assert_eq!(
        subscription.status,
        StatusCode::CREATED,
        "{}",
        subscription.body
    );
    Catalog {
        product,
        application: application.body["id"].as_i64().unwrap(),
        subscription: subscription.body["id"].as_i64().unwrap(),
    }
}

async fn deploy(app: &TestApp, catalog: &Catalog, extra: Value) -> Reply {
    let mut body = json!({
        "applicationId": catalog.application,
        "subscriptionId": catalog.subscription,
        "name": "acme-prod",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/v1/application-deployments", body).await
}

pub async fn deployed(app: &TestApp, catalog: &Catalog, extra: Value) -> i64 {
    let reply = deploy(app, catalog, extra).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_i64().unwrap()
}

async fn assign(app: &TestApp, deployment: i64, body: Value) -> Reply {
    app.post(
        &format!("/v1/application-deployments/{deployment}/users"),
        body,
    )
    .await
}

pub async fn organization_id(app: &TestApp, name: &str) -> i64 {
    app.organization(name).await["id"].as_i64().unwrap()
}

pub async fn user_in(app: &TestApp, organization: &str) -> String {
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let tenant = app.tenant(&format!("t{}", &suffix[20..])).await;
    let reply = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Database", "displayName": "Ann Other",
                   "idpTenantId": tenant["name"], "organization": organization}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn deployment_lifecycle(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let created = deploy(
        &app,
        &catalog,
        json!({"displayName": "Acme production", "maxUserCount": 10,
               "customMetadata": {"region": "eu"}, "configuration": "tier=gold"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/application-deployments/{id}").as_str()
    );
    assert_eq!(
        keys(&created.body),
        [
            "application",
            "applicationId",
            "configuration",
            "created",
            "createdBy",
            "customMetadata",
            "deploymentTarget",
            "deploymentTargetId",
            "displayName",
            "expires",
            "id",
            "maxUserCount",
            "modified",
            "modifiedBy",
            "name",
            "organizationId",
            "readonlyMetadata",
            "status",
            "statusResolution",
            "steps",
            "subscription",
            "subscriptionId",
            "userCount",
        ]
    );
    assert_eq!(created.body["status"], "Active");
    assert_eq!(created.body["organizationId"], acme);
    assert_eq!(created.body["customMetadata"], json!({"region": "eu"}));
    assert_eq!(created.body["userCount"], 0);

    let path = format!("/v1/application-deployments/{id}");
    let got = app.get(&path).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, created.body);

    let patched = app
        .patch(
            &path,
            json!({"status": "Suspended", "statusResolution": "unpaid", "maxUserCount": null}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["status"], "Suspended");
    assert_eq!(patched.body["statusResolution"], "unpaid");
    assert_eq!(patched.body["maxUserCount"], Value::Null);
    assert_eq!(patched.body["displayName"], "Acme production");
    // A patch that changes nothing changes nothing, not even `modified`.
    let again = app.patch(&path, json!({"status": "suspended"})).await;
    assert_eq!(again.body["modified"], patched.body["modified"]);

    let second = deployed(&app, &catalog, json!({"name": "acme-test"})).await;
    let list = app
        .get(&format!(
            "/v1/application-deployments?$filter=organizationId eq {acme}"
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let ids: Vec<i64> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id, second]);
    let active = app
        .get("/v1/application-deployments?$filter=status eq 'Active'")
        .await;
    assert_eq!(active.body["value"].as_array().unwrap().len(), 1);

    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get(&path).await, 404, &path);
    assert_problem(&app.delete(&path).await, 404, &path);
}

async fn deployment_validation(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let other = self::catalog(&app, "payroll", acme, &[]).await;
    for (extra, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "n".repeat(101)}), "name"),
        (json!({"displayName": "d".repeat(251)}), "displayName"),
        (json!({"status": "Gone"}), "status"),
        (json!({"maxUserCount": -1}), "maxUserCount"),
        (json!({"expires": "soon"}), "expires"),
    ] {
        let reply = deploy(&app, &catalog, extra.clone()).await;
        assert_problem(&reply, 400, "/v1/application-deployments");
        assert!(
            reply.body["errors"].get(field).is_some(),
            "{extra}: {}",
            reply.body
        );
    }
    let not_an_object = deploy(&app, &catalog, json!({"customMetadata": [1]})).await;
    assert_eq!(not_an_object.status, StatusCode::BAD_REQUEST);
    let too_big = deploy(
        &app,
        &catalog,
        json!({"customMetadata": {"blob": "x".repeat(16 * 1024)}}),
    )
    .await;
    // The document cannot state a size in bytes: 422.
    assert_problem(&too_big, 422, "/v1/application-deployments");
    assert!(too_big.body["errors"].get("customMetadata").is_some());

    // What the body names must exist, and fit together.
    let unknown = app
        .post(
            "/v1/application-deployments",
            json!({"applicationId": 999_999, "subscriptionId": catalog.subscription, "name": "x"}),
        )
        .await;
    assert_problem(&unknown, 422, "/v1/application-deployments");
    assert!(unknown.body["errors"].get("applicationId").is_some());
    let unknown = app
        .post(
            "/v1/application-deployments",
            json!({"applicationId": catalog.application, "subscriptionId": 999_999, "name": "x"}),
        )
        .await;
    assert!(unknown.body["errors"].get("subscriptionId").is_some());
    let mismatch = app
        .post(
            "/v1/application-deployments",
            json!({"applicationId": catalog.application, "subscriptionId": other.subscription, "name": "x"}),
        )
        .await;
    assert_problem(&mismatch, 422, "/v1/application-deployments");
    let detail = mismatch.body["errors"]["subscriptionId"][0]
        .as_str()
        .unwrap();
    assert!(
        detail.contains(&format!("product {}", other.product)),
        "{detail}"
    );

    // Nothing was written by any refusal.
    let list = app.get("/v1/application-deployments").await;
    assert_eq!(list.body["value"], json!([]));
    let path = "/v1/application-deployments/notanumber";
    assert_problem(&app.get(path).await, 404, path);
}

async fn assigning_users(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    organization_id(&app, "other").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({})).await;
    let member = user_in(&app, "acme").await;
    let outsider = user_in(&app, "other").await;
    let users = format!("/v1/application-deployments/{deployment}/users");

    let added = assign(
        &app,
        deployment,
        json!({"userId": member, "expires": "2099-01-01T00:00:00Z", "metadata": {"seat": 1}}),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(
        keys(&added.body),
        [
            "applicationDeploymentId",
            "created",
            "createdBy",
            "expires",
            "isActive",
            "metadata",
            "modified",
            "modifiedBy",
            "userId"
        ]
    );
    assert_eq!(added.body["isActive"], true);
    assert_eq!(added.body["expires"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(added.body["metadata"], json!({"seat": 1}));
    // Assigning again replaces the terms.
    let changed = assign(
        &app,
        deployment,
        json!({"userId": member, "isActive": false}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["isActive"], false);
    assert_eq!(changed.body["expires"], Value::Null);
    assert_eq!(changed.body["created"], added.body["created"]);

    // Not a member of the organization that holds the subscription.
    let refused = assign(&app, deployment, json!({"userId": outsider})).await;
    assert_problem(&refused, 409, &users);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("addToOrganization"));
    let members = app.get(&format!("/v1/organizations/{acme}/members")).await;
    assert_eq!(members.body["value"].as_array().unwrap().len(), 1);
    // … unless it is made one.
    let joined = assign(
        &app,
        deployment,
        json!({"userId": outsider, "addToOrganization": true}),
    )
    .await;
    assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.body);
    let membership = app
        .get(&format!("/v1/organizations/{acme}/members/{outsider}"))
        .await;
    assert_eq!(membership.status, StatusCode::OK);

    let unknown = assign(&app, deployment, json!({"userId": "nobody"})).await;
    assert_problem(&unknown, 422, &users);
    let missing = assign(&app, deployment, json!({})).await;
    assert_problem(&missing, 400, &users);
    let nowhere = assign(&app, 999_999, json!({"userId": member})).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    let list = app.get(&users).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let mut expected = vec![member.clone(), outsider.clone()];
    expected.sort();
    let listed: Vec<&str> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, expected);
    let count = app
        .get(&format!("/v1/application-deployments/{deployment}"))
        .await;
    assert_eq!(count.body["userCount"], 2);

    let one = format!("{users}/{member}");
    assert_eq!(app.delete(&one).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.delete(&one).await, 404, &one);
    let list = app.get(&users).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
}

async fn a_full_deployment_refuses_new_users(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({"maxUserCount": 1})).await;
    let first = user_in(&app, "acme").await;
    let second = user_in(&app, "acme").await;
    assert_eq!(
        assign(&app, deployment, json!({"userId": first}))
            .await
            .status,
        StatusCode::CREATED
    );
    let full = assign(&app, deployment, json!({"userId": second})).await;
    assert_problem(
        &full,
        409,
        &format!("/v1/application-deployments/{deployment}/users"),
    );
    assert!(full.body["detail"].as_str().unwrap().contains("full"));
    // A user already assigned may still change its terms.
    let again = assign(
        &app,
        deployment,
        json!({"userId": first, "isActive": false}),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    // The limit cannot go below the users assigned; it can go up.
    let path = format!("/v1/application-deployments/{deployment}");
    let below = app.patch(&path, json!({"maxUserCount": 0})).await;
    assert_problem(&below, 409, &path);
    let raised = app.patch(&path, json!({"maxUserCount": 2})).await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.body);
    assert_eq!(
        assign(&app, deployment, json!({"userId": second}))
            .await
            .status,
        StatusCode::CREATED
    );
}

/// Ten members race for the last two seats: two get them, and the
/// deployment never holds more than its limit.
async fn racing_for_the_last_seat(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({"maxUserCount": 2})).await;
    let mut users = Vec::new();
    for _ in 0..10 {
        users.push(user_in(&app, "acme").await);
    }
    let replies = join_all(
        users
            .iter()
            .map(|user| assign(&app, deployment, json!({"userId": user}))),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let full = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, full),
        (2, 8),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let got = app
        .get(&format!("/v1/application-deployments/{deployment}"))
        .await;
    assert_eq!(got.body["userCount"], 2);
}

async fn deployment_permissions(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({})).await;
    let member = user_in(&app, "acme").await;
    let users = format!("/v1/application-deployments/{deployment}/users");
    let body = json!({"userId": member});
    let as_key = |permissions: &'static str| {
        let app = &app;
        let body = body.clone();
        let users = users.clone();
        async move {
            let key = app.key(permissions).await;
            app.request_as(
                Method::POST,
                &users,
                &[("authorization", basic(&key))],
                Some(&body),
            )
            .await
        }
    };
    assert_eq!(
        as_key("application.deployment.read").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_key("application.deployment.write").await.status,
        StatusCode::FORBIDDEN
    );
    let reply = as_key("application.deployment.user.write").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // A bare `write` stands for every `*.write`.
    assert_eq!(as_key("write").await.status, StatusCode::OK);

    let key = app.key("application.deployment.read").await;
    let create = app
        .request_as(
            Method::POST,
            "/v1/application-deployments",
            &[("authorization", basic(&key))],
            Some(&json!({"applicationId": catalog.application, "subscriptionId": catalog.subscription, "name": "x"})),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    let list = app
        .request_as(Method::GET, &users, &[("authorization", basic(&key))], None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
}

/// A user linked on `corp-ad` in tenant `corp`, member of `acme`, and an
/// application run by the client `ledgerClient` of `corp`, deployed to
/// acme; returns (user, deployment, the subscription).
async fn entitled_setup(app: &TestApp) -> (String, i64, i64) {
    let user = linked_user(app).await;
    let tenant = app.get("/v1/idp_tenants/corp").await.body["id"]
        .as_i64()
        .unwrap();
    let acme = app
        .get("/v1/organizations?$filter=name eq 'acme'")
        .await
        .body["value"][0]["id"]
        .as_i64()
        .unwrap();
    let catalog = catalog(app, "ledger", acme, &[(tenant, "ledgerClient")]).await;
    let deployment = deployed(app, &catalog, json!({})).await;
    (user, deployment, catalog.subscription)
}

async fn login(app: &TestApp, user: &str, client: Option<&str>) -> Reply {
    let mut body = sync_body(&["Staff"], &[]);
    if let Some(client) = client {
        body["clientId"] = json!(client);
    }
    let reply = app.put(&format!("/v1/users/{user}/$sync"), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
}

async fn sync_answers_whether_the_user_is_entitled(app: TestApp) {
    let (user, deployment, _) = entitled_setup(&app).await;
    // No client, or a client of no application Nexus manages: no answer.
    assert!(login(&app, &user, None)
        .await
        .body
        .get("isEntitled")
        .is_none());
    let other = login(&app, &user, Some("someOtherClient")).await;
    assert!(other.body.get("isEntitled").is_none());
    // The application's client, before and after the user is assigned.
    assert_eq!(
        login(&app, &user, Some("ledgerClient")).await.body["isEntitled"],
        false
    );
    assert_eq!(
        assign(&app, deployment, json!({"userId": user}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        login(&app, &user, Some("ledgerClient")).await.body["isEntitled"],
        true
    );
    // A login that changes groups takes the write path: the same answer.
    let mut changed = sync_body(&["Staff", "Finance"], &[]);
    changed["clientId"] = json!("ledgerClient");
    let reply = app.put(&format!("/v1/users/{user}/$sync"), changed).await;
    assert_eq!(reply.body["isEntitled"], true, "{}", reply.body);

    let bad = app
        .put(
            &format!("/v1/users/{user}/$sync"),
            json!({"audience": "a", "attributes": [], "clientId": "no spaces",
                   "connection": {"connectionId": "corp-ad", "groups": []}}),
        )
        .await;
    assert_problem(&bad, 400, &format!("/v1/users/{user}/$sync"));
    assert!(bad.body["errors"].get("clientId").is_some());
}

/// Each of the assignment, the deployment and the subscription, switched
/// off or expired, refuses the login; switched back on, lets it in.
async fn every_term_of_an_entitlement_counts(app: TestApp) {
    let (user, deployment, subscription) = entitled_setup(&app).await;
    assign(&app, deployment, json!({"userId": user})).await;
    let entitled =
        || async { login(&app, &user, Some("ledgerClient")).await.body["isEntitled"].clone() };
    assert_eq!(entitled().await, true);
    let past = "2001-01-01T00:00:00Z";
    let deployment_path = format!("/v1/application-deployments/{deployment}");
    let subscription_path = format!("/v1/subscriptions/{subscription}");
    let cases: [(&str, Value, Value); 6] = [
        (
            &deployment_path,
            json!({"status": "Suspended"}),
            json!({"status": "Active"}),
        ),
        (
            &deployment_path,
            json!({"expires": past}),
            json!({"expires": null}),
        ),
        (
            &subscription_path,
            json!({"isEnabled": false}),
            json!({"isEnabled": true}),
        ),
        (
            &subscription_path,
            json!({"status": "Suspended"}),
            json!({"status": "Active"}),
        ),
        (
            &subscription_path,
            json!({"expires": past}),
            json!({"expires": null}),
        ),
        (
            "assignment",
            json!({"isActive": false}),
            json!({"isActive": true}),
        ),
    ];
    for (path, off, on) in cases {
        for (body, expected) in [(off.clone(), false), (on.clone(), true)] {
            let reply = if path == "assignment" {
                let mut body = body;
                body["userId"] = json!(user);
                assign(&app, deployment, body).await
            } else {
                app.patch(path, body).await
            };
            assert!(reply.status.is_success(), "{path}: {}", reply.body);
            assert_eq!(entitled().await, expected, "{path} {off}");
        }
    }
    // An expired assignment.
    assign(&app, deployment, json!({"userId": user, "expires": past})).await;
    assert_eq!(entitled().await, false);
    // Leaving the organization ends the entitlement.
    assign(&app, deployment, json!({"userId": user})).await;
    assert_eq!(entitled().await, true);
    let acme = app.get(&deployment_path).await.body["organizationId"].clone();
    let left = app
        .delete(&format!("/v1/organizations/{acme}/members/{user}"))
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);
    assert_eq!(entitled().await, false);
}

async fn the_user_shows_its_deployments(app: TestApp) {
    let (user, deployment, subscription) = entitled_setup(&app).await;
    let before = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(before.body["applicationDeployments"], json!([]));
    assert_eq!(before.body["subscriptions"], json!([]));
    assign(&app, deployment, json!({"userId": user})).await;
    let after = app.get(&format!("/v1/users/{user}")).await;
    let deployments = after.body["applicationDeployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1, "{}", after.body);
    let read = app
        .get(&format!("/v1/application-deployments/{deployment}"))
        .await;
    assert_eq!(deployments[0], read.body);
    let subscriptions = after.body["subscriptions"].as_array().unwrap();
    assert_eq!(subscriptions.len(), 1, "{}", after.body);
    assert_eq!(subscriptions[0]["id"], subscription);
    assert_eq!(subscriptions[0]["status"], "Active");
    // The organization lists the application deployed to it, and the
    // subscription its deployment.
    let organization = app
        .get(&format!(
            "/v1/organizations/{}",
            read.body["organizationId"]
        ))
        .await;
    let applications = organization.body["applications"].as_array().unwrap();
    assert_eq!(applications.len(), 1, "{}", organization.body);
    assert_eq!(applications[0]["id"], read.body["applicationId"]);
    let with_deployments = app.get(&format!("/v1/subscriptions/{subscription}")).await;
    assert_eq!(
        with_deployments.body["applicationDeployments"][0]["id"],
        deployment
    );
    let synced = login(&app, &user, Some("ledgerClient")).await;
    assert_eq!(
        synced.body["user"]["applicationDeployments"][0]["id"],
        deployment
    );
}

async fn what_is_in_use_cannot_be_deleted(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({})).await;
    let member = user_in(&app, "acme").await;
    let seat = assign(&app, deployment, json!({"userId": member})).await;
    assert_eq!(seat.status, StatusCode::CREATED, "{}", seat.body);
    let application = format!("/v1/applications/{}", catalog.application);
    let product = format!("/v1/products/{}", catalog.product);

    let refused = app.delete(&application).await;
    assert_problem(&refused, 409, &application);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("deployed to organizations"),
        "{}",
        refused.body
    );
    let refused = app.delete(&product).await;
    assert_problem(&refused, 409, &product);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("it has applications") && detail.contains("organizations subscribe to it"),
        "{detail}"
    );
    // Both are still there, and the deployment with its user.
    assert_eq!(app.get(&application).await.status, StatusCode::OK);
    assert_eq!(app.get(&product).await.status, StatusCode::OK);
    let users = app
        .get(&format!("/v1/application-deployments/{deployment}/users"))
        .await;
    assert_eq!(users.body["value"][0]["userId"], member.as_str());

    // Without its deployment the application goes; the subscription still
    // holds the product.
    let path = format!("/v1/application-deployments/{deployment}");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.delete(&application).await.status,
        StatusCode::NO_CONTENT
    );
    let refused = app.delete(&product).await;
    assert_problem(&refused, 409, &product);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("applications") && detail.contains("organizations subscribe to it"),
        "{detail}"
    );
}

/// PATCH `maxUserCount` down while users are being assigned: whichever comes
/// first, the deployment never holds more users than its cap.
async fn lowering_the_cap_races_assignments(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let path_of = |id: i64| format!("/v1/application-deployments/{id}");
    for round in 0..3 {
        let deployment = deployed(
            &app,
            &catalog,
            json!({"name": format!("round-{round}"), "maxUserCount": 6}),
        )
        .await;
        let mut users = Vec::new();
        for _ in 0..4 {
            users.push(user_in(&app, "acme").await);
        }
        let path = path_of(deployment);
        let lower = app.patch(&path, json!({"maxUserCount": 2}));
        let assignments = join_all(
            users
                .iter()
                .map(|user| assign(&app, deployment, json!({"userId": user}))),
        );
        let (lowered, assigned) = futures::join!(lower, assignments);
        let got = app.get(&path).await;
        let count = got.body["userCount"].as_i64().unwrap();
        let cap = got.body["maxUserCount"].as_i64().unwrap();
        let seated = assigned
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count() as i64;
        assert_eq!(count, seated, "{}", got.body);
        assert!(count <= cap, "{count} users under a cap of {cap}");
        match lowered.status {
            // Lowered first, or after at most two assignments.
            StatusCode::OK => assert_eq!(cap, 2),
            // Refused: more than two were assigned already.
            StatusCode::CONFLICT => assert!(cap == 6 && count > 2, "{}", lowered.body),
            other => panic!("PATCH answered {other}: {}", lowered.body),
        }
    }
}

/// DELETE a deployment while users are being assigned to it: every
/// assignment is either refused (404) or gone with the deployment.
async fn deleting_races_assignments(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(user_in(&app, "acme").await);
    }
    for round in 0..3 {
        let deployment = deployed(&app, &catalog, json!({"name": format!("round-{round}")})).await;
        let path = format!("/v1/application-deployments/{deployment}");
        let delete = app.delete(&path);
        let assignments = join_all(
            users
                .iter()
                .map(|user| assign(&app, deployment, json!({"userId": user}))),
        );
        let (deleted, assigned) = futures::join!(delete, assignments);
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        for reply in &assigned {
            assert!(
                [StatusCode::CREATED, StatusCode::NOT_FOUND].contains(&reply.status),
                "{} {}",
                reply.status,
                reply.body
            );
        }
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
        // No user keeps an assignment to the deleted deployment.
        for user in &users {
            let got = app.get(&format!("/v1/users/{user}")).await;
            assert_eq!(
                got.body["applicationDeployments"],
                json!([]),
                "{}",
                got.body
            );
        }
    }
}

async fn user_count(app: &TestApp, deployment: i64) -> i64 {
    let got = app
        .get(&format!("/v1/application-deployments/{deployment}"))
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    got.body["userCount"].as_i64().unwrap()
}

/// The count is kept as assignments come and go, a user's deletion included.
async fn the_user_count_follows_deleted_users(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let first = deployed(&app, &catalog, json!({"maxUserCount": 3})).await;
    let second = deployed(&app, &catalog, json!({"name": "second"})).await;
    let mut users = Vec::new();
    for _ in 0..3 {
        let user = user_in(&app, "acme").await;
        for deployment in [first, second] {
            let reply = assign(&app, deployment, json!({"userId": user})).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        }
        users.push(user);
    }
    // A re-assignment changes the terms, not the count.
    let again = assign(&app, first, json!({"userId": users[0], "isActive": false})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        (
            user_count(&app, first).await,
            user_count(&app, second).await
        ),
        (3, 3)
    );
    let deleted = app.delete(&format!("/v1/users/{}", users[1])).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let removed = app
        .delete(&format!(
            "/v1/application-deployments/{second}/users/{}",
            users[2]
        ))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        (
            user_count(&app, first).await,
            user_count(&app, second).await
        ),
        (2, 1)
    );
    // The seat the deleted user held is free again.
    let newcomer = user_in(&app, "acme").await;
    let seat = assign(&app, first, json!({"userId": newcomer})).await;
    assert_eq!(seat.status, StatusCode::CREATED, "{}", seat.body);
    let full = assign(&app, first, json!({"userId": users[2], "isActive": true})).await;
    assert_eq!(
        full.status,
        StatusCode::OK,
        "a re-assignment needs no seat: {}",
        full.body
    );
    assert_eq!(user_count(&app, first).await, 3);
}

/// A user deleted while it is being re-assigned: one of them waits for the
/// other, and the count stays true.
async fn deleting_a_user_races_its_reassignment(app: TestApp) {
    let acme = organization_id(&app, "acme").await;
    let catalog = catalog(&app, "ledger", acme, &[]).await;
    let deployment = deployed(&app, &catalog, json!({})).await;
    for _ in 0..30 {
        let user = user_in(&app, "acme").await;
        let seat = assign(&app, deployment, json!({"userId": user})).await;
        assert_eq!(seat.status, StatusCode::CREATED, "{}", seat.body);
        let path = format!("/v1/users/{user}");
        let (deleted, reassigned) = futures::join!(
            app.delete(&path),
            assign(&app, deployment, json!({"userId": user, "isActive": false}))
        );
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        // Before the deletion: a change of terms; after it: no such user.
        assert!(
            [
                StatusCode::OK,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::CONFLICT
            ]
            .contains(&reassigned.status),
            "{} {}",
            reassigned.status,
            reassigned.body
        );
        assert_eq!(user_count(&app, deployment).await, 0);
        let users = app
            .get(&format!("/v1/application-deployments/{deployment}/users"))
            .await;
        assert_eq!(users.body["value"], json!([]), "{}", users.body);
    }
}
