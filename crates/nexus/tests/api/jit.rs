//! Just-in-time provisioning: `SyncAccount` by Auth0 account, which imports
//! an unknown Auth0 user at its first login when the tenant asks for it —
//! by the import's rules, from what Auth0 holds, so an unverified address
//! never takes over a user — and the tenant setting that turns it on.

use serde_json::{json, Value};

use crate::sim_tenant::{
    eventually_linked, fail, linked_user, nexus_user, recover, seed_account, tenant, Tenant,
};
use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    the_setting_is_checked_and_shown,
    without_jit_an_unknown_account_is_refused,
    a_first_login_creates_links_and_syncs,
    a_first_login_takes_the_user_its_verified_address_names,
    an_unverified_address_never_takes_a_user,
    a_linked_account_syncs_whatever_the_setting,
    racing_first_logins_make_one_user,
    auth0_down_provisions_nothing,
);

const TENANT: &str = "/v1/idp_tenants/sim";

fn sync_path(azo: &str) -> String {
    format!("{TENANT}/accounts/{}/$sync", azo.replace('|', "%7C"))
}

fn login(groups: &[&str]) -> Value {
    json!({"audience": "https://api.example.com",
           "attributes": [{"key": "department", "value": "R&D"}],
           "connection": {"connectionId": auth0_sim::DEFAULT_CONNECTION, "groups": groups}})
}

async fn jit_on(app: &TestApp) -> Value {
    let on = app
        .patch(
            TENANT,
            json!({"jitProvisioning": {"enabled": true, "organization": "acme"}}),
        )
        .await;
    assert_eq!(on.status.as_u16(), 200, "{}", on.body);
    on.body
}

async fn account(tenant: &Tenant, email: &str, verified: bool, metadata: Value) -> String {
    seed_account(
        tenant,
        json!({"connection": auth0_sim::DEFAULT_CONNECTION, "email": email, "password": "Passw0rd!long",
            "email_verified": verified, "app_metadata": metadata, "given_name": "Grace", "name": "Grace Hopper"}),
    )
    .await
}

fn group_names(identity: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = identity["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["groupName"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

async fn acme_id(app: &TestApp) -> Value {
    let found = app.get("/v1/organizations?$filter=name eq 'acme'").await;
    assert_eq!(found.status.as_u16(), 200, "{}", found.body);
    let id = found.body["value"][0]["id"].clone();
    assert!(id.is_number(), "{}", found.body);
    id
}

/// How many Nexus users have this address.
async fn users_with(app: &TestApp, email: &str) -> usize {
    let found = app
        .get(&format!(
            "/v1/users?$filter=emailAddress eq '{email}'&$count=true"
        ))
        .await;
    assert_eq!(found.status.as_u16(), 200, "{}", found.body);
    found.body["value"].as_array().unwrap().len()
}

async fn the_setting_is_checked_and_shown(app: TestApp) {
    let _tenant = tenant(&app, 1000).await;
    let acme = acme_id(&app).await;
    let read = app.get(TENANT).await;
    assert_eq!(
        read.body["jitProvisioning"],
        json!({"enabled": false, "organizationId": null}),
        "off by default"
    );

    let on = jit_on(&app).await;
    assert_eq!(
        on["jitProvisioning"],
        json!({"enabled": true, "organizationId": acme})
    );
    assert_eq!(
        app.get(TENANT).await.body["jitProvisioning"],
        on["jitProvisioning"]
    );

    for (body, field) in [
        (json!({"enabled": true}), "jitProvisioning.organization"),
        (
            json!({"enabled": false, "organization": "acme"}),
            "jitProvisioning.organization",
        ),
        (json!({"organization": "acme"}), "jitProvisioning.enabled"),
        (
            json!({"enabled": true, "organization": ""}),
            "jitProvisioning.organization",
        ),
    ] {
        let refused = app.patch(TENANT, json!({"jitProvisioning": body})).await;
        assert_problem(&refused, 400, TENANT);
        assert!(refused.body["errors"][field].is_array(), "{}", refused.body);
    }
    let unknown = app
        .patch(
            TENANT,
            json!({"jitProvisioning": {"enabled": true, "organization": "no-such-org"}}),
        )
        .await;
    assert_problem(&unknown, 422, TENANT);
    assert!(unknown.body["errors"]["jitProvisioning.organization"].is_array());
    // Refusals changed nothing.
    assert_eq!(
        app.get(TENANT).await.body["jitProvisioning"],
        on["jitProvisioning"]
    );

    // Without Management credentials Nexus cannot read a new user.
    let bare = app.tenant("bare").await;
    let path = format!("/v1/idp_tenants/{}", bare["id"]);
    let refused = app
        .patch(
            &path,
            json!({"jitProvisioning": {"enabled": true, "organization": "acme"}}),
        )
        .await;
    assert_problem(&refused, 409, &path);
    assert_eq!(
        app.get(&path).await.body["jitProvisioning"]["enabled"],
        false
    );
    let created = app
        .post(
            "/v1/idp_tenants",
            json!({"name": "bare-2", "azoTenantName": "bare-2", "fqdn": "bare-2.us.auth0.com",
                   "jitProvisioning": {"enabled": true, "organization": "acme"}}),
        )
        .await;
    assert_problem(&created, 400, "/v1/idp_tenants");
    assert!(created.body["errors"]["jitProvisioning"].is_array());

    let off = app
        .patch(TENANT, json!({"jitProvisioning": {"enabled": false}}))
        .await;
    assert_eq!(
        off.body["jitProvisioning"],
        json!({"enabled": false, "organizationId": null})
    );
}

async fn without_jit_an_unknown_account_is_refused(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let azo = account(&tenant, "stranger@example.com", true, json!({})).await;
    let refused = app.put(&sync_path(&azo), login(&[])).await;
    assert_problem(&refused, 404, &sync_path(&azo));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("does not provision users just in time"),
        "{}",
        refused.body
    );
    assert_eq!(users_with(&app, "stranger@example.com").await, 0);

    // With it on, an account Auth0 does not have is still unknown.
    jit_on(&app).await;
    let ghost = "auth0|000000000000000000000000";
    let refused = app.put(&sync_path(ghost), login(&[])).await;
    assert_problem(&refused, 404, &sync_path(ghost));
    // An unknown tenant.
    let path = "/v1/idp_tenants/nope/accounts/auth0%7C1/$sync";
    assert_problem(&app.put(path, login(&[])).await, 404, path);
}

async fn a_first_login_creates_links_and_syncs(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    jit_on(&app).await;
    let acme = acme_id(&app).await;
    let azo = account(&tenant, "new@example.com", true, json!({})).await;

    let first = app.put(&sync_path(&azo), login(&["staff"])).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    let user_id = first.body["userId"].as_str().unwrap().to_owned();
    assert_eq!(first.body["isAuthenticated"], true);

    let user = app.get(&format!("/v1/users/{user_id}")).await.body;
    assert_eq!(user["emailAddress"], "new@example.com");
    assert_eq!(user["email-verified"], true);
    assert_eq!(user["organizationId"], acme);
    assert_eq!(user["givenName"], "Grace");
    let identity = &user["identities"][0];
    assert_eq!(identity["azoUserId"], azo.as_str());
    assert_eq!(group_names(identity), ["staff"], "{user}");
    // The creation (with its account) and the login's groups are audited as
    // the caller's SyncAccount.
    let trail = app
        .get("/v1/audit-events?$filter=operation eq 'SyncAccount'&$orderby=id")
        .await;
    let events = trail.body["value"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", trail.body);
    let created = &events[0]["changes"];
    assert_eq!(created["id"], json!({"before": null, "after": user_id}));
    assert_eq!(created["identities"]["after"][0]["azoUserId"], azo.as_str());
    assert!(events[1]["changes"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.ends_with(".groups.staff")));
    // Nexus tells Auth0 whose account it is; later logins use SyncUserIdentity.
    eventually_linked(&tenant, &azo, &user_id).await;

    // A second login finds the same user and syncs its groups.
    let again = app.put(&sync_path(&azo), login(&["staff", "admins"])).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(again.body["userId"], user_id.as_str());
    assert_eq!(users_with(&app, "new@example.com").await, 1);
    let user = app.get(&format!("/v1/users/{user_id}")).await.body;
    assert_eq!(group_names(&user["identities"][0]), ["admins", "staff"]);
}

async fn a_first_login_takes_the_user_its_verified_address_names(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    jit_on(&app).await;
    let by_address = nexus_user(&app, "known@example.com").await;
    let by_metadata = nexus_user(&app, "named@example.com").await;
    let verified = account(&tenant, "Known@Example.com", true, json!({})).await;
    let named = account(
        &tenant,
        "another@example.com",
        false,
        json!({"nexus_user_id": by_metadata}),
    )
    .await;

    for (azo, user) in [(&verified, &by_address), (&named, &by_metadata)] {
        let synced = app.put(&sync_path(azo), login(&[])).await;
        assert_eq!(synced.status.as_u16(), 200, "{}", synced.body);
        assert_eq!(synced.body["userId"], user.as_str());
        let read = app.get(&format!("/v1/users/{user}")).await.body;
        let ids: Vec<&Value> = read["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["azoUserId"])
            .collect();
        assert!(ids.contains(&&json!(azo)), "{read}");
    }
    assert_eq!(users_with(&app, "known@example.com").await, 1);
    assert_eq!(users_with(&app, "another@example.com").await, 0);
}

async fn an_unverified_address_never_takes_a_user(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    jit_on(&app).await;
    let victim = nexus_user(&app, "ceo@example.com").await;
    let attacker = account(&tenant, "ceo@example.com", false, json!({})).await;

    let refused = app.put(&sync_path(&attacker), login(&[])).await;
    assert_problem(&refused, 409, &sync_path(&attacker));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("not verified"),
        "{}",
        refused.body
    );
    let read = app.get(&format!("/v1/users/{victim}")).await.body;
    let linked_here = read["identities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["azoUserId"] == attacker.as_str());
    assert!(!linked_here, "{read}");
    assert_eq!(users_with(&app, "ceo@example.com").await, 1);
}

async fn a_linked_account_syncs_whatever_the_setting(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    let (user, azo) = linked_user(&app, &tenant, "linked@example.com").await;
    let synced = app.put(&sync_path(&azo), login(&["ops"])).await;
    assert_eq!(synced.status.as_u16(), 200, "{}", synced.body);
    assert_eq!(synced.body["userId"], user.as_str());
    let read = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(group_names(&read["identities"][0]), ["ops"]);
    // A key that may only sync may call it.
    let key = app.key("user.sync").await;
    let headers = [("authorization", crate::support::basic(&key))];
    let as_action = app
        .request_as(
            reqwest::Method::PUT,
            &sync_path(&azo),
            &headers,
            Some(&login(&["ops"])),
        )
        .await;
    assert_eq!(as_action.status.as_u16(), 200, "{}", as_action.body);
    let reader = app.key("user.read").await;
    let headers = [("authorization", crate::support::basic(&reader))];
    let refused = app
        .request_as(
            reqwest::Method::PUT,
            &sync_path(&azo),
            &headers,
            Some(&login(&[])),
        )
        .await;
    assert_problem(&refused, 403, &sync_path(&azo));
}

async fn racing_first_logins_make_one_user(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    jit_on(&app).await;
    let azo = account(&tenant, "twice@example.com", true, json!({})).await;
    let path = sync_path(&azo);
    let replies = futures::future::join_all((0..10).map(|_| app.put(&path, login(&[])))).await;
    let mut users = std::collections::BTreeSet::new();
    for reply in &replies {
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        users.insert(reply.body["userId"].as_str().unwrap().to_owned());
    }
    assert_eq!(users.len(), 1, "one user for one account: {users:?}");
    assert_eq!(users_with(&app, "twice@example.com").await, 1);

    // Another account with the same verified address, on another connection:
    // the user has its account in the tenant already.
    let created = reqwest::Client::new()
        .post(format!("{}/__sim/connections", tenant.sim.base_url()))
        .json(&json!({"name": "second-db"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let second = seed_account(
        &tenant,
        json!({"connection": "second-db", "email": "twice@example.com",
               "password": "Passw0rd!long", "email_verified": true}),
    )
    .await;
    let refused = app.put(&sync_path(&second), login(&[])).await;
    assert_problem(&refused, 409, &sync_path(&second));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("another account"),
        "{}",
        refused.body
    );
    assert_eq!(users_with(&app, "twice@example.com").await, 1);
}

async fn auth0_down_provisions_nothing(app: TestApp) {
    let tenant = tenant(&app, 1000).await;
    jit_on(&app).await;
    let azo = account(&tenant, "patient@example.com", true, json!({})).await;
    fail(&tenant, &["GET"]).await;
    let refused = app.put(&sync_path(&azo), login(&[])).await;
    assert_problem(&refused, 503, &sync_path(&azo));
    assert_eq!(users_with(&app, "patient@example.com").await, 0);
    recover(&tenant).await;
    let synced = app.put(&sync_path(&azo), login(&[])).await;
    assert_eq!(synced.status.as_u16(), 200, "{}", synced.body);
}
