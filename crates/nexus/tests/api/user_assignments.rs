//! CreateUser's `roles` and `applications`: a new user is given roles and
//! assigned to application deployments in the same transaction.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::deployments::{catalog, deployed, organization_id, user_in, Catalog};
use crate::grants::role;
use crate::support::{assert_problem, basic, both_backends, Reply, TestApp, API_AUDIENCE};

both_backends!(
    a_new_user_gets_its_roles_and_applications,
    unknown_roles_and_applications_are_refused_together,
    only_a_live_deployment_is_chosen,
    a_full_deployment_refuses_the_new_user,
    new_users_racing_for_the_last_seats,
    assigning_at_creation_takes_the_permissions,
    the_lists_are_bounded,
);

const USERS: &str = "/v1/users";

async fn create(app: &TestApp, tenant: &str, extra: Value) -> Reply {
    app.post(USERS, body(tenant, extra)).await
}

fn body(tenant: &str, extra: Value) -> Value {
    let mut body = json!({"authenticationMethod": "Database", "displayName": "New Hire",
        "idpTenantId": tenant, "organization": "acme"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// The users of the organization's tenant named "New Hire": none is left
/// behind by a refusal.
async fn new_hires(app: &TestApp) -> usize {
    let reply = app
        .get("/v1/users?$filter=displayName%20eq%20'New%20Hire'")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"].as_array().unwrap().len()
}

async fn deployment_users(app: &TestApp, deployment: i64) -> Vec<String> {
    let reply = app
        .get(&format!("/v1/application-deployments/{deployment}/users"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_str().unwrap().to_owned())
        .collect()
}

struct World {
    tenant: String,
    acme: i64,
    ledger: Catalog,
}

async fn world(app: &TestApp) -> World {
    let tenant = app.tenant("us-1").await["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let acme = organization_id(app, "acme").await;
    let ledger = catalog(app, "ledger", acme, &[]).await;
    World {
        tenant,
        acme,
        ledger,
    }
}

async fn a_new_user_gets_its_roles_and_applications(app: TestApp) {
    let w = world(&app).await;
    let deployment = deployed(&app, &w.ledger, json!({})).await;
    let payroll = catalog(&app, "payroll", w.acme, &[]).await;
    let payroll_deployment = deployed(&app, &payroll, json!({"name": "acme-payroll"})).await;
    let reports = role(
        &app,
        "reports",
        "https://reports.example.com",
        &["report.read"],
    )
    .await;
    let viewer = role(&app, "viewer", API_AUDIENCE, &["user.read"]).await;
    // By name in any case, by id, and the same application twice.
    let reply = create(
        &app,
        &w.tenant,
        json!({"roles": [viewer, reports, viewer],
               "applications": ["LEDGER", payroll.application.to_string(), "ledger"]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let user = reply.body["id"].as_str().unwrap().to_owned();
    let mut roles: Vec<&str> = reply.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["reports", "viewer"], "{}", reply.body);
    let mut assigned: Vec<i64> = reply.body["applicationDeployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assigned.sort();
    assert_eq!(assigned, [deployment, payroll_deployment], "{}", reply.body);
    // What the answer says is what is stored.
    let stored = app.get(&format!("{USERS}/{user}")).await;
    assert_eq!(stored.body["roles"], reply.body["roles"]);
    assert_eq!(
        stored.body["applicationDeployments"],
        reply.body["applicationDeployments"]
    );
    assert_eq!(deployment_users(&app, deployment).await, [user.as_str()]);
    assert_eq!(
        deployment_users(&app, payroll_deployment).await,
        [user.as_str()]
    );
    let count = app
        .get(&format!("/v1/application-deployments/{deployment}"))
        .await;
    assert_eq!(count.body["userCount"], 1, "{}", count.body);
    // The assignments are audited as their own writes.
    let events = app
        .get("/v1/audit-events?$filter=resourceType%20eq%20'applicationDeploymentUser'")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let ids: Vec<&str> = events.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resourceId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&format!("{deployment}/{user}").as_str()),
        "{}",
        events.body
    );
}

async fn unknown_roles_and_applications_are_refused_together(app: TestApp) {
    let w = world(&app).await;
    deployed(&app, &w.ledger, json!({})).await;
    let reply = create(
        &app,
        &w.tenant,
        json!({"roles": ["no-such-role"], "applications": ["ledger", "ghost"]}),
    )
    .await;
    assert_problem(&reply, 422, USERS);
    let errors = reply.body["errors"].as_object().unwrap();
    let mut fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["applications[1]", "roles"], "{}", reply.body);
    assert!(errors["roles"][0]
        .as_str()
        .unwrap()
        .contains("no-such-role"));
    assert!(errors["applications[1]"][0]
        .as_str()
        .unwrap()
        .contains("'ghost'"));
    // An application of another organization is not one of this one's.
    let globex = organization_id(&app, "globex").await;
    let billing = catalog(&app, "billing", globex, &[]).await;
    deployed(&app, &billing, json!({"name": "globex-billing"})).await;
    let other = create(&app, &w.tenant, json!({"applications": ["billing"]})).await;
    assert_problem(&other, 422, USERS);
    assert!(
        other.body["errors"]["applications[0]"].is_array(),
        "{}",
        other.body
    );
    assert_eq!(new_hires(&app).await, 0);
}

async fn only_a_live_deployment_is_chosen(app: TestApp) {
    let w = world(&app).await;
    let retired = deployed(&app, &w.ledger, json!({"status": "Retired"})).await;
    let refused = create(&app, &w.tenant, json!({"applications": ["ledger"]})).await;
    assert_problem(&refused, 422, USERS);
    let detail = refused.body["errors"]["applications[0]"][0]
        .as_str()
        .unwrap();
    assert!(detail.contains(&retired.to_string()), "{detail}");
    // A live deployment beside the retired one is chosen.
    let live = deployed(&app, &w.ledger, json!({"name": "acme-live"})).await;
    let reply = create(&app, &w.tenant, json!({"applications": ["ledger"]})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["applicationDeployments"][0]["id"], live);
    // Under a suspended subscription it is not live.
    let suspended = app
        .patch(
            &format!("/v1/subscriptions/{}", w.ledger.subscription),
            json!({"status": "Suspended"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    let lapsed = create(&app, &w.tenant, json!({"applications": ["ledger"]})).await;
    assert_problem(&lapsed, 422, USERS);
    app.patch(
        &format!("/v1/subscriptions/{}", w.ledger.subscription),
        json!({"status": "Active"}),
    )
    .await;
    // Two live deployments of one application: the caller must choose.
    let second = deployed(&app, &w.ledger, json!({"name": "acme-second"})).await;
    let ambiguous = create(&app, &w.tenant, json!({"applications": ["ledger"]})).await;
    assert_problem(&ambiguous, 422, USERS);
    let detail = ambiguous.body["errors"]["applications[0]"][0]
        .as_str()
        .unwrap();
    assert!(detail.contains(&format!("{live}, {second}")), "{detail}");
    assert_eq!(new_hires(&app).await, 1);
}

async fn a_full_deployment_refuses_the_new_user(app: TestApp) {
    let w = world(&app).await;
    let deployment = deployed(&app, &w.ledger, json!({"maxUserCount": 1})).await;
    let first = user_in(&app, "acme").await;
    let seat = app
        .post(
            &format!("/v1/application-deployments/{deployment}/users"),
            json!({"userId": first}),
        )
        .await;
    assert_eq!(seat.status, StatusCode::CREATED, "{}", seat.body);
    let viewer = role(&app, "viewer", "https://reports.example.com", &[]).await;
    let reply = create(
        &app,
        &w.tenant,
        json!({"roles": [viewer], "applications": ["ledger"]}),
    )
    .await;
    assert_problem(&reply, 409, USERS);
    assert!(reply.body["detail"].as_str().unwrap().contains("is full"));
    // Nothing of the refused user is left: no user, no role, no seat.
    assert_eq!(new_hires(&app).await, 0);
    assert_eq!(deployment_users(&app, deployment).await, [first]);
    let members = app
        .get(&format!("/v1/organizations/{}/members", w.acme))
        .await;
    assert_eq!(
        members.body["value"].as_array().unwrap().len(),
        1,
        "{}",
        members.body
    );
}

async fn new_users_racing_for_the_last_seats(app: TestApp) {
    let w = world(&app).await;
    let deployment = deployed(&app, &w.ledger, json!({"maxUserCount": 2})).await;
    let replies =
        join_all((0..8).map(|_| create(&app, &w.tenant, json!({"applications": ["ledger"]}))))
            .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    let created = statuses.iter().filter(|s| **s == 201).count();
    let full = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, full), (2, 6), "{statuses:?}");
    // The refused users were not created; the seats are the created ones'.
    assert_eq!(new_hires(&app).await, 2);
    let mut seated = deployment_users(&app, deployment).await;
    let mut winners: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["id"].as_str().unwrap().to_owned())
        .collect();
    seated.sort();
    winners.sort();
    assert_eq!(seated, winners);
}

async fn assigning_at_creation_takes_the_permissions(app: TestApp) {
    let w = world(&app).await;
    deployed(&app, &w.ledger, json!({})).await;
    let reports = role(
        &app,
        "reports",
        "https://reports.example.com",
        &["report.read"],
    )
    .await;
    let admins = role(&app, "admins", API_AUDIENCE, &["read", "write"]).await;
    let as_key = |permissions: &'static str, extra: Value| {
        let app = &app;
        let body = body(&w.tenant, extra);
        async move {
            let key = app.key(permissions).await;
            app.request_as(
                Method::POST,
                USERS,
                &[("authorization", basic(&key))],
                Some(&body),
            )
            .await
        }
    };
    let no_role_write = as_key("user.write", json!({"roles": [reports]})).await;
    assert_problem(&no_role_write, 403, USERS);
    assert!(no_role_write.body["detail"]
        .as_str()
        .unwrap()
        .contains("role.write"));
    let no_assign = as_key(
        "user.write role.write application.write",
        json!({"applications": ["ledger"]}),
    )
    .await;
    assert_problem(&no_assign, 403, USERS);
    assert!(no_assign.body["detail"]
        .as_str()
        .unwrap()
        .contains("application.deployment.user.write"));
    // A role of Nexus's audience gives only what the caller holds.
    let escalation = as_key("user.write role.write", json!({"roles": [admins]})).await;
    assert_problem(&escalation, 403, USERS);
    assert_eq!(
        escalation.body["type"],
        "urn:nexus:problem:permission-not-held"
    );
    assert_eq!(new_hires(&app).await, 0);
    // Empty lists ask for nothing.
    let plain = as_key("user.write", json!({"roles": [], "applications": []})).await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
    let full = as_key(
        "user.write role.write application.deployment.user.write",
        json!({"roles": [reports], "applications": ["ledger"]}),
    )
    .await;
    assert_eq!(full.status, StatusCode::CREATED, "{}", full.body);
    assert_eq!(full.body["roles"][0]["name"], "reports");
    assert_eq!(
        full.body["applicationDeployments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn the_lists_are_bounded(app: TestApp) {
    let w = world(&app).await;
    let refused = |extra: Value| {
        let app = &app;
        let tenant = w.tenant.clone();
        async move {
            let reply = create(app, &tenant, extra).await;
            assert_problem(&reply, 400, USERS);
            reply
        }
    };
    let ids: Vec<String> = (0..101).map(|i| format!("r{i}")).collect();
    refused(json!({"roles": ids})).await;
    refused(json!({"roles": ["x".repeat(41)]})).await;
    refused(json!({"roles": [""]})).await;
    let names: Vec<String> = (0..51).map(|i| format!("a{i}")).collect();
    let too_many = refused(json!({"applications": names})).await;
    assert!(too_many.body["errors"]["applications"].is_array());
    let long = refused(json!({"applications": ["ok", "x".repeat(101)]})).await;
    assert!(
        long.body["errors"]["applications[1]"].is_array(),
        "{}",
        long.body
    );
    refused(json!({"applications": [""]})).await;
    // At the limits the lists are read, and name nothing here: 422.
    let ids: Vec<String> = (0..100).map(|i| format!("{i:0>40}")).collect();
    let roles = create(&app, &w.tenant, json!({"roles": ids})).await;
    assert_problem(&roles, 422, USERS);
    let names: Vec<String> = (0..50).map(|i| format!("{i:x>100}")).collect();
    let applications = create(&app, &w.tenant, json!({"applications": names})).await;
    assert_problem(&applications, 422, USERS);
    assert!(applications.body["errors"]["applications[49]"].is_array());
}
