//! The read side of the audit trail: filters, time ranges, keyset paging,
//! and retention.

use std::collections::HashSet;
use std::time::Duration;

use nexus_core::audit::NewAuditEvent;
use nexus_core::{Actor, Timestamp};
use nexus_service::audit_retention::{self, RetentionConfig};

use crate::support::{assert_problem, both_backends, TestApp};

both_backends!(
    filters_select_by_actor_resource_operation_and_time,
    order_comparisons_where_they_mean_nothing_are_400s,
    keyset_pages_return_each_event_once_while_events_arrive,
    retention_deletes_old_events_a_batch_at_a_time,
    the_server_deletes_expired_events_when_it_starts,
);

/// Midnight (UTC) thirty days ago, plus `minutes`: well inside the
/// retention of the server under test, which would delete older events.
fn at(minutes: i64) -> Timestamp {
    let midnight = format!(
        "{}T00:00:00Z",
        &Timestamp::now().plus_days(-30).to_text()[..10]
    );
    Timestamp::parse(&midnight)
        .unwrap()
        .plus_seconds(minutes * 60)
}

/// The date (`YYYY-MM-DD`) of `at(0)` plus `days`.
fn day(days: i64) -> String {
    at(days * 24 * 60).to_text()[..10].to_owned()
}

fn actor(id: &str, operation: &str) -> Actor {
    Actor {
        request_id: Some(format!("req-{id}")),
        ..Actor::internal(id, operation)
    }
}

/// Records events straight into the store, each made at its own time.
async fn insert(app: &TestApp, events: &[(Timestamp, Actor, NewAuditEvent)]) {
    let mut tx = app.store.begin().await.unwrap();
    for (time, actor, event) in events {
        nexus_store::audit::record_at(&mut tx, *time, actor, event)
            .await
            .unwrap();
    }
    nexus_store::commit(tx).await.unwrap();
}

/// A page of events for `query`, as (request id, time) pairs.
async fn listed(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let reply = app.get(&format!("/v1/audit-events?{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["requestId"].as_str().unwrap_or_default().to_owned(),
                e["time"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn request_ids(events: &[(String, String)]) -> Vec<&str> {
    events.iter().map(|(id, _)| id.as_str()).collect()
}

async fn filters_select_by_actor_resource_operation_and_time(app: TestApp) {
    // Each event's request id names it; times are out of insertion order.
    let event = |minutes: i64, who: &str, operation: &str, kind: &'static str, id: &str| {
        let mut actor = actor(who, operation);
        actor.request_id = Some(format!("{who}-{operation}-{minutes}"));
        (at(minutes), actor, NewAuditEvent::success(kind, id))
    };
    insert(
        &app,
        &[
            event(30, "ann", "PatchUser", "user", "u1"),
            event(10, "ann", "CreateUser", "user", "u1"),
            event(20, "bob", "CreateRole", "role", "r1"),
            event(40, "bob", "PatchUser", "user", "u2"),
            event(50, "ann", "DeleteUser", "user", "u1"),
            event(60 * 24, "bob", "PatchUser", "user", "u1"),
        ],
    )
    .await;

    let ids = |query: String| {
        let app = &app;
        async move { request_ids(&listed(app, &query).await).join(" ") }
    };
    let (d0, d1, d2) = (day(0), day(1), day(2));
    assert_eq!(
        ids("$filter=actor eq 'ann'&$orderby=time".into()).await,
        "ann-CreateUser-10 ann-PatchUser-30 ann-DeleteUser-50"
    );
    assert_eq!(
        ids("$filter=actor eq 'ann'&$orderby=time desc".into()).await,
        "ann-DeleteUser-50 ann-PatchUser-30 ann-CreateUser-10"
    );
    assert_eq!(
        ids("$filter=resourceType eq 'user' and resourceId eq 'u1'&$orderby=time".into()).await,
        "ann-CreateUser-10 ann-PatchUser-30 ann-DeleteUser-50 bob-PatchUser-1440"
    );
    assert_eq!(
        ids("$filter=operation eq 'PatchUser' and actor eq 'bob'&$orderby=time desc".into()).await,
        "bob-PatchUser-1440 bob-PatchUser-40"
    );
    // Literals without fractional digits, or with an offset, compare as
    // the instants they name against the stored six-digit text.
    assert_eq!(
        ids(format!(
            "$filter=time ge '{d0}T00:20:00Z' and time lt '{d0}T00:50:00Z'&$orderby=time"
        ))
        .await,
        "bob-CreateRole-20 ann-PatchUser-30 bob-PatchUser-40"
    );
    assert_eq!(
        ids(format!("$filter=time gt '{d0}T01:20:00%2B01:00' and time le '{d0}T00:50:00.000000Z'&$orderby=time"))
            .await,
        "ann-PatchUser-30 bob-PatchUser-40 ann-DeleteUser-50"
    );
    assert_eq!(
        ids(format!("$filter=time ge '{d0}T00:00:00.000001Z' and time lt '{d1}T00:00:00Z' and actor eq 'bob'&$orderby=time desc"))
            .await,
        "bob-PatchUser-40 bob-CreateRole-20"
    );
    assert_eq!(
        ids(format!(
            "$filter=time ge '{d1}T00:00:00Z' and time lt '{d2}T00:00:00Z'"
        ))
        .await,
        "bob-PatchUser-1440"
    );
    // Time filters keep their meaning across the other options.
    let reply = app
        .get(&format!("/v1/audit-events?$filter=time lt '{d0}T00:31:00Z' and time ge '{d0}T00:00:00Z'&$count=true&$top=1&$orderby=time desc"))
        .await;
    assert_eq!(reply.body["@odata.count"], 3, "{}", reply.body);
    assert_eq!(reply.body["value"][0]["requestId"], "ann-PatchUser-30");
    assert_eq!(
        reply.body["value"][0]["time"],
        format!("{d0}T00:30:00.000000Z")
    );
}

async fn order_comparisons_where_they_mean_nothing_are_400s(app: TestApp) {
    for (filter, message) in [
        (
            "actor gt 'a'",
            "'gt' at position 6 compares integers and date-times; 'actor' is text, which takes only eq and ne",
        ),
        ("resourceId le 'x'", "'resourceId' is text"),
        ("time ge 'yesterday'", "'time' must be an RFC 3339 date-time"),
        (
            "time ge '2025-03-01T00:00:00.0000001Z'",
            "to the microsecond at most",
        ),
        ("time lt null", "'lt' cannot compare with null"),
        ("time after '2025-03-01T00:00:00Z'", "expected eq, ne, gt, ge, lt or le"),
        ("id ge 'x'", "'id' takes an integer"),
    ] {
        let reply = app
            .get(&format!("/v1/audit-events?$filter={filter}"))
            .await;
        assert_problem(&reply, 400, "/v1/audit-events");
        let errors = reply.body["errors"]["$filter"][0].as_str().unwrap_or_default();
        assert!(errors.contains(message), "{filter}: {}", reply.body);
    }
    // Searching ten million events for a substring would read them all.
    let reply = app.get("/v1/audit-events?$search=ann").await;
    assert_problem(&reply, 400, "/v1/audit-events");
    assert_eq!(
        reply.body["errors"]["$search"][0],
        "is not supported by this list: use $filter"
    );
    let document = app.get("/openapi.json").await.body;
    let parameters = document["paths"]["/v1/audit-events"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = parameters
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"$filter") && !names.contains(&"$search"),
        "{names:?}"
    );
    let filter = parameters.iter().find(|p| p["name"] == "$filter").unwrap();
    let description = filter["description"].as_str().unwrap();
    assert!(
        description.ends_with(
            "Filterable fields: id, time, actor, resourceType, resourceId, operation (gt, ge, lt, le on id, time)."
        ),
        "{description}"
    );
    let reply = app
        .get("/v1/audit-events?$filter=id ge 1&$orderby=time")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Walks the `@odata.nextLink`s from `first` and returns every request id.
async fn walk(app: &TestApp, first: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        next = reply.body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(
                link.contains("$skiptoken=") && !link.contains("$skip="),
                "{link}"
            );
        }
        for e in reply.body["value"].as_array().unwrap() {
            events.push((
                e["requestId"].as_str().unwrap_or_default().to_owned(),
                e["time"].as_str().unwrap().to_owned(),
            ));
        }
    }
    events
}

async fn keyset_pages_return_each_event_once_while_events_arrive(app: TestApp) {
    // 300 events, three to a minute: equal times, told apart by id.
    let seeded: Vec<_> = (0..300)
        .map(|i| {
            let mut actor = actor("seed", "PatchUser");
            actor.request_id = Some(format!("seed-{i:03}"));
            (at(i / 3), actor, NewAuditEvent::success("user", "u1"))
        })
        .collect();
    insert(&app, &seeded).await;

    // Meanwhile, events arrive: new ones (now) and late ones (times among
    // the seeded, behind any cursor), each in its own transaction.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let writer = {
        let store = app.store.clone();
        tokio::spawn(async move {
            let mut written = 0;
            while !*stopped.borrow() {
                let mut tx = store.begin().await.unwrap();
                let time = if written % 2 == 0 {
                    Timestamp::now()
                } else {
                    at(written % 100)
                };
                let mut arrived = actor("seed", "PatchUser");
                arrived.request_id = Some(format!("arrived-{written}"));
                let event = NewAuditEvent::success("user", "u1");
                nexus_store::audit::record_at(&mut tx, time, &arrived, &event)
                    .await
                    .unwrap();
                nexus_store::commit(tx).await.unwrap();
                written += 1;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                    _ = stopped.changed() => {}
                }
            }
            written
        })
    };

    for order in ["time", "time desc"] {
        let events = walk(
            &app,
            &format!("/v1/audit-events?$filter=actor eq 'seed'&$orderby={order}&$top=7"),
        )
        .await;
        let mut seen = HashSet::new();
        for (id, _) in &events {
            assert!(seen.insert(id.clone()), "{order}: {id} listed twice");
        }
        for i in 0..300 {
            assert!(
                seen.contains(&format!("seed-{i:03}")),
                "{order}: seed-{i:03} missed"
            );
        }
        let times: Vec<&str> = events.iter().map(|(_, t)| t.as_str()).collect();
        let sorted = times.windows(2).all(|w| {
            if order == "time" {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }
        });
        assert!(sorted, "{order}: out of order");
        // Among equal times, the id order of insertion holds.
        let seeds: Vec<&str> = events
            .iter()
            .map(|(id, _)| id.as_str())
            .filter(|id| id.starts_with("seed-"))
            .collect();
        let mut expected: Vec<String> = (0..300).map(|i| format!("seed-{i:03}")).collect();
        if order == "time desc" {
            expected.reverse();
        }
        assert_eq!(seeds, expected, "{order}");
    }
    stop.send(true).unwrap();
    let written = writer.await.unwrap();
    assert!(written > 0, "no event arrived while paging");
}

/// How many events `actor` has.
async fn count(app: &TestApp, actor: &str) -> i64 {
    let reply = app
        .get(&format!(
            "/v1/audit-events?$filter=actor eq '{actor}'&$count=true&$top=0"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["@odata.count"].as_i64().unwrap()
}

/// `old` events older than `days` and `recent` ones younger.
async fn old_and_recent(app: &TestApp, days: u32, old: usize, recent: usize) {
    let now = Timestamp::now();
    let days = i64::from(days);
    let mut events = Vec::new();
    for i in 0..old {
        let time = now.plus_days(-days - 1 - i as i64 % 20);
        events.push((
            time,
            actor("old", "PatchUser"),
            NewAuditEvent::success("user", "u1"),
        ));
    }
    for i in 0..recent {
        // The youngest a day short of the limit.
        let time = now.plus_days(-days + 1 + i as i64);
        events.push((
            time,
            actor("recent", "PatchUser"),
            NewAuditEvent::success("user", "u1"),
        ));
    }
    insert(app, &events).await;
}

async fn retention_deletes_old_events_a_batch_at_a_time(app: TestApp) {
    // Younger than the server's own retention, which must not take them.
    let config = RetentionConfig {
        days: 30,
        batch: 10,
        pause: Duration::from_millis(1),
        ..RetentionConfig::default()
    };
    old_and_recent(&app, config.days, 25, 5).await;
    let cutoff = config.cutoff(Timestamp::now());
    let deleted = audit_retention::delete_batch(&app.nexus, cutoff, config.batch)
        .await
        .unwrap();
    assert_eq!(deleted, 10, "one batch deletes at most its size");
    assert_eq!(count(&app, "old").await, 15);

    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let deleted = audit_retention::purge(&app.nexus, &config, &stopped)
        .await
        .unwrap();
    assert_eq!(deleted, 15);
    assert_eq!(count(&app, "old").await, 0);
    assert_eq!(count(&app, "recent").await, 5, "recent events are kept");
    let again = audit_retention::purge(&app.nexus, &config, &stopped)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

async fn the_server_deletes_expired_events_when_it_starts(mut app: TestApp) {
    // More than a batch. (The running server's first pass may already have
    // run; the restarted one's runs at its start.)
    old_and_recent(&app, RetentionConfig::DEFAULT_DAYS, 1500, 3).await;
    app.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count(&app, "old").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired events still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&app, "recent").await, 3);
}
