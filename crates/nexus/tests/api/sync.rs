use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::roles::role;
use crate::support::{assert_problem, both_backends, keys, TestApp};

both_backends!(
    sync_records_groups_and_attributes_and_resolves_roles,
    repeat_sync_writes_nothing,
    expired_roles_are_not_returned,
    inactive_users_are_not_authenticated,
    unknown_user_or_connection_is_404,
    request_validation,
    concurrent_syncs_leave_one_group_set,
    concurrent_logins_commit_together_and_fail_alone,
);

const API: &str = "https://api.example.com";

/// A user (admin of its organization) linked on connection `corp-ad`, with a
/// UPN for client key `rdp`; returns the user id.
pub async fn linked_user(app: &TestApp) -> String {
    app.tenant("corp").await;
    app.organization("acme").await;
    let created = app
        .post(
            "/v1/users",
            json!({
                "authenticationMethod": "Ad", "displayName": "Justin Buchanan", "givenName": "Justin",
                "familyName": "Buchanan", "idpTenantId": "corp", "organization": "acme", "makeAdmin": true,
                "idpMetadata": {"azoUserId": "ad|justin", "azoConnectionId": "corp-ad"},
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = created.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/users/{user}/custom-upns"),
        json!({"clientUpnKey": "rdp", "customUpnValue": "jbuchanan@corp.example.com"}),
    )
    .await;
    user
}

pub fn sync_body(groups: &[&str], attributes: &[(&str, &str)]) -> Value {
    json!({
        "audience": API,
        "attributes": attributes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "connection": {"connectionId": "corp-ad", "groups": groups},
        "clientUpnKey": "rdp",
    })
}

fn names(values: &Value, key: &str) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

async fn sync_records_groups_and_attributes_and_resolves_roles(app: TestApp) {
    let user = linked_user(&app).await;
    let direct = role(&app, "direct", API, &["user.read"]).await;
    let mapped = role(&app, "mapped", API, &[]).await;
    role(&app, "organization-admin", API, &[]).await;
    let elsewhere = role(&app, "elsewhere", "https://other.example.com", &[]).await;
    let other_map = role(&app, "other-connection", API, &[]).await;
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [direct["id"], elsewhere["id"]]}),
    )
    .await;
    for (role, connection) in [(&mapped, "corp-ad"), (&other_map, "another-connection")] {
        let path = format!("/v1/roles/{}/connection-maps", role["id"].as_str().unwrap());
        let reply = app
            .post(
                &path,
                json!({"groupName": "Admins", "azoConnectionId": connection}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }

    let path = format!("/v1/users/{user}/$sync");
    let first = app
        .put(
            &path,
            sync_body(
                &["Admins", "Staff"],
                &[("department", "eng"), ("title", "dev")],
            ),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let info = &first.body;
    assert_eq!(
        keys(info),
        [
            "displayName",
            "familyName",
            "givenName",
            "isAuthenticated",
            "mfaRequired",
            "roles",
            "upn",
            "user",
            "userId"
        ]
    );
    assert_eq!(info["userId"], user.as_str());
    assert_eq!(info["isAuthenticated"], true);
    assert_eq!(info["mfaRequired"], false);
    assert_eq!(
        (
            &info["givenName"],
            &info["familyName"],
            &info["displayName"]
        ),
        (
            &json!("Justin"),
            &json!("Buchanan"),
            &json!("Justin Buchanan")
        )
    );
    assert_eq!(info["upn"], "jbuchanan@corp.example.com");
    // Direct, through the group map, and through the membership role; not the
    // other audience's role nor the other connection's map.
    assert_eq!(
        names(&info["roles"], "name"),
        ["direct", "mapped", "organization-admin"]
    );
    assert_eq!(
        keys(&info["roles"][0]),
        ["description", "expires", "id", "name"]
    );
    let identity = &info["user"]["identities"][0];
    assert_eq!(names(&identity["groups"], "groupName"), ["Admins", "Staff"]);
    assert_eq!(identity["groups"][0]["identityId"], identity["id"]);
    let attributes: Vec<(String, String)> = info["user"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        [
            ("department".to_owned(), "eng".to_owned()),
            ("title".to_owned(), "dev".to_owned())
        ]
    );

    // Another login: Admins is gone, Contractors is new, Staff keeps its id;
    // the asserted attribute changes and the other one stays.
    let staff_id = identity["groups"][1]["id"].clone();
    let second = app
        .put(
            &path,
            sync_body(&["Staff", "Contractors"], &[("department", "ops")]),
        )
        .await
        .body;
    let groups = &second["user"]["identities"][0]["groups"];
    assert_eq!(names(groups, "groupName"), ["Contractors", "Staff"]);
    assert_eq!(groups[1]["id"], staff_id);
    assert_eq!(
        names(&second["roles"], "name"),
        ["direct", "organization-admin"],
        "the map no longer applies"
    );
    let attributes = &second["user"]["attributes"];
    assert_eq!(names(attributes, "value"), ["ops", "dev"]);

    // No client key, or one the user has no UPN for: no upn.
    let mut body = sync_body(&["Staff", "Contractors"], &[]);
    body["clientUpnKey"] = json!("vdi");
    assert_eq!(app.put(&path, body.clone()).await.body["upn"], Value::Null);
    body["clientUpnKey"] = Value::Null;
    assert_eq!(app.put(&path, body).await.body["upn"], Value::Null);
}

async fn repeat_sync_writes_nothing(mut app: TestApp) {
    let user = linked_user(&app).await;
    // The push worker's polls are write transactions too: keep it asleep
    // once it has looked at the outbox after the restart.
    app.push.idle_poll = std::time::Duration::from_secs(3600);
    app.restart().await;
    let mut seen = app.store.write_transactions();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = app.store.write_transactions();
        if now == seen {
            break;
        }
        seen = now;
    }
    let path = format!("/v1/users/{user}/$sync");
    let body = sync_body(&["Staff"], &[("department", "eng")]);
    let first = app.put(&path, body.clone()).await.body;
    let writes = app.store.write_transactions();
    let again = app.put(&path, body.clone()).await.body;
    assert_eq!(
        app.store.write_transactions(),
        writes,
        "an unchanged login starts no write transaction"
    );
    assert_eq!(again, first);
    // A change is written.
    app.put(&path, sync_body(&["Staff"], &[("department", "ops")]))
        .await;
    assert_eq!(app.store.write_transactions(), writes + 1);
}

async fn expired_roles_are_not_returned(app: TestApp) {
    let user = linked_user(&app).await;
    let past = role(&app, "past", API, &[]).await;
    let future = role(&app, "future", API, &[]).await;
    role(&app, "organization-admin", API, &[]).await;
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [past["id"]], "expires": "2001-01-01T00:00:00Z"}),
    )
    .await;
    app.put(
        &format!("/v1/users/{user}/roles"),
        json!({"value": [future["id"]], "expires": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let path = format!("/v1/users/{user}/$sync");
    let info = app.put(&path, sync_body(&[], &[])).await.body;
    assert_eq!(
        names(&info["roles"], "name"),
        ["future", "organization-admin"]
    );
    assert_eq!(info["roles"][0]["expires"], "2999-01-01T00:00:00.000000Z");
    // An organization admin whose admin role was taken away is no longer one.
    let organization = info["user"]["organizationId"].clone();
    app.delete(&format!(
        "/v1/organizations/{organization}/members/{user}/roles?roles=organization-admin"
    ))
    .await;
    let info = app.put(&path, sync_body(&[], &[])).await.body;
    assert_eq!(names(&info["roles"], "name"), ["future"]);
}

async fn inactive_users_are_not_authenticated(app: TestApp) {
    let user = linked_user(&app).await;
    app.patch(&format!("/v1/users/{user}"), json!({"isBlocked": true}))
        .await;
    let info = app
        .put(
            &format!("/v1/users/{user}/$sync"),
            sync_body(&["Staff"], &[]),
        )
        .await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.body["isAuthenticated"], false);
    assert_eq!(info.body["user"]["isActive"], false);
}

async fn unknown_user_or_connection_is_404(app: TestApp) {
    let user = linked_user(&app).await;
    assert_problem(
        &app.put("/v1/users/ghost/$sync", sync_body(&[], &[])).await,
        404,
        "/v1/users/ghost/$sync",
    );
    let mut body = sync_body(&[], &[]);
    body["connection"]["connectionId"] = json!("google-oauth2");
    let path = format!("/v1/users/{user}/$sync");
    let reply = app.put(&path, body).await;
    assert_problem(&reply, 404, &path);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("google-oauth2"));
}

async fn request_validation(app: TestApp) {
    let user = linked_user(&app).await;
    let path = format!("/v1/users/{user}/$sync");
    let missing = app.put(&path, json!({})).await;
    assert_problem(&missing, 400, &path);
    assert_eq!(
        keys(&missing.body["errors"]),
        ["attributes", "audience", "connection"]
    );
    let mut body = sync_body(&["ok", ""], &[("k", "1"), ("k", "2")]);
    body["audience"] = json!("");
    body["clientUpnKey"] = json!("k".repeat(256));
    let reply = app.put(&path, body).await;
    assert_eq!(
        keys(&reply.body["errors"]),
        ["audience", "clientUpnKey", "connection.groups[1]"]
    );
    let mut edge = sync_body(&[], &[]);
    edge["clientUpnKey"] = json!("k".repeat(255));
    assert_eq!(app.put(&path, edge).await.status, StatusCode::OK);
    // Nothing of the rejected requests was stored.
    let stored = app.get(&format!("/v1/users/{user}")).await.body;
    assert_eq!(stored["attributes"], json!([]));
    assert_eq!(stored["identities"][0]["groups"], json!([]));
    // A key asserted twice keeps its last value.
    let repeated = sync_body(&[], &[("k", "1"), ("k", "2")]);
    assert_eq!(app.put(&path, repeated).await.status, StatusCode::OK);
    let stored = app.get(&format!("/v1/users/{user}")).await.body;
    let attributes = stored["attributes"].as_array().unwrap();
    assert_eq!(attributes.len(), 1, "{attributes:?}");
    assert_eq!(attributes[0]["value"], "2");
}

async fn concurrent_syncs_leave_one_group_set(app: TestApp) {
    let user = linked_user(&app).await;
    let path = format!("/v1/users/{user}/$sync");
    // Large, overlapping sets make each sync's delete-and-insert long enough
    // for unserialized syncs to interleave; several rounds give them the chance.
    let sets: Vec<Vec<String>> = (0..20)
        .map(|i| {
            (0..40)
                .map(|g| format!("group-{}", (i * 7 + g) % 97))
                .collect()
        })
        .collect();
    let candidates: Vec<BTreeSet<String>> =
        sets.iter().map(|s| s.iter().cloned().collect()).collect();
    let groups_of = |body: &Value| -> BTreeSet<String> {
        names(&body["identities"][0]["groups"], "groupName")
            .into_iter()
            .collect()
    };
    let mut replayed = groups_of(&app.get(&format!("/v1/users/{user}")).await.body);
    let logins = format!(
        "/v1/audit-events?$filter=resourceId eq '{user}' and operation eq 'SyncUserIdentity'&$orderby=id"
    );
    let seen: Vec<i64> = events(&app.get(&logins).await.body);
    let mut stored = BTreeSet::new();
    for _round in 0..3 {
        let replies = join_all(sets.iter().map(|set| {
            let groups: Vec<&str> = set.iter().map(String::as_str).collect();
            app.put(&path, sync_body(&groups, &[]))
        }))
        .await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        stored = groups_of(&app.get(&format!("/v1/users/{user}")).await.body);
        assert!(
            candidates.contains(&stored),
            "{stored:?} is a mix of the asserted sets"
        );
    }
    // The racing logins' audit events replay, in order, to what is stored:
    // each recorded what it found under its locks and changed.
    let mut next = Some(logins);
    let mut recorded = 0;
    while let Some(page) = next.take() {
        let body = app.get(&page).await.body;
        for event in body["value"].as_array().expect("a page of events") {
            if seen.contains(&event["id"].as_i64().expect("an id")) {
                continue;
            }
            recorded += 1;
            for (field, change) in event["changes"].as_object().expect("changes") {
                let group = field.split(".groups.").nth(1).expect("a group change");
                if change["after"] == json!(true) {
                    assert!(
                        replayed.insert(group.to_owned()),
                        "{group} gained twice: {event:#}"
                    );
                } else {
                    assert!(
                        replayed.remove(group),
                        "{group} lost but not held: {event:#}"
                    );
                }
            }
        }
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert!(recorded > 0, "the logins recorded nothing");
    assert_eq!(replayed, stored);
}

fn events(page: &Value) -> Vec<i64> {
    page["value"]
        .as_array()
        .expect("a page of events")
        .iter()
        .map(|event| event["id"].as_i64().expect("an id"))
        .collect()
}

/// SQLite writes the logins that queue behind its single writer in one
/// transaction (group commit). Concurrent changing logins of many users all
/// land, a login whose write fails fails alone, and on SQLite the logins
/// share transactions.
async fn concurrent_logins_commit_together_and_fail_alone(app: TestApp) {
    const USERS: usize = 24;
    app.tenant("corp").await;
    app.organization("acme").await;
    let mut users = Vec::new();
    for i in 0..USERS {
        let created = app
            .post(
                "/v1/users",
                json!({
                    "authenticationMethod": "Ad", "displayName": format!("User {i}"),
                    "givenName": "User", "familyName": format!("{i}"), "idpTenantId": "corp",
                    "organization": "acme",
                    "idpMetadata": {"azoUserId": format!("ad|u{i}"), "azoConnectionId": "corp-ad"},
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        users.push(created.body["id"].as_str().unwrap().to_owned());
    }
    // A fault only this test's first user meets: its attribute insert fails.
    let mut tx = app.store.begin().await.unwrap();
    let trigger = match app.store.backend() {
        nexus_store::Backend::Sqlite => vec![
            "CREATE TRIGGER poison BEFORE INSERT ON user_attributes WHEN NEW.name = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        ],
        nexus_store::Backend::Postgres => vec![
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN IF NEW.name = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER poison BEFORE INSERT ON user_attributes FOR EACH ROW EXECUTE FUNCTION poison()",
        ],
    };
    for sql in trigger {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();

    let (app, users) = (&app, &users);
    let round = |tag: &'static str, poison: bool| {
        join_all(users.iter().enumerate().map(move |(i, user)| {
            let group = format!("{tag}-{i}");
            let department = format!("{tag}-d{i}");
            let mut attributes = vec![("department", department.as_str())];
            if poison && i == 0 {
                attributes.push(("poison", "x"));
            }
            let body = sync_body(&[group.as_str()], &attributes);
            async move { app.put(&format!("/v1/users/{user}/$sync"), body).await }
        }))
    };
    let check = |replies: &[crate::support::Reply], tag: &str, from: usize| {
        for (i, reply) in replies.iter().enumerate().skip(from) {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let identity = &reply.body["user"]["identities"][0];
            assert_eq!(
                names(&identity["groups"], "groupName"),
                [format!("{tag}-{i}")]
            );
            assert_eq!(
                names(&reply.body["user"]["attributes"], "value"),
                [format!("{tag}-d{i}")]
            );
        }
    };

    let replies = round("first", true).await;
    assert_eq!(
        replies[0].status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        replies[0].body
    );
    assert_eq!(replies[0].body["type"], "urn:nexus:problem:unavailable");
    check(&replies, "first", 1);
    let stored = app.get(&format!("/v1/users/{}", users[0])).await.body;
    assert_eq!(
        stored["identities"][0]["groups"],
        json!([]),
        "nothing of the failed login is stored"
    );
    assert_eq!(stored["attributes"], json!([]));
    for (i, user) in users.iter().enumerate().skip(1) {
        let stored = app.get(&format!("/v1/users/{user}")).await.body;
        assert_eq!(
            names(&stored["identities"][0]["groups"], "groupName"),
            [format!("first-{i}")]
        );
    }

    let before = app.store.write_transactions();
    let replies = round("second", false).await;
    check(&replies, "second", 0);
    let transactions = app.store.write_transactions() - before;
    match app.store.backend() {
        nexus_store::Backend::Sqlite => assert!(
            transactions < USERS as u64,
            "{USERS} concurrent logins took {transactions} transactions"
        ),
        // Its own transaction for each (the push worker may add some).
        nexus_store::Backend::Postgres => assert!(transactions >= USERS as u64),
    }
}
