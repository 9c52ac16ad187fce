//! Auth0's events in: a tenant's log stream posts its log events to
//! `POST /v1/idp_tenants/{idpTenantId}/log-stream`, authenticated by the
//! tenant's log-stream token; each event is applied once, by its `log_id`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sim_tenant::{self, linked_user};
use crate::support::{assert_problem, both_backends, Reply, TestApp};

both_backends!(
    the_token_is_write_only_and_audited_redacted,
    wrong_or_missing_tokens_are_refused,
    every_format_is_read_and_each_event_applied,
    a_replayed_deletion_is_applied_once,
    the_simulators_stream_reaches_nexus
);

const TOKEN: &str = "log-stream-token-0123456789";
const PATH: &str = "/v1/idp_tenants/sim/log-stream";

/// Posts `body` as the stream would, with `Authorization: Bearer <token>`.
async fn deliver(app: &TestApp, path: &str, token: Option<&str>, body: String) -> Reply {
    let mut request = app
        .anonymous
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request.send().await.unwrap()).await
}

fn event(log_id: &str, code: &str, user_id: &str, extra: Value) -> Value {
    let mut data = json!({"type": code, "user_id": user_id, "date": "2026-11-27T00:00:00.000Z",
        "description": "from the test", "connection": auth0_sim::DEFAULT_CONNECTION});
    data.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"log_id": log_id, "data": data})
}

fn receipt(reply: &Reply) -> (u64, u64, u64, u64) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let n = |k: &str| reply.body[k].as_u64().unwrap();
    (n("received"), n("applied"), n("duplicates"), n("ignored"))
}

async fn audit_of(app: &TestApp, operation: &str) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/v1/audit-events?$filter=operation eq '{operation}'&$orderby=id"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["value"].as_array().unwrap().clone()
}

async fn with_token(app: &TestApp) -> sim_tenant::Tenant {
    let tenant = sim_tenant::tenant(app, 1000).await;
    let patched = app
        .patch("/v1/idp_tenants/sim", json!({"logStreamToken": TOKEN}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["hasLogStreamToken"], true);
    tenant
}

async fn the_token_is_write_only_and_audited_redacted(app: TestApp) {
    let created = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "us-1", "azoTenantName": "eci-us-prod", "fqdn": "eci-us-prod.us.auth0.com",
                   "logStreamToken": TOKEN}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["hasLogStreamToken"], true);
    let plain = app.tenant("us-2").await;
    assert_eq!(plain["hasLogStreamToken"], false);
    for reply in [
        &created,
        &app.get("/v1/idp_tenants/us-1").await,
        &app.get("/v1/idp_tenants").await,
    ] {
        assert!(!reply.body.to_string().contains(TOKEN), "{}", reply.body);
    }
    let short = app
        .patch(
            "/v1/idp_tenants/us-2",
            json!({"logStreamToken": "too-short"}),
        )
        .await;
    assert_problem(&short, 400, "/v1/idp_tenants/us-2");
    assert_eq!(
        short.body["errors"]["logStreamToken"][0],
        "must be at least 16 characters long"
    );
    let spaced = app
        .patch(
            "/v1/idp_tenants/us-2",
            json!({"logStreamToken": "a token with spaces in it"}),
        )
        .await;
    assert_problem(&spaced, 400, "/v1/idp_tenants/us-2");
    assert_eq!(
        app.get("/v1/idp_tenants/us-2").await.body["hasLogStreamToken"],
        false
    );
    let patched = app
        .patch("/v1/idp_tenants/us-2", json!({"logStreamToken": TOKEN}))
        .await;
    assert_eq!(patched.body["hasLogStreamToken"], true, "{}", patched.body);
    // Replacing it is recorded too, as changed and never by value.
    let replaced = app
        .patch(
            "/v1/idp_tenants/us-2",
            json!({"logStreamToken": "another-log-stream-token"}),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'idpTenant'&$orderby=id")
        .await;
    let events = events.body["value"].as_array().unwrap().clone();
    let text = Value::Array(events.clone()).to_string();
    assert!(!text.contains(TOKEN) && !text.contains("another-log-stream-token"));
    let token_changes: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["changes"].get("logStreamToken"))
        .collect();
    assert_eq!(
        token_changes,
        [
            &json!({"before": null, "after": "[redacted]"}),
            &json!({"before": null, "after": "[redacted]"}),
            &json!({"before": "[redacted]", "after": "[redacted]"}),
        ]
    );
    // The old token no longer opens the stream; the new one does.
    let body = "[]".to_owned();
    let old = deliver(
        &app,
        "/v1/idp_tenants/us-2/log-stream",
        Some(TOKEN),
        body.clone(),
    )
    .await;
    assert_problem(&old, 401, "/v1/idp_tenants/us-2/log-stream");
    let new = deliver(
        &app,
        "/v1/idp_tenants/us-2/log-stream",
        Some("another-log-stream-token"),
        r#"{"log_id":"1","data":{"type":"s"}}"#.to_owned(),
    )
    .await;
    assert_eq!(receipt(&new), (1, 0, 0, 1));
}

async fn wrong_or_missing_tokens_are_refused(app: TestApp) {
    app.post(
        "/v1/idp_tenants",
        json!({"name": "sim", "azoTenantName": "eci-sim", "fqdn": "eci-sim.us.auth0.com", "logStreamToken": TOKEN}),
    )
    .await;
    app.tenant("tokenless").await;
    let body = || json!([event("1", "sv", "auth0|x", json!({}))]).to_string();
    let missing = deliver(&app, PATH, None, body()).await;
    assert_problem(&missing, 401, PATH);
    assert!(missing.body["detail"].as_str().unwrap().contains("Bearer"));
    let wrong = deliver(&app, PATH, Some("not-the-tenants-token-at-all"), body()).await;
    assert_problem(&wrong, 401, PATH);
    // Nexus's own credentials do not open it either.
    let admin = TestApp::reply(
        app.client
            .post(format!("{}{PATH}", app.base))
            .header("content-type", "application/json")
            .body(body())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&admin, 401, PATH);
    let tokenless = "/v1/idp_tenants/tokenless/log-stream";
    let none_set = deliver(&app, tokenless, Some(TOKEN), body()).await;
    assert_problem(&none_set, 401, tokenless);
    let unknown = deliver(
        &app,
        "/v1/idp_tenants/nowhere/log-stream",
        Some(TOKEN),
        body(),
    )
    .await;
    // An unknown tenant is refused as a wrong token is: a caller without
    // the token cannot probe which tenants exist.
    assert_problem(&unknown, 401, "/v1/idp_tenants/nowhere/log-stream");
    assert_eq!(
        unknown.body["detail"]
            .as_str()
            .unwrap()
            .replace("nowhere", "tokenless"),
        none_set.body["detail"],
    );
    // A malformed delivery with the right token: 400, and nothing recorded.
    for malformed in [
        "",
        "{not json",
        "[1]",
        r#"[{"log_id":"1","data":{"type":"sv"}},{"data":{"type":"sv"}}]"#,
        r#"{"log_id":"","data":{"type":"sv"}}"#,
    ] {
        let reply = deliver(&app, PATH, Some(TOKEN), malformed.to_owned()).await;
        assert_problem(&reply, 400, PATH);
    }
    let fine = deliver(
        &app,
        PATH,
        Some(TOKEN),
        r#"{"log_id":"1","data":{"type":"sv"}}"#.to_owned(),
    )
    .await;
    assert_eq!(
        receipt(&fine),
        (1, 0, 0, 1),
        "the log_id of the refused delivery was not recorded"
    );
    let too_large = deliver(
        &app,
        PATH,
        Some(TOKEN),
        format!("[{}]", " ".repeat(300 * 1024)),
    )
    .await;
    assert_problem(&too_large, 413, PATH);
}

async fn every_format_is_read_and_each_event_applied(app: TestApp) {
    let tenant = with_token(&app).await;
    let (user, azo) = linked_user(&app, &tenant, "ada@example.com").await;
    let before = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(before["email-verified"], false);
    assert_ne!(before["email-verification-status-type"], "Verified");

    // JSONARRAY: the address verified; an event of a type Nexus does not act
    // on, and one about an Auth0 user no one is linked to, are ignored.
    let array = json!([
        event("100", "sv", &azo, json!({"user_name": "ada@example.com"})),
        event("101", "s", &azo, json!({})),
        event(
            "102",
            "sv",
            "auth0|stranger",
            json!({"user_name": "x@example.com"})
        ),
    ]);
    let reply = deliver(&app, PATH, Some(TOKEN), array.to_string()).await;
    assert_eq!(receipt(&reply), (3, 1, 0, 2));
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(after["email-verified"], true);
    assert_eq!(after["email-verification-status-type"], "Verified");
    assert_eq!(after["modifiedBy"], "auth0-log-stream");

    // JSONLINES: MFA enrolled, and a password change (reported).
    let lines = format!(
        "{}\n{}\n",
        event("103", "gd_enrollment_complete", &azo, json!({})),
        event("104", "scp", &azo, json!({"ip": "203.0.113.7"}))
    );
    let reply = deliver(&app, PATH, Some(TOKEN), lines).await;
    assert_eq!(receipt(&reply), (2, 2, 0, 0));
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(after["mfaEnrollmentStatus"], "Enrolled");

    // JSONOBJECT: a brute-force block (reported).
    let object = event(
        "105",
        "limit_wc",
        &azo,
        json!({"description": "Blocked account"}),
    );
    let reply = deliver(&app, PATH, Some(TOKEN), object.to_string()).await;
    assert_eq!(receipt(&reply), (1, 1, 0, 0));

    let verified = audit_of(&app, "logStreamEmailVerified").await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["actor"], "auth0-log-stream");
    assert_eq!(verified[0]["actorType"], "system");
    assert_eq!(verified[0]["resourceType"], "user");
    assert_eq!(verified[0]["resourceId"], user.as_str());
    assert_eq!(
        verified[0]["changes"]["email-verified"],
        json!({"before": false, "after": true})
    );
    assert_eq!(verified[0]["changes"]["auth0Log"]["after"]["logId"], "100");
    let enrolled = audit_of(&app, "logStreamMfaEnrolled").await;
    assert_eq!(
        enrolled[0]["changes"]["mfaEnrollmentStatus"]["after"],
        "Enrolled"
    );
    let password = audit_of(&app, "logStreamPasswordChanged").await;
    assert_eq!(password.len(), 1);
    assert_eq!(password[0]["changes"]["password"]["after"], "[redacted]");
    assert_eq!(
        password[0]["changes"]["auth0Log"]["after"]["ip"],
        "203.0.113.7"
    );
    let blocked = audit_of(&app, "logStreamLoginBlocked").await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["resourceId"], user.as_str());
    assert_eq!(
        blocked[0]["changes"]["auth0Log"]["after"]["type"],
        "limit_wc"
    );
    assert_eq!(
        blocked[0]["changes"]["auth0Log"]["after"]["description"],
        "Blocked account"
    );

    // Verification of an address that is no longer the user's is ignored.
    app.patch(
        &format!("/v1/users/{user}"),
        json!({"emailAddress": "ada@new.example.com"}),
    )
    .await;
    let stale = event("106", "sv", &azo, json!({"user_name": "ada@example.com"}));
    let reply = deliver(&app, PATH, Some(TOKEN), stale.to_string()).await;
    assert_eq!(receipt(&reply), (1, 0, 0, 1));
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.body["email-verified"],
        false
    );
}

async fn a_replayed_deletion_is_applied_once(app: TestApp) {
    let tenant = with_token(&app).await;
    let (user, azo) = linked_user(&app, &tenant, "grace@example.com").await;
    let deletion = json!([event("200", "sdu", &azo, json!({}))]).to_string();
    let reply = deliver(&app, PATH, Some(TOKEN), deletion.clone()).await;
    assert_eq!(receipt(&reply), (1, 1, 0, 0));
    let after = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(after.status, StatusCode::OK, "the Nexus user stays");
    assert_eq!(after.body["identities"], json!([]));
    let reported = audit_of(&app, "logStreamUserDeleted").await;
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0]["resourceType"], "identity");
    assert_eq!(reported[0]["changes"]["azoUserId"]["before"], azo.as_str());

    // Linked again, then the same event delivered again (and twice in one
    // delivery): recognised, and the new link stays.
    let relinked = app
        .put(
            &format!("/v1/users/{user}/idp_tenants/sim"),
            json!({"strategy": "auth0", "azoUserId": azo, "azoConnectionId": auth0_sim::DEFAULT_CONNECTION}),
        )
        .await;
    assert!(relinked.status.is_success(), "{}", relinked.body);
    let reply = deliver(&app, PATH, Some(TOKEN), deletion).await;
    assert_eq!(receipt(&reply), (1, 0, 1, 0));
    let twice = json!([
        event("201", "scp", &azo, json!({})),
        event("201", "scp", &azo, json!({}))
    ]);
    let reply = deliver(&app, PATH, Some(TOKEN), twice.to_string()).await;
    assert_eq!(receipt(&reply), (2, 1, 1, 0));
    let after = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(after["identities"][0]["azoUserId"], azo.as_str());
    assert_eq!(audit_of(&app, "logStreamUserDeleted").await.len(), 1);
    assert_eq!(audit_of(&app, "logStreamPasswordChanged").await.len(), 1);
}

/// Polls `check` until it holds, for at most ten seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_simulators_stream_reaches_nexus(app: TestApp) {
    let tenant = with_token(&app).await;
    let (user, azo) = linked_user(&app, &tenant, "lin@example.com").await;
    let http = reqwest::Client::new();
    // The stream as an operator sets it up in Auth0, pointed at this Nexus.
    let token = management_token(&tenant).await;
    for format in ["JSONLINES", "JSONOBJECT"] {
        let created = http
            .post(format!("{}/api/v2/log-streams", tenant.sim.base_url()))
            .bearer_auth(&token)
            .json(
                &json!({"name": format!("nexus {format}"), "type": "http", "sink": {
                "httpEndpoint": format!("{}{PATH}", app.base),
                "httpAuthorization": format!("Bearer {TOKEN}"),
                "httpContentFormat": format,
                "httpContentType": "application/json"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::OK);
    }
    // Auth0 verifies the address (a PATCH of email_verified): Nexus learns it.
    let patched = http
        .patch(format!("{}/api/v2/users/{azo}", tenant.sim.base_url()))
        .bearer_auth(&token)
        .json(&json!({"email_verified": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    eventually("the verification to reach Nexus", || async {
        app.get(&format!("/v1/users/{user}")).await.body["email-verified"] == true
    })
    .await;
    // Both streams delivered the one event: it was applied once.
    eventually("both streams' deliveries", || async {
        let stats = sim_tenant::stats(&tenant).await;
        let accepted: Vec<u64> = stats["logDeliveries"]
            .as_object()
            .unwrap()
            .values()
            .map(|d| d["accepted"].as_u64().unwrap())
            .collect();
        accepted == [1, 1]
    })
    .await;
    assert_eq!(audit_of(&app, "logStreamEmailVerified").await.len(), 1);
    // Auth0 deletes the user: the identity is unlinked.
    let deleted = http
        .delete(format!("{}/api/v2/users/{azo}", tenant.sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    eventually("the deletion to reach Nexus", || async {
        app.get(&format!("/v1/users/{user}")).await.body["identities"] == json!([])
    })
    .await;
    let deleted = audit_of(&app, "logStreamUserDeleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0]["changes"]["auth0Log"]["after"]["azoUserId"],
        azo.as_str()
    );
    assert_eq!(
        app.get(&format!("/v1/users/{user}")).await.status,
        StatusCode::OK
    );
}

/// A Management API token of the simulator's default client.
async fn management_token(tenant: &sim_tenant::Tenant) -> String {
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", tenant.sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", auth0_sim::DEFAULT_CLIENT_ID),
            ("client_secret", auth0_sim::DEFAULT_CLIENT_SECRET),
            ("audience", &format!("{}/api/v2/", tenant.sim.base_url())),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_owned()
}

/// A server that allows three failed authentications per address and minute.
fn strict() -> nexus_service::auth::AuthConfig {
    nexus_service::auth::AuthConfig {
        failures_per_minute: 3,
        ..crate::support::test_auth()
    }
}

mod wrong_tokens_are_throttled {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::wrong_tokens_are_throttled(
            crate::support::TestApp::sqlite_with(super::strict()).await,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = crate::support::TestApp::postgres_with(super::strict()).await {
            super::wrong_tokens_are_throttled(app).await
        }
    }
}

/// Guessing the token counts as failed authentication: after three wrong
/// tokens from one address even the right one waits.
async fn wrong_tokens_are_throttled(app: TestApp) {
    app.post(
        "/v1/idp_tenants",
        json!({"name": "sim", "azoTenantName": "eci-sim", "fqdn": "eci-sim.us.auth0.com", "logStreamToken": TOKEN}),
    )
    .await;
    let body = || r#"{"log_id":"1","data":{"type":"s"}}"#.to_owned();
    let right = deliver(&app, PATH, Some(TOKEN), body()).await;
    assert_eq!(receipt(&right), (1, 0, 0, 1));
    for _ in 0..3 {
        let wrong = deliver(&app, PATH, Some("a-wrong-guess-of-the-token"), body()).await;
        assert_problem(&wrong, 401, PATH);
    }
    let throttled = deliver(&app, PATH, Some(TOKEN), body()).await;
    assert_problem(&throttled, 429, PATH);
    assert!(throttled.headers.contains_key("retry-after"));
}
