use std::collections::HashMap;

use futures::future::join_all;
use serde_json::json;

use crate::support::{both_backends, TestApp};

both_backends!(
    identical_links_make_one_identity,
    competing_upns_make_one_upn,
    one_address_goes_to_one_user
);

async fn identical_links_make_one_identity(app: TestApp) {
    let user = app.user().await;
    app.tenant("race").await;
    let path = format!("/v1/users/{user}/idp_tenants/race");
    let body = json!({"strategy": "auth0", "azoUserId": "auth0|race", "azoConnectionId": "db"});
    let replies = join_all((0..50).map(|_| app.put(&path, body.clone()))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let first = &replies[0].body;
    assert!(
        replies.iter().all(|r| &r.body == first),
        "every reply is the same identity"
    );
    let listed = app
        .get(&format!("/v1/users/{user}/idp_tenants?$count=true"))
        .await
        .body;
    assert_eq!(listed["@odata.count"], 1);
}

async fn competing_upns_make_one_upn(app: TestApp) {
    let user = app.user().await;
    let path = format!("/v1/users/{user}/custom-upns");
    let replies = join_all((0..50).map(|i| {
        app.post(
            &path,
            json!({"clientUpnKey": "rdp", "customUpnValue": format!("u{i}@corp.example.com")}),
        )
    }))
    .await;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for reply in &replies {
        *statuses.entry(reply.status.as_u16()).or_default() += 1;
    }
    assert_eq!(
        statuses,
        HashMap::from([(201, 1), (409, 49)]),
        "{statuses:?}"
    );
    let listed = app.get(&format!("{path}?$count=true")).await.body;
    assert_eq!(listed["@odata.count"], 1);
    let winner = replies.iter().find(|r| r.status == 201).unwrap();
    assert_eq!(listed["value"][0], winner.body);
}

/// Twenty users claim one address at once, in different spellings: one gets
/// it, the others are refused and keep theirs.
async fn one_address_goes_to_one_user(app: TestApp) {
    let mut users = Vec::new();
    for _ in 0..20 {
        users.push(app.user().await);
    }
    let paths: Vec<String> = users
        .iter()
        .map(|user| format!("/v1/users/{user}"))
        .collect();
    let replies = join_all(paths.iter().enumerate().map(|(i, path)| {
        let address = if i % 2 == 0 {
            "wanted@example.com"
        } else {
            "Wanted@Example.com"
        };
        app.patch(path, json!({"emailAddress": address}))
    }))
    .await;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for reply in &replies {
        *statuses.entry(reply.status.as_u16()).or_default() += 1;
    }
    assert_eq!(
        statuses,
        HashMap::from([(200, 1), (409, 19)]),
        "{statuses:?}"
    );
    let mut holders = 0;
    for path in &paths {
        let address = &app.get(path).await.body["emailAddress"];
        if !address.is_null() {
            holders += 1;
            assert!(address
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("wanted@example.com"));
        }
    }
    assert_eq!(holders, 1);
}
