//! Reconciling an Auth0 tenant with Nexus (drift), against the simulator:
//! what was changed in Auth0 behind Nexus's back is reported and repaired, an
//! in-sync tenant records no push, a user deleted in Auth0 is reported and
//! its identity marked (never deleted) until it is back, and the schedule
//! starts reconciliations on its own.

use std::time::{Duration, Instant};

use auth0::UpdateUserRequestContent;
use serde_json::{json, Value};

use crate::audit::events_of;
use crate::sim_tenant::{eventually, linked_user, seed_account, stats, tenant, Tenant};
use crate::support::{assert_problem, both_backends, ended_job, start_job, TestApp};

both_backends!(
    a_drifted_app_metadata_is_repaired,
    custom_upns_and_blocked_drift_are_repaired,
    an_in_sync_tenant_records_no_push,
    a_user_deleted_in_auth0_is_reported_and_marked,
    an_identity_linked_after_the_export_is_not_vanished,
    what_cannot_be_reconciled,
    racing_starts_make_one_reconciliation,
    the_schedule_starts_reconciliations,
);

const RECONCILIATIONS: &str = "/v1/idp_tenants/sim/reconciliations";

/// Starts a reconciliation; the job.
async fn start(app: &TestApp) -> Value {
    let started = start_job(app, RECONCILIATIONS, "", json!({})).await;
    assert_eq!(started["state"], "Queued", "{started}");
    started
}

/// Waits until the job has ended; the job.
async fn ended(app: &TestApp, job: &Value) -> Value {
    ended_job(app, RECONCILIATIONS, job).await
}

/// A reconciliation started and run to its end; it must complete.
async fn reconcile(app: &TestApp) -> Value {
    let job = ended(app, &start(app).await).await;
    assert_eq!(job["state"], "Completed", "{job}");
    job
}

/// checked, inSync, drifted, vanished, reappeared, differenceCount
fn counts(job: &Value) -> Value {
    let r = &job["report"];
    json!([
        r["checked"],
        r["inSync"],
        r["drifted"],
        r["vanished"],
        r["reappeared"],
        r["differenceCount"]
    ])
}

/// Waits until no push waits: Auth0 holds what Nexus wants.
async fn pushes_done(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = app.get("/v1/push/status").await.body;
        if status["pending"] == 0 {
            assert_eq!(status["failed"], 0, "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn app_metadata(user: &auth0::User) -> Value {
    json!(user.app_metadata)
}

fn blocked(user: &auth0::User) -> Value {
    json!(user.blocked.unwrap_or(false))
}

/// Changes the Auth0 user behind Nexus's back, through the Management API.
async fn change_in_auth0(tenant: &Tenant, azo: &str, change: UpdateUserRequestContent) {
    tenant.auth0.update_user(azo, &change).await.unwrap();
}

/// The report's differences as (azoUserId, field, auth0, nexus), sorted.
fn differences(job: &Value) -> Vec<(String, String, Value, Value)> {
    let mut found: Vec<_> = job["report"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["azoUserId"].as_str().unwrap().to_owned(),
                d["field"].as_str().unwrap().to_owned(),
                d["auth0"].clone(),
                d["nexus"].clone(),
            )
        })
        .collect();
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

async fn a_drifted_app_metadata_is_repaired(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "drift@example.com").await;
    let (_, in_sync) = linked_user(&app, &tenant, "steady@example.com").await;
    // An Auth0 user linked to nobody is not Nexus's to compare.
    seed_account(
        &tenant,
        json!({"connection": auth0_sim::DEFAULT_CONNECTION, "email": "stranger@example.com",
            "password": "Passw0rd!long", "app_metadata": {"nexus_user_id": "nobody"}}),
    )
    .await;
    pushes_done(&app).await;
    eventually(&tenant, &azo, app_metadata, json!({"nexus_user_id": user})).await;

    // Someone edits the account's app_metadata in Auth0 directly.
    change_in_auth0(
        &tenant,
        &azo,
        UpdateUserRequestContent {
            app_metadata: Some(json!({"nexus_user_id": "someone-else"})),
            ..Default::default()
        },
    )
    .await;
    let job = reconcile(&app).await;
    assert_eq!(counts(&job), json!([2, 1, 1, 0, 0, 1]), "{job}");
    assert_eq!(job["report"]["read"], 3, "{job}");
    let difference = &job["report"]["differences"][0];
    assert_eq!(
        difference,
        &json!({"userId": user, "azoUserId": azo, "field": "app_metadata.nexus_user_id",
            "auth0": "someone-else", "nexus": user})
    );
    // The push worker puts it right again; the other account is untouched.
    eventually(&tenant, &azo, app_metadata, json!({"nexus_user_id": user})).await;
    pushes_done(&app).await;
    let again = reconcile(&app).await;
    assert_eq!(counts(&again), json!([2, 2, 0, 0, 0, 0]), "{again}");
    assert!(in_sync.starts_with("auth0|"));
}

async fn custom_upns_and_blocked_drift_are_repaired(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "upns@example.com").await;
    let (blocked_user, blocked_azo) = linked_user(&app, &tenant, "blocked@example.com").await;
    let upn = app
        .post(
            &format!("/v1/users/{user}/custom-upns"),
            json!({"customUpnValue": "ada@corp.example.com", "clientUpnKey": "rdp"}),
        )
        .await;
    assert_eq!(upn.status.as_u16(), 201, "{}", upn.body);
    pushes_done(&app).await;
    let wanted = json!({"nexus_user_id": user, "custom_upns": {"rdp": "ada@corp.example.com"}});
    eventually(&tenant, &azo, app_metadata, wanted.clone()).await;

    // In Auth0: the UPN changed, and the other account blocked and renamed.
    change_in_auth0(
        &tenant,
        &azo,
        UpdateUserRequestContent {
            app_metadata: Some(json!({"custom_upns": {"rdp": "intruder@corp.example.com"}})),
            ..Default::default()
        },
    )
    .await;
    change_in_auth0(
        &tenant,
        &blocked_azo,
        UpdateUserRequestContent {
            blocked: Some(true),
            name: Some(Some("Someone Else".to_owned())),
            ..Default::default()
        },
    )
    .await;
    let job = reconcile(&app).await;
    assert_eq!(counts(&job), json!([2, 0, 2, 0, 0, 3]), "{job}");
    let mut expected = vec![
        (
            azo.clone(),
            "app_metadata.custom_upns".to_owned(),
            json!({"rdp": "intruder@corp.example.com"}),
            json!({"rdp": "ada@corp.example.com"}),
        ),
        (
            blocked_azo.clone(),
            "blocked".to_owned(),
            json!(true),
            json!(false),
        ),
        (
            blocked_azo.clone(),
            "name".to_owned(),
            json!("Someone Else"),
            json!("Ada Lovelace"),
        ),
    ];
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(differences(&job), expected, "{job}");
    let blocked_difference = job["report"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "blocked")
        .unwrap();
    assert_eq!(blocked_difference["userId"], json!(blocked_user));

    eventually(&tenant, &azo, app_metadata, wanted).await;
    eventually(&tenant, &blocked_azo, blocked, json!(false)).await;
    eventually(
        &tenant,
        &blocked_azo,
        |u| json!(u.name),
        json!("Ada Lovelace"),
    )
    .await;
}

async fn an_in_sync_tenant_records_no_push(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "calm@example.com").await;
    linked_user(&app, &tenant, "quiet@example.com").await;
    pushes_done(&app).await;
    eventually(&tenant, &azo, app_metadata, json!({"nexus_user_id": user})).await;
    let patches_before = patches(&tenant).await;

    let job = reconcile(&app).await;
    assert_eq!(counts(&job), json!([2, 2, 0, 0, 0, 0]), "{job}");
    assert_eq!(job["report"]["differences"], json!([]));
    assert_eq!(job["report"]["vanishedIdentities"], json!([]));
    // Give a push that should not exist time to happen: none does.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let status = app.get("/v1/push/status").await.body;
    assert_eq!(status["pending"], 0, "{status}");
    let user_after = tenant.auth0.get_user(&azo).await.unwrap();
    assert_eq!(app_metadata(&user_after), json!({"nexus_user_id": user}));
    assert_eq!(patches(&tenant).await, patches_before);
    assert!(patches_before >= 2, "the links were pushed");
}

/// How many PATCHes of users Auth0 has been sent.
async fn patches(tenant: &Tenant) -> u64 {
    stats(tenant).await["requests"]["PATCH /api/v2/users/{id}"]
        .as_u64()
        .unwrap_or(0)
}

async fn a_user_deleted_in_auth0_is_reported_and_marked(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "gone@example.com").await;
    let (kept, _) = linked_user(&app, &tenant, "kept@example.com").await;
    pushes_done(&app).await;
    let identity_path = format!("/v1/users/{user}/idp_tenants/sim");
    let before = app.get(&identity_path).await;
    assert_eq!(before.status.as_u16(), 200, "{}", before.body);
    assert!(
        before.body.get("missingInAuth0Since").is_none(),
        "{}",
        before.body
    );

    tenant.auth0.delete_user(&azo).await.unwrap();
    let job = reconcile(&app).await;
    assert_eq!(counts(&job), json!([1, 1, 0, 1, 0, 0]), "{job}");
    let vanished = &job["report"]["vanishedIdentities"];
    assert_eq!(vanished.as_array().unwrap().len(), 1, "{job}");
    assert_eq!(vanished[0]["userId"], json!(user));
    assert_eq!(vanished[0]["azoUserId"], json!(azo));
    let since = vanished[0]["missingInAuth0Since"].clone();
    assert!(since.is_string(), "{job}");

    // The identity is kept, and marked; the user still has it.
    let marked = app.get(&identity_path).await;
    assert_eq!(marked.status.as_u16(), 200, "{}", marked.body);
    assert_eq!(marked.body["azoUserId"], json!(azo));
    assert_eq!(marked.body["missingInAuth0Since"], since);
    let whole = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(
        whole["identities"][0]["missingInAuth0Since"], since,
        "{whole}"
    );
    let other = app
        .get(&format!("/v1/users/{kept}/idp_tenants/sim"))
        .await
        .body;
    assert!(other.get("missingInAuth0Since").is_none(), "{other}");
    // The mark is audited as a change of the identity, by the job.
    let tenant_id = marked.body["idpTenantId"].as_i64().unwrap();
    let events = events_of(&app, "identity", &format!("{user}/{tenant_id}")).await;
    let mark = events.last().expect("an event");
    assert_eq!(mark["actor"], "reconcile-worker", "{mark}");
    assert_eq!(mark["requestId"], job["id"], "{mark}");
    assert_eq!(
        mark["changes"]["missingInAuth0Since"]["after"], since,
        "{mark}"
    );

    // Still gone: reported again, marked since the first time.
    let again = reconcile(&app).await;
    assert_eq!(counts(&again), json!([1, 1, 0, 1, 0, 0]), "{again}");
    assert_eq!(
        again["report"]["vanishedIdentities"][0]["missingInAuth0Since"],
        since
    );
    assert_eq!(
        events_of(&app, "identity", &format!("{user}/{tenant_id}"))
            .await
            .len(),
        events.len()
    );

    // Back in Auth0 (restored with its id): the mark is cleared, and the
    // restored account gets Nexus's app_metadata again.
    let local = azo.strip_prefix("auth0|").unwrap();
    seed_account(
        &tenant,
        json!({"connection": auth0_sim::DEFAULT_CONNECTION, "user_id": local,
            "email": "gone@example.com", "password": "Passw0rd!long"}),
    )
    .await;
    let back = reconcile(&app).await;
    assert_eq!(counts(&back), json!([2, 1, 1, 0, 1, 2]), "{back}");
    let cleared = app.get(&identity_path).await.body;
    assert!(cleared.get("missingInAuth0Since").is_none(), "{cleared}");
    eventually(&tenant, &azo, app_metadata, json!({"nexus_user_id": user})).await;
}

/// An account made and linked while Auth0 makes the export is not in it,
/// and has not vanished for that.
async fn an_identity_linked_after_the_export_is_not_vanished(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    linked_user(&app, &tenant, "early@example.com").await;
    pushes_done(&app).await;
    // Auth0 makes the export at once but answers the request late.
    let export = "POST /api/v2/jobs/{id}";
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", tenant.sim.base_url()))
        .json(&json!({"late_routes": [export], "late_answer_ms": 1500, "late_answers": 1}))
        .send()
        .await
        .unwrap();
    let job = start(&app).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats(&tenant).await["requests"][export]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(Instant::now() < deadline, "no export was asked for");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (late, late_azo) = linked_user(&app, &tenant, "late@example.com").await;
    let done = ended(&app, &job).await;
    assert_eq!(done["state"], "Completed", "{done}");
    assert_eq!(
        done["report"]["read"], 1,
        "the export was made before the link: {done}"
    );
    assert_eq!(counts(&done), json!([1, 1, 0, 0, 0, 0]), "{done}");
    let identity = app
        .get(&format!("/v1/users/{late}/idp_tenants/sim"))
        .await
        .body;
    assert_eq!(identity["azoUserId"], json!(late_azo));
    assert!(identity.get("missingInAuth0Since").is_none(), "{identity}");
}

async fn what_cannot_be_reconciled(app: TestApp) {
    let unknown = "/v1/idp_tenants/nowhere/reconciliations";
    assert_problem(&app.post(unknown, json!({})).await, 404, unknown);
    // A tenant without Management credentials cannot be read.
    let plain = app.tenant("plain").await;
    let path = format!(
        "/v1/idp_tenants/{}/reconciliations",
        plain["name"].as_str().unwrap()
    );
    let refused = app.post(&path, json!({})).await;
    assert_problem(&refused, 409, &path);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("Management credentials"),
        "{}",
        refused.body
    );

    let _tenant = tenant(&app, 1000).await;
    let missing = format!("{RECONCILIATIONS}/no-such-job");
    assert_problem(&app.get(&missing).await, 404, &missing);

    // Without tenant.write, refused; tenant.read reads.
    let job = ended(&app, &start(&app).await).await;
    assert_eq!(job["createdBy"], json!(app.admin_id));
    assert_eq!(job["idpTenantId"], "sim");
    let reader = crate::support::basic(&app.key("tenant.read").await);
    let denied = app
        .request_as(
            reqwest::Method::POST,
            RECONCILIATIONS,
            &[("authorization", reader.clone())],
            None,
        )
        .await;
    assert_problem(&denied, 403, RECONCILIATIONS);
    let path = format!("{RECONCILIATIONS}/{}", job["id"].as_str().unwrap());
    let read = app
        .request_as(
            reqwest::Method::GET,
            &path,
            &[("authorization", reader)],
            None,
        )
        .await;
    assert_eq!(read.status.as_u16(), 200, "{}", read.body);
    assert_eq!(read.body["id"], job["id"], "{}", read.body);
    // A job is the tenant's: another tenant's path does not find it.
    let elsewhere = format!(
        "/v1/idp_tenants/plain/reconciliations/{}",
        job["id"].as_str().unwrap()
    );
    assert_problem(&app.get(&elsewhere).await, 404, &elsewhere);
}

/// Ten requests start a reconciliation of one tenant at once: one is
/// queued, the others are refused, and one job runs.
async fn racing_starts_make_one_reconciliation(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    linked_user(&app, &tenant, "race@example.com").await;
    pushes_done(&app).await;
    // Auth0 cannot start the export: the winner stays unfinished meanwhile.
    crate::sim_tenant::fail(&tenant, &["POST"]).await;
    let replies =
        futures::future::join_all((0..10).map(|_| app.post(RECONCILIATIONS, json!({})))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [202, 409, 409, 409, 409, 409, 409, 409, 409, 409],
        "{statuses:?}"
    );
    // While it waits for Auth0, a further start is refused too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_problem(
        &app.post(RECONCILIATIONS, json!({})).await,
        409,
        RECONCILIATIONS,
    );
    crate::sim_tenant::recover(&tenant).await;
    let winner = replies.iter().find(|r| r.status.as_u16() == 202).unwrap();
    let done = ended(&app, &winner.body).await;
    assert_eq!(done["state"], "Completed", "{done}");
    assert_eq!(counts(&done), json!([1, 1, 0, 0, 0, 0]), "{done}");
}

async fn the_schedule_starts_reconciliations(mut app: TestApp) {
    app.reconciliations.interval = Some(Duration::from_secs(2));
    app.reconciliations.idle_poll = Duration::from_millis(100);
    app.restart().await;
    // A tenant without credentials is not reconciled; one with them is.
    app.tenant("plain").await;
    let tenant = tenant(&app, 1000).await;
    let (_, azo) = linked_user(&app, &tenant, "scheduled@example.com").await;
    pushes_done(&app).await;
    change_in_auth0(
        &tenant,
        &azo,
        UpdateUserRequestContent {
            blocked: Some(true),
            ..Default::default()
        },
    )
    .await;
    // Started by the schedule, as its audit trail shows.
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        let events = app
            .get("/v1/audit-events?$filter=resourceType eq 'reconciliation'&$orderby=id")
            .await
            .body;
        if let Some(first) = events["value"].as_array().unwrap().first() {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "{events}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(started["actor"], "reconcile-schedule", "{started}");
    assert_eq!(started["operation"], "StartReconciliation", "{started}");
    let id = started["resourceId"].as_str().unwrap();
    let job = ended(&app, &json!({"id": id})).await;
    assert_eq!(job["createdBy"], "reconcile-schedule", "{job}");
    assert_eq!(job["idpTenantId"], "sim", "{job}");
    eventually(&tenant, &azo, blocked, json!(false)).await;
    // Only the tenant with credentials, and one at a time.
    let events = app
        .get("/v1/audit-events?$filter=resourceType eq 'reconciliation'&$count=true")
        .await
        .body;
    for event in events["value"].as_array().unwrap() {
        let job = app
            .get(&format!(
                "{RECONCILIATIONS}/{}",
                event["resourceId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(job.status.as_u16(), 200, "{}", job.body);
    }
    // The interval passes: the schedule starts the next one.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = app
            .get("/v1/audit-events?$filter=resourceType eq 'reconciliation'&$count=true&$top=1")
            .await
            .body["@odata.count"]
            .as_u64()
            .unwrap();
        if count >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no second reconciliation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
