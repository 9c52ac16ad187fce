use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_problem, both_backends, Reply, TestApp};

both_backends!(
    malformed_bodies,
    unknown_routes_and_methods,
    health_and_readiness
);

async fn malformed_bodies(app: TestApp) {
    let user = app.user().await;
    let path = format!("/v1/users/{user}/custom-upns");
    let json = Some("application/json");

    let syntax = app
        .send_raw(Method::POST, &path, json, b"{\"customUpnValue\": ".to_vec())
        .await;
    assert_problem(&syntax, 400, &path);
    assert!(syntax.body["detail"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));

    let trailing = app
        .send_raw(
            Method::POST,
            &path,
            json,
            br#"{"customUpnValue":"trailing@example.com"} garbage"#.to_vec(),
        )
        .await;
    assert_problem(&trailing, 400, &path);
    assert!(trailing.body["detail"]
        .as_str()
        .unwrap()
        .contains("unexpected data after the JSON value"));

    let empty = app.send_raw(Method::POST, &path, json, Vec::new()).await;
    assert_problem(&empty, 400, &path);

    let array = app
        .send_raw(Method::POST, &path, json, b"[1,2]".to_vec())
        .await;
    assert_problem(&array, 400, &path);

    let no_type = app
        .send_raw(Method::POST, &path, None, b"{}".to_vec())
        .await;
    assert_problem(&no_type, 415, &path);
    let text = app
        .send_raw(Method::POST, &path, Some("text/plain"), b"{}".to_vec())
        .await;
    assert_problem(&text, 415, &path);
    let problem_json = app
        .send_raw(
            Method::POST,
            &path,
            Some("application/merge-patch+json; charset=utf-8"),
            br#"{"customUpnValue":"a@b.com"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        problem_json.status,
        StatusCode::CREATED,
        "+json media types are JSON"
    );

    let huge = format!(r#"{{"customUpnValue": "{}"}}"#, "a".repeat(300 * 1024));
    let too_large = app
        .send_raw(Method::POST, &path, json, huge.into_bytes())
        .await;
    assert_problem(&too_large, 413, &path);

    // None of it was stored.
    assert_eq!(
        app.get(&format!("{path}?$count=true")).await.body["@odata.count"],
        1
    );
}

/// The methods a 405 answer's Allow header lists, sorted.
fn allowed(reply: &Reply) -> Vec<String> {
    let allow = reply.headers["allow"].to_str().unwrap();
    let mut methods: Vec<String> = allow.split(',').map(|m| m.trim().to_owned()).collect();
    methods.sort();
    methods
}

async fn unknown_routes_and_methods(app: TestApp) {
    let reply = app.get("/v1/nothing-here").await;
    assert_problem(&reply, 404, "/v1/nothing-here");
    assert_eq!(reply.body["type"], "urn:nexus:problem:route-not-found");
    let reply = app
        .request(Method::PUT, "/v1/users", Some(&json!({})))
        .await;
    assert_problem(&reply, 405, "/v1/users");
    assert_eq!(allowed(&reply), ["GET", "HEAD", "POST"]);
    // The OData function shares `/v1/users/{userId}` but only GET serves it.
    let function = "/v1/users/FindUserByConnection(azoConnectionId='c',azoUserId='u')";
    let reply = app.request(Method::OPTIONS, function, None).await;
    assert_problem(&reply, 405, function);
    assert_eq!(allowed(&reply), ["GET", "HEAD"]);
    let reply = app
        .request(Method::OPTIONS, "/v1/users/someone", None)
        .await;
    assert_eq!(allowed(&reply), ["DELETE", "GET", "HEAD", "PATCH"]);
    // A path segment that is not UTF-8 once decoded is a bad request, not a crash.
    let reply = app.get("/v1/users/%FF%FE").await;
    assert_problem(&reply, 400, "/v1/users/%FF%FE");
}

async fn health_and_readiness(app: TestApp) {
    let health = app.get("/healthz").await;
    assert_eq!(
        (health.status, health.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let ready = app.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    app.store.close().await;
    let down = app.get("/readyz").await;
    assert_problem(&down, 503, "/readyz");
}
