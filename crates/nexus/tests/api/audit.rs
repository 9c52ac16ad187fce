use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{basic, both_backends, TestApp};

both_backends!(
    a_user_s_life_is_in_the_audit_trail,
    a_refused_request_is_recorded_as_denied,
);

/// The events about one resource, oldest first.
pub async fn events_of(app: &TestApp, resource_type: &str, resource_id: &str) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/v1/audit-events?$filter=resourceType eq '{resource_type}' and resourceId eq '{resource_id}'&$orderby=time"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"].as_array().expect("a list").clone()
}

async fn a_user_s_life_is_in_the_audit_trail(app: TestApp) {
    app.tenant("us-1").await;
    app.organization("acme").await;
    let created = app
        .post(
            "/v1/users",
            json!({"authenticationMethod": "Federation", "displayName": "Ann", "idpTenantId": "us-1",
                   "organization": "acme", "emailAddress": "ann@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let patched = app
        .patch(&format!("/v1/users/{id}"), json!({"displayName": "Ann B"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let deleted = app
        .request_as(
            Method::DELETE,
            &format!("/v1/users/{id}"),
            &[
                ("authorization", basic(&app.key("user.write").await)),
                ("x-request-id", "delete-ann".to_owned()),
            ],
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let events = events_of(&app, "user", &id).await;
    let operations: Vec<&str> = events
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["CreateUser", "PatchUser", "DeleteUser"]);
    let [create, patch, delete] = &events[..] else {
        unreachable!()
    };
    assert_eq!(create["actor"], json!(app.admin_id));
    assert_eq!(create["actorType"], json!("apiKey"));
    assert_eq!(create["outcome"], json!("success"));
    assert_eq!(create["clientAddress"], json!("127.0.0.1"));
    assert_eq!(
        create["changes"]["displayName"],
        json!({"before": null, "after": "Ann"})
    );
    assert_eq!(
        patch["changes"],
        json!({"displayName": {"before": "Ann", "after": "Ann B"}}),
        "only the changed field, no stamps"
    );
    assert_ne!(
        delete["actor"],
        json!(app.admin_id),
        "the other key deleted it"
    );
    assert_eq!(delete["requestId"], json!("delete-ann"));
    assert_eq!(
        delete["changes"]["emailAddress"],
        json!({"before": "ann@example.com", "after": null})
    );
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

async fn a_refused_request_is_recorded_as_denied(app: TestApp) {
    let reader = app.key("user.read").await;
    let key_id = reader.split(':').next().unwrap().to_owned();
    let refused = app
        .request_as(
            Method::POST,
            "/v1/roles",
            &[("authorization", basic(&reader))],
            Some(&json!({"name": "x", "audience": "a"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reply = app
        .get(&format!("/v1/audit-events?$filter=actor eq '{key_id}'"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let events = reply.body["value"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["outcome"], json!("denied"));
    assert_eq!(events[0]["operation"], json!("CreateRole"));
    assert_eq!(events[0]["resourceType"], json!("request"));
    assert_eq!(events[0]["resourceId"], json!("/v1/roles"));
    assert_eq!(events[0]["changes"], json!({}));
}
