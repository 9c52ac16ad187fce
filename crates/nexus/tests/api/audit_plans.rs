//! The audit trail's lists walk an index in the order asked for, on both
//! backends: the plan of every filter shape, first page and keyset page,
//! read from the database itself over a trail with a realistic spread.

use nexus_core::audit::NewAuditEvent;
use nexus_core::list_query::Literal;
use nexus_core::{Actor, Timestamp};
use nexus_service::ListParams;

use crate::support::{both_backends, TestApp};

both_backends!(every_filter_shape_walks_an_index);

const EVENTS: i64 = 40_000;

/// Most events come from the login path's key; a few keys and users make
/// the rest. Users have about ten events each, spread over the trail; one
/// event a minute.
async fn seed(app: &TestApp) {
    let start = start();
    let mut tx = app.store.begin().await.unwrap();
    for i in 0..EVENTS {
        let (actor, operation) = match i % 10 {
            0..=6 => ("sync-key".to_owned(), "SyncUser"),
            7 => (format!("admin-{}", i % 7), "PatchUser"),
            8 => (format!("admin-{}", i % 7), "CreateUser"),
            _ => (format!("user-{}", i % 50), "CreateRole"),
        };
        let (kind, id) = if operation == "CreateRole" {
            ("role", format!("r-{}", i % 40))
        } else {
            ("user", format!("u-{}", i % (EVENTS / 10)))
        };
        nexus_store::audit::record_at(
            &mut tx,
            start.plus_seconds(i * 60),
            &Actor::internal(&actor, operation),
            &NewAuditEvent::success(kind, id),
        )
        .await
        .unwrap();
    }
    nexus_store::commit(tx).await.unwrap();
}

/// Midnight (UTC) sixty days ago: the trail ends within the retention of
/// the server under test, which would otherwise delete it meanwhile.
fn start() -> Timestamp {
    let midnight = format!(
        "{}T00:00:00Z",
        &Timestamp::now().plus_days(-60).to_text()[..10]
    );
    Timestamp::parse(&midnight).unwrap()
}

fn params(filter: &str, orderby: &str, after: Option<Vec<Literal>>) -> ListParams {
    let spec = &nexus_service::audit::LIST;
    ListParams {
        filter: Some(spec.parse_filter(filter).unwrap()),
        search: None,
        order: spec.parse_orderby(Some(orderby)).unwrap(),
        top: 100,
        skip: 0,
        count: false,
        after,
    }
}

async fn plan(app: &TestApp, params: &ListParams) -> String {
    let mut tx = app.store.begin_read().await.unwrap();
    let lines = nexus_store::audit::explain_list(&mut tx, params)
        .await
        .unwrap();
    lines.join("\n")
}

/// The plan walks one of `indexes` and neither reads the whole table nor
/// sorts.
fn assert_walks(plan: &str, indexes: &[&str], what: &str) {
    assert!(
        indexes.iter().any(|index| plan.contains(index)),
        "{what}: not through {indexes:?}:\n{plan}"
    );
    for bad in [
        // SQLite: a scan of the table (or of a whole index), a sort.
        "SCAN audit_events",
        "TEMP B-TREE",
        // PostgreSQL.
        "Seq Scan",
        "Sort",
        "Bitmap Heap Scan",
    ] {
        assert!(!plan.contains(bad), "{what}: {bad}:\n{plan}");
    }
}

async fn every_filter_shape_walks_an_index(app: TestApp) {
    seed(&app).await;
    const ACTOR: &[&str] = &["ix_audit_events_actor"];
    const OPERATION: &[&str] = &["ix_audit_events_operation"];
    const TIME: &[&str] = &["ix_audit_events_time"];
    // A value that most events have may be found as well by walking the
    // time index and skipping the few others.
    const OR_TIME: fn(&'static [&'static str]) -> [&'static str; 2] = |a| [a[0], TIME[0]];
    let range = format!(
        "time ge '{}' and time lt '{}'",
        start().plus_days(9).to_text(),
        start().plus_days(19).to_text()
    );
    let shapes: [(&str, &[&str]); 6] = [
        ("actor eq 'sync-key'", &OR_TIME(ACTOR)),
        ("actor eq 'admin-3'", ACTOR),
        (
            "resourceType eq 'user' and resourceId eq 'u-42'",
            &["ix_audit_events_resource"],
        ),
        ("operation eq 'PatchUser'", OPERATION),
        ("operation eq 'SyncUser'", &OR_TIME(OPERATION)),
        (&range, TIME),
    ];
    // Planners decide by what they know. SQLite: as Nexus leaves it, without
    // statistics, and with them. PostgreSQL: with the statistics that its
    // autovacuum gathers once a table has grown (without, it takes the
    // table for a small one, and a small one is best sorted).
    let postgres = app.store.backend() == nexus_store::Backend::Postgres;
    for analyzed in [false, true] {
        if postgres && !analyzed {
            continue;
        }
        if analyzed {
            let mut tx = app.store.begin().await.unwrap();
            sqlx::query("ANALYZE").execute(&mut *tx).await.unwrap();
            nexus_store::commit(tx).await.unwrap();
        }
        for (filter, index) in shapes {
            for orderby in ["time", "time desc"] {
                let what = format!("{filter} by {orderby} (analyzed: {analyzed})");
                let first = params(filter, orderby, None);
                assert_walks(&plan(&app, &first).await, index, &what);
                // The middle of the trail.
                let after = vec![
                    Literal::Text(start().plus_seconds(EVENTS / 2 * 60).to_text()),
                    Literal::Integer(EVENTS / 2),
                ];
                let deep = params(filter, orderby, Some(after));
                assert_walks(&plan(&app, &deep).await, index, &format!("{what}, deep"));
            }
        }
    }
}
