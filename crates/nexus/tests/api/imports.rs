//! Importing an Auth0 tenant's users, against the simulator: who is linked,
//! who is created, who is refused (an unverified address never links),
//! a second run changes nothing, a dry run writes nothing, and a restart in
//! the middle goes on from the checkpoint without a duplicate.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::sim_tenant::{eventually, linked_user, nexus_user, seed_account, tenant, Tenant};
use crate::support::{assert_problem, both_backends, ended_job, start_job, TestApp};

both_backends!(
    an_import_links_creates_and_refuses,
    a_dry_run_writes_nothing,
    what_cannot_be_imported,
    an_import_waits_out_an_auth0_outage,
    a_restarted_import_goes_on_from_its_checkpoint,
    a_killed_server_s_import_finishes_elsewhere,
    the_command_line_imports_and_reports,
    racing_starts_make_one_import,
);

const IMPORTS: &str = "/v1/idp_tenants/sim/imports";

/// Seeds an Auth0 database user; its id.
async fn account(tenant: &Tenant, email: &str, verified: bool, metadata: Value) -> String {
    seed_account(
        tenant,
        json!({"connection": auth0_sim::DEFAULT_CONNECTION, "email": email, "password": "Passw0rd!long",
            "email_verified": verified, "app_metadata": metadata, "name": format!("Name of {email}")}),
    )
    .await
}

/// Starts an import; the job.
async fn start(app: &TestApp, query: &str) -> Value {
    start_job(app, IMPORTS, query, json!({"organization": "acme"})).await
}

/// Waits until the job has ended; the job.
async fn ended(app: &TestApp, job: &Value) -> Value {
    ended_job(app, IMPORTS, job).await
}

fn counts(job: &Value) -> Value {
    let p = &job["progress"];
    json!([
        p["read"],
        p["created"],
        p["linked"],
        p["unchanged"],
        p["skipped"],
        p["conflictCount"]
    ])
}

/// The Nexus user linked to the Auth0 account in the tenant `sim`, if any.
async fn holder(app: &TestApp, azo: &str) -> Option<Value> {
    let path = format!(
        "/v1/users/FindUserByConnection(azoConnectionId='{}',azoUserId='{azo}')",
        auth0_sim::DEFAULT_CONNECTION
    );
    let found = app.get(&path).await;
    (found.status.as_u16() == 200).then_some(found.body)
}

async fn an_import_links_creates_and_refuses(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let verified_user = nexus_user(&app, "verified@example.com").await;
    let unverified_user = nexus_user(&app, "unverified@example.com").await;
    let named_user = nexus_user(&app, "named@example.com").await;
    let (linked, linked_azo) = linked_user(&app, &tenant, "linked@example.com").await;

    let verified = account(&tenant, "Verified@Example.com", true, json!({})).await;
    let unverified = account(&tenant, "unverified@example.com", false, json!({})).await;
    let named = account(
        &tenant,
        "other-address@example.com",
        false,
        json!({"nexus_user_id": named_user}),
    )
    .await;
    let new = account(&tenant, "new@example.com", true, json!({})).await;

    let job = ended(&app, &start(&app, "").await).await;
    assert_eq!(job["state"], "Completed", "{job}");
    assert_eq!(job["dryRun"], false);
    // read, created, linked, unchanged, skipped, conflicts
    assert_eq!(counts(&job), json!([5, 1, 2, 1, 0, 1]), "{job}");
    let conflict = &job["progress"]["conflicts"][0];
    assert_eq!(conflict["azoUserId"], json!(unverified));
    assert_eq!(conflict["email"], "unverified@example.com");
    assert!(
        conflict["reason"]
            .as_str()
            .unwrap()
            .contains("not verified"),
        "{conflict}"
    );

    // Linked by verified address (and now verified in Nexus too), and by
    // app_metadata; the unverified address linked nobody.
    let by_address = holder(&app, &verified).await.expect("linked");
    assert_eq!(by_address["id"], json!(verified_user));
    assert_eq!(by_address["email-verification-status-type"], "Verified");
    assert_eq!(
        holder(&app, &named).await.expect("linked")["id"],
        json!(named_user)
    );
    assert!(holder(&app, &unverified).await.is_none());
    let unverified_after = app.get(&format!("/v1/users/{unverified_user}")).await.body;
    assert_eq!(unverified_after["identities"].as_array().unwrap().len(), 0);
    assert_eq!(
        holder(&app, &linked_azo).await.expect("linked")["id"],
        json!(linked)
    );

    // Created in the organization, named and addressed as in Auth0.
    let created = holder(&app, &new).await.expect("created");
    assert_eq!(created["displayName"], "Name of new@example.com");
    assert_eq!(created["emailAddress"], "new@example.com");
    assert_eq!(created["email-verified"], true);
    assert_eq!(created["authenticationMethod"], "Database");
    assert_eq!(created["organization"]["name"], "acme");
    // Auth0 learns the Nexus ids of the accounts linked and created.
    let created_id = created["id"].clone();
    eventually(&tenant, &new, app_metadata_id, created_id).await;
    eventually(&tenant, &verified, app_metadata_id, json!(verified_user)).await;

    // A second run changes nothing; the refusal stands.
    let again = ended(&app, &start(&app, "").await).await;
    assert_eq!(counts(&again), json!([5, 0, 0, 4, 0, 1]), "{again}");
}

fn app_metadata_id(user: &auth0::User) -> Value {
    user.app_metadata
        .as_ref()
        .and_then(|m| m.get("nexus_user_id"))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn a_dry_run_writes_nothing(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let existing = nexus_user(&app, "dry-existing@example.com").await;
    let matched = account(&tenant, "dry-existing@example.com", true, json!({})).await;
    let new = account(&tenant, "dry-new@example.com", true, json!({})).await;
    let users_before = app.get("/v1/users?$count=true&$top=1").await.body["@odata.count"].clone();

    let job = ended(&app, &start(&app, "?dryRun=true").await).await;
    assert_eq!(job["dryRun"], true);
    assert_eq!(counts(&job), json!([2, 1, 1, 0, 0, 0]), "{job}");
    assert_eq!(
        app.get("/v1/users?$count=true&$top=1").await.body["@odata.count"],
        users_before
    );
    assert!(holder(&app, &matched).await.is_none());
    assert!(holder(&app, &new).await.is_none());
    let user = app.get(&format!("/v1/users/{existing}")).await.body;
    assert_eq!(user["email-verified"], false, "{user}");

    // The real run does what the dry run said.
    let real = ended(&app, &start(&app, "").await).await;
    assert_eq!(counts(&real), json!([2, 1, 1, 0, 0, 0]), "{real}");
}

async fn what_cannot_be_imported(app: TestApp) {
    let unknown = "/v1/idp_tenants/nowhere/imports";
    assert_problem(
        &app.post(unknown, json!({"organization": "acme"})).await,
        404,
        unknown,
    );
    // A tenant without Management credentials cannot be read.
    let plain = app.tenant("plain").await;
    let path = format!(
        "/v1/idp_tenants/{}/imports",
        plain["name"].as_str().unwrap()
    );
    assert_problem(
        &app.post(&path, json!({"organization": "acme"})).await,
        409,
        &path,
    );

    let _tenant = tenant(&app, 1000).await;
    for (body, status) in [
        (json!({}), 400),
        (json!({"organization": ""}), 400),
        (json!({"organization": "acme", "colour": "green"}), 400),
        (json!({"organization": "no-such-organization"}), 422),
    ] {
        let refused = app.post(IMPORTS, body.clone()).await;
        assert_problem(&refused, status, IMPORTS);
    }
    let bad_query = format!("{IMPORTS}?dryRun=maybe");
    let refused = app.post(&bad_query, json!({"organization": "acme"})).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    let missing = format!("{IMPORTS}/no-such-job");
    assert_problem(&app.get(&missing).await, 404, &missing);

    // Without tenant.write, refused; tenant.read reads.
    let job = ended(&app, &start(&app, "").await).await;
    let reader = crate::support::basic(&app.key("tenant.read").await);
    let denied = app
        .request_as(
            reqwest::Method::POST,
            IMPORTS,
            &[("authorization", reader.clone())],
            Some(&json!({"organization": "acme"})),
        )
        .await;
    assert_problem(&denied, 403, IMPORTS);
    let path = format!("{IMPORTS}/{}", job["id"].as_str().unwrap());
    let read = app
        .request_as(
            reqwest::Method::GET,
            &path,
            &[("authorization", reader)],
            None,
        )
        .await;
    assert_eq!(read.body["id"], job["id"], "{}", read.body);
}

async fn an_import_waits_out_an_auth0_outage(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let new = account(&tenant, "outage@example.com", true, json!({})).await;
    crate::sim_tenant::fail(&tenant, &["POST"]).await;
    let job = start(&app, "").await;
    // While Auth0 cannot start the export the import waits, and holds the
    // tenant: a second one is refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = format!("{IMPORTS}/{}", job["id"].as_str().unwrap());
    let waiting = app.get(&path).await.body;
    assert!(
        waiting["state"] == "Queued" || waiting["state"] == "Running",
        "{waiting}"
    );
    let second = app.post(IMPORTS, json!({"organization": "acme"})).await;
    assert_problem(&second, 409, IMPORTS);
    crate::sim_tenant::recover(&tenant).await;
    let done = ended(&app, &job).await;
    assert_eq!(counts(&done), json!([1, 1, 0, 0, 0, 0]), "{done}");
    assert!(holder(&app, &new).await.is_some());
}

async fn a_restarted_import_goes_on_from_its_checkpoint(mut app: TestApp) {
    app.imports.batch = 1;
    app.restart().await;
    let tenant = tenant(&app, 1000).await;
    const USERS: usize = 120;
    for n in 0..USERS {
        account(
            &tenant,
            &format!("restart-{n}@example.com"),
            true,
            json!({}),
        )
        .await;
    }
    let job = start(&app, "").await;
    let path = format!("{IMPORTS}/{}", job["id"].as_str().unwrap());
    // Once some users are in, the server stops and starts again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let read = app.get(&path).await.body;
        if read["progress"]["read"].as_u64().unwrap() >= 5 {
            assert_eq!(read["state"], "Running", "too late to restart: {read}");
            break;
        }
        assert!(Instant::now() < deadline, "{read}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.restart().await;
    let done = ended(&app, &job).await;
    assert_eq!(done["state"], "Completed", "{done}");
    assert_eq!(counts(&done), json!([USERS, USERS, 0, 0, 0, 0]), "{done}");
    let members = app
        .get("/v1/users?$count=true&$top=1&$filter=startswith(emailAddress,'restart-')")
        .await;
    assert_eq!(members.body["@odata.count"], USERS, "{}", members.body);
}

async fn the_command_line_imports_and_reports(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let new = account(&tenant, "cli@example.com", true, json!({})).await;
    let run = |dry_run: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus"));
        command
            .args(["tenant", "import", "sim", "--organization", "acme"])
            .args(["--database-url", app.database_url()])
            .args(["--secret-key", crate::support::TEST_SECRET_KEY])
            .env_remove("NEXUS_DATABASE_URL");
        if dry_run {
            command.arg("--dry-run");
        }
        command.output()
    };
    let dry = run(true).await.unwrap();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let job: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(
        (&job["state"], &job["dryRun"]),
        (&json!("Completed"), &json!(true))
    );
    assert_eq!(counts(&job), json!([1, 1, 0, 0, 0, 0]), "{job}");
    assert!(holder(&app, &new).await.is_none());

    let real = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&real.stderr);
    assert!(real.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Completed: read 1, created 1, linked 0, unchanged 0, skipped 0, conflicts 0"
        ),
        "{stderr}"
    );
    assert!(holder(&app, &new).await.is_some());

    // An unknown organization: refused, and said so.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nexus"));
    let refused = command
        .args(["tenant", "import", "sim", "--organization", "nowhere"])
        .args(["--database-url", app.database_url()])
        .args(["--secret-key", crate::support::TEST_SECRET_KEY])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("organization"));
}

/// Forty requests start an import of one tenant at once: one is queued, the
/// others are refused, and one job runs.
async fn racing_starts_make_one_import(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    account(&tenant, "race@example.com", true, json!({})).await;
    // Auth0 cannot start the export: the winner stays unfinished meanwhile.
    crate::sim_tenant::fail(&tenant, &["POST"]).await;
    let body = json!({"organization": "acme"});
    let replies = futures::future::join_all((0..10).map(|_| app.post(IMPORTS, body.clone()))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [202, 409, 409, 409, 409, 409, 409, 409, 409, 409],
        "{statuses:?}"
    );
    crate::sim_tenant::recover(&tenant).await;
    let winner = replies.iter().find(|r| r.status.as_u16() == 202).unwrap();
    let done = ended(&app, &winner.body).await;
    assert_eq!(counts(&done), json!([1, 1, 0, 0, 0, 0]), "{done}");
}

/// A `nexus serve` that imports is killed (SIGKILL, no chance to release
/// its claim) in the middle of an import; another server takes the job
/// over when its lease ends (at once on SQLite, whose one writer takes over
/// claims at start) and finishes it from the last checkpoint: every Auth0
/// user imported once, no duplicate.
async fn a_killed_server_s_import_finishes_elsewhere(mut app: TestApp) {
    // This test's server looks for imports once, at start, and then sleeps:
    // the job goes to the process killed below.
    app.imports.idle_poll = Duration::from_secs(3600);
    app.restart().await;
    let tenant = tenant(&app, 1000).await;
    const USERS: usize = 3000;
    tenant.sim.seed_users(USERS, "killed-");
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
    let job = start(&app, "").await;
    let path = format!("{IMPORTS}/{}", job["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let read = app.get(&path).await.body;
        if read["progress"]["read"].as_u64().unwrap() >= 500 {
            break read;
        }
        assert!(Instant::now() < deadline, "{read}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    importer.start_kill().unwrap();
    importer.wait().await.unwrap();
    assert_eq!(at_kill["state"], "Running", "killed too late: {at_kill}");
    let done_at_kill = at_kill["progress"]["read"].as_u64().unwrap();
    assert!(done_at_kill < USERS as u64, "{at_kill}");

    app.imports.idle_poll = Duration::from_millis(100);
    app.restart().await;
    let done = ended(&app, &job).await;
    assert_eq!(done["state"], "Completed", "{done}");
    assert_eq!(counts(&done), json!([USERS, USERS, 0, 0, 0, 0]), "{done}");
    let imported = app
        .get("/v1/users?$count=true&$top=1&$filter=startswith(emailAddress,'killed-')")
        .await;
    assert_eq!(imported.body["@odata.count"], USERS, "{}", imported.body);
}
