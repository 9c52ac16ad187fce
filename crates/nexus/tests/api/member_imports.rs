//! ImportOrganizationMembers: each row is invited as an invitation is
//! (Created, Added, AlreadyMember, or Refused with the reason, the others
//! going on), in the background; the same id answers the same job; a
//! server killed in the middle leaves the rest to another, each row applied
//! once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::invitations::inviting_organization;
use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    an_import_creates_adds_and_refuses_row_by_row,
    the_domain_rule_refuses_only_new_users,
    the_same_id_answers_the_same_import,
    what_is_refused_up_front,
    a_killed_server_s_member_import_finishes_elsewhere,
);

fn collection(organization: impl std::fmt::Display) -> String {
    format!("/v1/organizations/{organization}/members/imports")
}

fn body(id: &str, organization: impl Into<Value>, rows: Vec<Value>) -> Value {
    json!({"id": id, "importDate": "2026-01-02T03:04:05Z", "importFilename": "members.csv",
        "importingUserId": "importer-1", "organizationId": organization.into(), "newMembers": rows})
}

/// Starts an import: 202 with its Location; the job.
async fn start(app: &TestApp, organization: i64, id: &str, rows: Vec<Value>) -> Value {
    let path = format!("/v1/organizations/{organization}/members/import");
    let started = app.post(&path, body(id, organization, rows)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert_eq!(
        started.headers["location"].to_str().unwrap(),
        format!("{}/{id}", collection(organization))
    );
    started.body
}

/// Waits until the import has ended; the job.
async fn ended(app: &TestApp, organization: i64, id: &str) -> Value {
    let path = format!("{}/{id}", collection(organization));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        if read.body["status"] == "Completed" || read.body["status"] == "Failed" {
            return read.body;
        }
        assert!(Instant::now() < deadline, "still {}", read.body["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn results(job: &Value) -> Value {
    job["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].clone())
        .collect()
}

async fn an_import_creates_adds_and_refuses_row_by_row(app: TestApp) {
    app.tenant("plain").await;
    let organization = inviting_organization(&app, "importing", "plain").await;
    let known = app.user().await;
    app.patch(
        &format!("/v1/users/{known}"),
        json!({"emailAddress": "known@example.com"}),
    )
    .await;
    let invited = app
        .post(
            &format!("/v1/organizations/{organization}/members/invite"),
            json!({"emailAddress": "member@example.com"}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
    let rows = vec![
        json!({"emailAddress": "new-1@example.com", "givenName": "New", "familyName": "One",
            "recoveryEmail": "backup@example.org", "isMfaDisabled": true}),
        json!({"emailAddress": "nope"}),
        json!({"emailAddress": "Known@Example.com", "makeAdmin": true}),
        json!({"emailAddress": "member@example.com"}),
        json!({"emailAddress": "NEW-1@example.com"}),
        json!({"emailAddress": "long@example.com", "givenName": "g".repeat(101)}),
        json!({}),
        json!({"emailAddress": "new-2@example.com", "recoveryEmail": "not-an-address"}),
        json!({"emailAddress": "new-3@example.com", "displayName": "Third"}),
    ];
    let job = start(&app, organization, "import-1", rows).await;
    assert_eq!(job["id"], "import-1");
    assert_eq!(job["total"], 9);
    assert_eq!(job["importFilename"], "members.csv");
    assert_eq!(job["importingUserId"], "importer-1");
    assert!(job["importDate"]
        .as_str()
        .unwrap()
        .starts_with("2026-01-02T03:04:05"));
    assert!(["Queued", "Running", "Completed"].contains(&job["status"].as_str().unwrap()));

    let done = ended(&app, organization, "import-1").await;
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(done["processed"], 9);
    assert_eq!(
        results(&done),
        json!([
            "Created",
            "Refused",
            "Added",
            "AlreadyMember",
            "AlreadyMember",
            "Refused",
            "Refused",
            "Refused",
            "Created"
        ]),
        "{done}"
    );
    let rows = done["rows"].as_array().unwrap();
    assert_eq!(rows[1]["emailAddress"], "nope");
    for (row, field) in [
        (1, "emailAddress"),
        (5, "givenName"),
        (6, "emailAddress"),
        (7, "recoveryEmail"),
    ] {
        let detail = rows[row]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "row {row}: {detail}");
    }
    for row in [0, 2, 3, 4, 8] {
        assert_eq!(rows[row]["detail"], Value::Null, "row {row}");
    }
    let created = app
        .get("/v1/users?$filter=emailAddress eq 'new-1@example.com'")
        .await
        .body["value"][0]
        .clone();
    assert_eq!(created["displayName"], "New One");
    assert_eq!(created["recoveryEmailAddress"], "backup@example.org");
    assert_eq!(created["isMfaDisabled"], true);
    assert_eq!(created["organizationId"], organization);
    let added = app
        .get(&format!("/v1/organizations/{organization}/members/{known}"))
        .await;
    assert_eq!(
        added.body["roles"],
        json!(["organization-admin"]),
        "{}",
        added.body
    );
    let members = app
        .get(&format!(
            "/v1/organizations/{organization}/members?$count=true"
        ))
        .await;
    assert_eq!(members.body["@odata.count"], 4, "{}", members.body);
    // Audited as the importing caller's changes.
    let events = app
        .get(&format!(
            "/v1/audit-events?$filter=resourceId eq '{}'",
            created["id"].as_str().unwrap()
        ))
        .await;
    if events.status == StatusCode::OK {
        let event = &events.body["value"][0];
        assert_eq!(event["actor"], app.admin_id.as_str(), "{event}");
        assert_eq!(event["operation"], "ImportOrganizationMembers", "{event}");
    }
}

async fn the_domain_rule_refuses_only_new_users(app: TestApp) {
    app.tenant("ruled").await;
    let organization = app.organization("ruled").await["id"].as_i64().unwrap();
    app.patch(
        &format!("/v1/organizations/{organization}"),
        json!({"defaultIdpTenantId": "ruled"}),
    )
    .await;
    let known = app.user().await;
    app.patch(
        &format!("/v1/users/{known}"),
        json!({"emailAddress": "known@elsewhere.example"}),
    )
    .await;
    let rows = vec![
        json!({"emailAddress": "new@unverified.example"}),
        json!({"emailAddress": "known@elsewhere.example"}),
    ];
    start(&app, organization, "ruled-1", rows).await;
    let done = ended(&app, organization, "ruled-1").await;
    assert_eq!(results(&done), json!(["Refused", "Added"]), "{done}");
    let detail = done["rows"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("unverified.example") && detail.contains("verified domain"),
        "{detail}"
    );
    let found = app
        .get("/v1/users?$filter=emailAddress eq 'new@unverified.example'")
        .await;
    assert_eq!(found.body["value"], json!([]));
}

async fn the_same_id_answers_the_same_import(app: TestApp) {
    app.tenant("again").await;
    let organization = inviting_organization(&app, "again", "again").await;
    let other = app.organization("again-other").await["id"]
        .as_i64()
        .unwrap();
    let rows = vec![json!({"emailAddress": "once@example.com"})];
    start(&app, organization, "same-id", rows.clone()).await;
    let first = ended(&app, organization, "same-id").await;
    let again = start(&app, organization, "same-id", rows.clone()).await;
    assert_eq!(again["created"], first["created"]);
    assert_eq!(again["total"], 1);
    assert_eq!(again["rows"], first["rows"]);
    assert_eq!(results(&again), json!(["Created"]));
    // Another organization's import cannot take the id.
    let path = format!("/v1/organizations/{other}/members/import");
    let taken = app.post(&path, body("same-id", other, rows)).await;
    assert_problem(&taken, 409, &path);
    // Nor read it.
    let elsewhere = format!("{}/same-id", collection(other));
    assert_problem(&app.get(&elsewhere).await, 404, &elsewhere);
    let found = app
        .get("/v1/users?$count=true&$filter=emailAddress eq 'once@example.com'")
        .await;
    assert_eq!(found.body["@odata.count"], 1);
}

async fn what_is_refused_up_front(app: TestApp) {
    let organization = app.organization("up-front").await["id"].as_i64().unwrap();
    let path = format!("/v1/organizations/{organization}/members/import");
    let row = json!({"emailAddress": "a@example.com"});
    let mismatch = app
        .post(&path, body("mismatch", organization + 1, vec![row.clone()]))
        .await;
    assert_problem(&mismatch, 422, &path);
    assert!(
        mismatch.body["errors"]["organizationId"].is_array(),
        "{}",
        mismatch.body
    );
    let too_many = app
        .post(
            &path,
            body("too-many", organization, vec![row.clone(); 10_001]),
        )
        .await;
    assert_problem(&too_many, 400, &path);
    assert!(too_many.body["errors"]["newMembers"].is_array());
    let mut cases = vec![
        json!({"id": "x"}),
        body("", organization, vec![]),
        body("a/b", organization, vec![]),
        body("typed", organization, vec![json!({"emailAddress": 5})]),
        body("typed", organization, vec![json!({"isMfaDisabled": "yes"})]),
        body(
            "typed",
            organization,
            vec![json!({"email": "a@example.com"})],
        ),
    ];
    let mut bad_date = body("date", organization, vec![]);
    bad_date["importDate"] = json!("yesterday");
    cases.push(bad_date);
    for case in cases {
        let refused = app.post(&path, case.clone()).await;
        assert_problem(&refused, 400, &path);
    }
    let listed = app.get(&format!("{}/x", collection(organization))).await;
    assert_eq!(listed.status, StatusCode::NOT_FOUND);
    // The path's organization must exist; an unknown job is 404.
    let unknown = "/v1/organizations/999999/members/import";
    assert_problem(
        &app.post(unknown, body("u", 999_999, vec![])).await,
        404,
        unknown,
    );
    let job = format!("{}/never", collection(organization));
    assert_problem(&app.get(&job).await, 404, &job);
    // At the limit: accepted.
    start(
        &app,
        organization,
        "at-the-limit",
        vec![json!({"emailAddress": "x"}); 10_000],
    )
    .await;
}

async fn a_killed_server_s_member_import_finishes_elsewhere(mut app: TestApp) {
    // This test's server looks for work once, at start, and then sleeps:
    // the job goes to the process killed below.
    app.imports.idle_poll = Duration::from_secs(3600);
    app.restart().await;
    app.tenant("killed").await;
    let organization = inviting_organization(&app, "killed", "killed").await;
    let mut importer = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus"))
        .arg("serve")
        .env("NEXUS_DATABASE_URL", app.database_url())
        .env("NEXUS_LISTEN", "127.0.0.1:0")
        .env("NEXUS_SECRET_KEY", crate::support::TEST_SECRET_KEY)
        .env("NEXUS_PUSH_LEASE_SECONDS", "5")
        .env("NEXUS_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    const ROWS: usize = 3000;
    let rows = (0..ROWS)
        .map(|i| json!({"emailAddress": format!("killed-{i}@example.com")}))
        .collect();
    start(&app, organization, "killed-1", rows).await;
    let path = format!("{}/killed-1", collection(organization));
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let read = app.get(&path).await.body;
        if read["processed"].as_u64().unwrap() >= 500 {
            break read;
        }
        assert!(Instant::now() < deadline, "{}", read["processed"]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    importer.start_kill().unwrap();
    importer.wait().await.unwrap();
    assert_eq!(at_kill["status"], "Running", "killed too late");
    assert!(at_kill["processed"].as_u64().unwrap() < ROWS as u64);

    app.imports.idle_poll = Duration::from_millis(100);
    app.restart().await;
    let done = ended(&app, organization, "killed-1").await;
    assert_eq!(done["status"], "Completed");
    assert_eq!(done["processed"], ROWS);
    // Every row applied once: created, none found a member already.
    let results = results(&done);
    let not_created: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| *r != "Created")
        .collect();
    assert!(not_created.is_empty(), "{not_created:?}");
    let imported = app
        .get("/v1/users?$count=true&$top=1&$filter=startswith(emailAddress,'killed-')")
        .await;
    assert_eq!(imported.body["@odata.count"], ROWS, "{}", imported.body);
}
