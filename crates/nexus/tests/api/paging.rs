use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nexus_core::user::UserRecord;
use nexus_core::values::AuthenticationMethod;
use nexus_core::{Audit, Timestamp};
use serde_json::{json, Value};

use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    pages_through_100000_users_without_gaps_or_repeats,
    next_links_walk_each_order_once,
    rows_added_before_the_cursor_move_nothing,
    next_links_keep_the_query_without_skip,
    scoped_and_integer_keyed_lists_page_by_skiptoken,
    tokens_that_do_not_fit_are_422s,
);

const USERS: usize = 100_000;
const PAGE: usize = 1000;

/// A user as bulk-loaded straight into the store.
fn record(id: String, display_name: String, family_name: Option<String>) -> UserRecord {
    let now = Timestamp::now();
    UserRecord {
        id,
        user_type: None,
        owner_id: None,
        organization_id: None,
        display_name,
        given_name: None,
        family_name,
        nickname: None,
        username: None,
        picture: None,
        language: None,
        email_address: None,
        email_verified: false,
        email_verify_sent_date: None,
        phone_number: None,
        phone_verified: false,
        recovery_email_address: None,
        is_active: true,
        is_mfa_disabled: false,
        mfa_enrollment_status: None,
        authentication_method: AuthenticationMethod::Database,
        audit: Audit {
            created: now,
            created_by: "seed".into(),
            modified: now,
            modified_by: "seed".into(),
        },
    }
}

async fn insert(app: &TestApp, records: &[UserRecord]) {
    let mut tx = app.store.begin().await.unwrap();
    nexus_store::users::insert_many(&mut tx, records)
        .await
        .unwrap();
    nexus_store::commit(tx).await.unwrap();
}

async fn pages_through_100000_users_without_gaps_or_repeats(app: TestApp) {
    let records: Vec<UserRecord> = (0..USERS)
        // Many equal names: paging must still be stable (id breaks ties).
        .map(|i| record(format!("seed-{i:06}"), format!("User {}", i % 97), None))
        .collect();
    insert(&app, &records).await;

    let mut seen: HashSet<String> = HashSet::with_capacity(USERS);
    let mut previous_name = String::new();
    for page in 0..USERS / PAGE + 1 {
        let path = format!(
            "/v1/users?$orderby=displayName&$top={PAGE}&$skip={}&$count=true",
            page * PAGE
        );
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["@odata.count"], USERS);
        let users = reply.body["value"].as_array().unwrap();
        let expected = if page < USERS / PAGE { PAGE } else { 0 };
        assert_eq!(users.len(), expected, "page {page}");
        for user in users {
            let id = user["id"].as_str().unwrap().to_owned();
            let name = user["displayName"].as_str().unwrap().to_owned();
            assert!(name >= previous_name, "ordered by displayName");
            previous_name = name;
            assert!(seen.insert(id.clone()), "{id} repeated");
        }
    }
    assert_eq!(seen.len(), USERS, "every user listed once");
}

/// 250 users: seven display names (ties), a family name for four in five
/// (NULL for the rest).
async fn seed_users(app: &TestApp) {
    let records: Vec<UserRecord> = (0..250)
        .map(|i| {
            let family = (i % 5 != 0).then(|| format!("F{:02}", i % 13));
            record(format!("seed-{i:03}"), format!("User {}", i % 7), family)
        })
        .collect();
    insert(app, &records).await;
}

/// Follows `@odata.nextLink` from `first` to the end and returns every item.
/// Each page with a nextLink is full; the last is short and has none; each
/// page counts the whole list when asked to.
async fn walk(app: &TestApp, first: &str, top: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(first.to_owned());
    let mut count = None;
    while let Some(path) = next {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let page = reply.body["value"].as_array().unwrap();
        next = reply.body.get("@odata.nextLink").map(|link| {
            assert!(link.as_str().unwrap().contains("$skiptoken="), "{link}");
            link.as_str().unwrap().to_owned()
        });
        if next.is_some() {
            assert_eq!(page.len(), top, "{path}: a page with a nextLink is full");
        } else {
            assert!(page.len() < top, "{path}: a full page has a nextLink");
        }
        let page_count = reply.body.get("@odata.count").cloned();
        assert!(
            count.is_none() || count == page_count,
            "{path}: count moved"
        );
        count = page_count;
        items.extend(page.iter().cloned());
        assert!(items.len() <= 1000, "{first}: the walk does not end");
    }
    if let Some(count) = count {
        assert_eq!(
            count,
            items.len(),
            "{first}: @odata.count counts every page"
        );
    }
    items
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items
        .iter()
        .map(|item| item[name].as_str().unwrap_or("<null>"))
        .collect()
}

/// `items` in one page of up to 1000, for comparison with a walk.
async fn one_page(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/v1/users?{query}&$top=1000")).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    assert!(reply.body.get("@odata.nextLink").is_none(), "a short page");
    reply.body["value"].as_array().unwrap().clone()
}

async fn next_links_walk_each_order_once(app: TestApp) {
    seed_users(&app).await;
    let mut all_ids: Vec<String> = (0..250).map(|i| format!("seed-{i:03}")).collect();
    all_ids.sort();

    for (query, top, expected) in [
        ("$count=true", 17, 250),
        // 250 is ten full pages: the eleventh is empty and ends the walk.
        ("$count=true", 25, 250),
        ("$orderby=displayName desc&$count=true", 17, 250),
        ("$orderby=displayName", 17, 250),
        ("$orderby=familyName&$count=true", 17, 250),
        ("$orderby=familyName desc,displayName", 13, 250),
        ("$orderby=created desc", 17, 250),
        ("$filter=startswith(displayName,'User 3') or familyName eq null&$orderby=displayName desc&$count=true", 9, 79),
        ("$search=f1&$orderby=familyName&$count=true", 11, 45),
    ] {
        let walked = walk(&app, &format!("/v1/users?{query}&$top={top}"), top).await;
        let whole = one_page(&app, query).await;
        assert_eq!(walked.len(), expected, "{query}");
        assert_eq!(field(&walked, "id"), field(&whole, "id"), "{query}");
        let unique: HashSet<&str> = field(&walked, "id").into_iter().collect();
        assert_eq!(unique.len(), walked.len(), "{query}: an item repeated");
    }

    // The orders themselves, the same on both backends.
    let ids = walk(&app, "/v1/users?$top=17", 17).await;
    assert_eq!(field(&ids, "id"), all_ids);
    let by_name = walk(&app, "/v1/users?$orderby=displayName desc&$top=17", 17).await;
    let mut expected: Vec<(&str, &str)> = by_name
        .iter()
        .map(|u| {
            (
                u["displayName"].as_str().unwrap(),
                u["id"].as_str().unwrap(),
            )
        })
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        field(&by_name, "id"),
        expected.iter().map(|e| e.1).collect::<Vec<_>>()
    );
    // NULL after every value ascending, before every value descending.
    let families = field(
        &walk(&app, "/v1/users?$orderby=familyName&$top=17", 17).await,
        "familyName",
    )
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    assert_eq!(families.iter().filter(|f| *f == "<null>").count(), 50);
    assert!(
        families[..200].iter().all(|f| f.starts_with('F')),
        "{families:?}"
    );
    assert!(families[..200].windows(2).all(|w| w[0] <= w[1]));
    assert!(families[200..].iter().all(|f| f == "<null>"));
    let descending = walk(&app, "/v1/users?$orderby=familyName desc&$top=17", 17).await;
    let descending = field(&descending, "familyName");
    assert!(
        descending[..50].iter().all(|f| *f == "<null>"),
        "{descending:?}"
    );
    assert!(descending[50..].windows(2).all(|w| w[0] >= w[1]));
}

async fn rows_added_before_the_cursor_move_nothing(app: TestApp) {
    seed_users(&app).await;
    for (query, early) in [
        ("", record("seed-000a".into(), "User 1".into(), None)),
        (
            "$orderby=displayName",
            record("x-1".into(), "A user".into(), None),
        ),
        (
            "$orderby=familyName",
            record("x-2".into(), "User 2".into(), Some("A".into())),
        ),
        // NULL is first when descending; the id breaks the tie.
        (
            "$orderby=familyName desc",
            record("seed-999".into(), "User 3".into(), None),
        ),
    ] {
        let whole = one_page(&app, query).await;
        let first = app.get(&format!("/v1/users?{query}&$top=40")).await.body;
        let mut walked = first["value"].as_array().unwrap().clone();
        // Between two pages, a user who sorts before the cursor arrives.
        insert(&app, std::slice::from_ref(&early)).await;
        let link = first["@odata.nextLink"].as_str().unwrap();
        walked.extend(walk(&app, link, 40).await);
        assert_eq!(field(&walked, "id"), field(&whole, "id"), "{query}");
        let now = one_page(&app, query).await;
        assert_eq!(now.len(), whole.len() + 1, "{query}");
        let position = field(&now, "id").iter().position(|id| *id == early.id);
        assert!(
            position.is_some_and(|p| p < 40),
            "{query}: added at {position:?}"
        );
    }
}

async fn next_links_keep_the_query_without_skip(app: TestApp) {
    seed_users(&app).await;
    let query = "$filter=startswith(displayName,'User 1') or displayName eq 'User 2'&$orderby=displayName desc&$top=5&$skip=3&$count=true";
    let reply = app.get(&format!("/v1/users?{query}")).await;
    let link = reply.body["@odata.nextLink"].as_str().unwrap();
    let (path, options) = link.split_once('?').unwrap();
    assert_eq!(path, "/v1/users");
    let options: Vec<&str> = options.split('&').collect();
    assert_eq!(
        options[..4],
        [
            "$filter=startswith(displayName,'User%201')%20or%20displayName%20eq%20'User%202'",
            "$orderby=displayName%20desc",
            "$top=5",
            "$count=true",
        ]
    );
    assert_eq!(options.len(), 5, "{link}");
    let token = options[4].strip_prefix("$skiptoken=").unwrap();
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    // The token starts where $skip would: after the first 3 + 5.
    let next = app.get(link).await.body;
    let skipped = app
        .get(&format!(
            "/v1/users?{}",
            query.replace("$skip=3", "$skip=8")
        ))
        .await
        .body;
    assert_eq!(next["value"], skipped["value"]);
    assert_eq!(next["value"].as_array().unwrap().len(), 5);
    assert_eq!(next["@odata.count"], 72);
    // $skip beside a token counts from where the token starts.
    let further = app.get(&format!("{link}&$skip=2")).await.body;
    let skipped = app
        .get(&format!(
            "/v1/users?{}",
            query.replace("$skip=3", "$skip=10")
        ))
        .await
        .body;
    assert_eq!(further["value"], skipped["value"]);
    assert_eq!(further["value"].as_array().unwrap().len(), 5);
}

async fn scoped_and_integer_keyed_lists_page_by_skiptoken(app: TestApp) {
    // Custom UPNs of one user: scoped by the path, a nullable key.
    let user = app.user().await;
    let base = format!("/v1/users/{user}/custom-upns");
    let mut body = json!({"customUpnValue": "none@corp.example.com"});
    assert_eq!(app.post(&base, body.clone()).await.status, 201);
    for i in 0..11 {
        body = json!({"clientUpnKey": format!("k{}", i % 4 * 10 + i), "customUpnValue": format!("u{i}@corp.example.com")});
        assert_eq!(app.post(&base, body).await.status, 201);
    }
    for query in ["", "?$orderby=clientUpnKey desc", "?$orderby=clientUpnKey"] {
        let walked = walk(
            &app,
            &format!(
                "{base}{query}{}$top=5",
                if query.is_empty() { "?" } else { "&" }
            ),
            5,
        )
        .await;
        let whole = app.get(&format!("{base}{query}")).await.body;
        let whole = whole["value"].as_array().unwrap();
        assert_eq!(walked.len(), 12);
        assert_eq!(field(&walked, "id"), field(whole, "id"), "{query}");
    }
    let keys = walk(&app, &format!("{base}?$orderby=clientUpnKey&$top=5"), 5).await;
    assert_eq!(field(&keys, "clientUpnKey")[11], "<null>");

    // Organizations: integer ids.
    for i in 0..6 {
        app.organization(&format!("org-{i}")).await;
    }
    let total = app.get("/v1/organizations?$count=true").await.body["@odata.count"]
        .as_u64()
        .unwrap() as usize;
    for query in [
        "$top=4",
        "$orderby=id desc&$top=4",
        "$orderby=name desc&$top=4",
    ] {
        let walked = walk(&app, &format!("/v1/organizations?{query}"), 4).await;
        let whole = app
            .get(&format!(
                "/v1/organizations?{}",
                query.replace("$top=4", "$top=1000")
            ))
            .await
            .body;
        assert_eq!(walked.len(), total, "{query}");
        assert_eq!(
            walked.as_slice(),
            whole["value"].as_array().unwrap().as_slice(),
            "{query}"
        );
    }
}

/// A token's JSON, and a token of some JSON.
fn token_json(link: &str) -> Value {
    let token = link.split("$skiptoken=").nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap()
}

fn token_of(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

async fn tokens_that_do_not_fit_are_422s(app: TestApp) {
    seed_users(&app).await;
    let first = app.get("/v1/users?$orderby=displayName&$top=10").await.body;
    let link = first["@odata.nextLink"].as_str().unwrap();
    let good = token_json(link);
    let good_token = token_of(&good);
    assert_eq!(app.get(link).await.status, 200);
    assert_eq!(
        app.get(&format!(
            "/v1/users?$orderby=displayName&$top=10&$skiptoken={good_token}"
        ))
        .await
        .status,
        200
    );

    let mut short = good.clone();
    short["k"].as_array_mut().unwrap().pop();
    let mut long = good.clone();
    long["k"].as_array_mut().unwrap().push(json!("x"));
    let mut wrong_type = good.clone();
    wrong_type["k"][0] = json!(7);
    let mut null_name = good.clone();
    null_name["k"][0] = Value::Null;
    let mut float = good.clone();
    float["k"][0] = json!(1.5);
    let mut extra = good.clone();
    extra["x"] = json!(1);
    let cases = [
        ("$orderby=displayName", "!!!".to_owned(), "not base64url"),
        (
            "$orderby=displayName",
            URL_SAFE_NO_PAD.encode("[1,2"),
            "not its JSON",
        ),
        (
            "$orderby=displayName",
            token_of(&json!({"k": ["a", "b"]})),
            "not its JSON",
        ),
        ("$orderby=displayName", token_of(&extra), "not its JSON"),
        (
            "$orderby=displayName",
            token_of(&short),
            "holds 1 values where the order has 2 keys",
        ),
        ("$orderby=displayName", token_of(&long), "holds 3 values"),
        (
            "$orderby=displayName",
            token_of(&wrong_type),
            "for 'displayName'",
        ),
        (
            "$orderby=displayName",
            token_of(&null_name),
            "for 'displayName'",
        ),
        (
            "$orderby=displayName",
            token_of(&float),
            "not a string, integer or null",
        ),
        ("$orderby=displayName", "A".repeat(5000), "longer than 4096"),
        (
            "$orderby=displayName desc",
            good_token.clone(),
            "belongs to another query",
        ),
        (
            "$orderby=familyName",
            good_token.clone(),
            "belongs to another query",
        ),
        ("", good_token.clone(), "belongs to another query"),
        (
            "$orderby=displayName&$filter=displayName ne 'x'",
            good_token.clone(),
            "belongs to another query",
        ),
        (
            "$orderby=displayName&$search=user",
            good_token.clone(),
            "belongs to another query",
        ),
    ];
    for (query, token, message) in cases {
        let reply = app
            .get(&format!("/v1/users?{query}&$skiptoken={token}"))
            .await;
        assert_problem(&reply, 422, "/v1/users");
        assert_eq!(reply.body["type"], "urn:nexus:problem:cannot-apply");
        let errors = reply.body["errors"]["$skiptoken"].as_array();
        assert!(
            errors.is_some_and(|e| e.len() == 1 && e[0].as_str().unwrap().contains(message)),
            "{query} {token}: {}",
            reply.body
        );
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.starts_with("$skiptoken: "), "{detail}");
    }
    // Another collection's token does not fit either.
    let organizations = app.get("/v1/organizations?$orderby=name&$top=1").await;
    assert_eq!(organizations.status, 200);
    let reply = app
        .get(&format!("/v1/idp_tenants?$skiptoken={good_token}"))
        .await;
    assert_problem(&reply, 422, "/v1/idp_tenants");
    assert!(
        reply.body["errors"]["$skiptoken"].is_array(),
        "{}",
        reply.body
    );
}
