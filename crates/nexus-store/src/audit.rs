//! The audit trail's table: events inserted in the transaction of the change
//! they describe, read back as a list.

use nexus_core::audit::{ActorType, AuditEvent, NewAuditEvent, Outcome};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::webhook;
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::batch::{Batch, Value};
use crate::list::{explain_page, fetch_page};
use crate::rows::RowExt;
use crate::{webhooks, Conn, ListParams, Page, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field::new("id", "id", FieldKind::Integer).sortable(),
        Field::new("time", "time", FieldKind::Timestamp).sortable(),
        Field::new("actor", "actor", FieldKind::Text),
        Field::new("resourceType", "resource_type", FieldKind::Text),
        Field::new("resourceId", "resource_id", FieldKind::Text),
        Field::new("operation", "operation", FieldKind::Text),
    ],
    search: &[],
    id_field: "id",
};

const COLUMNS: &str = "id, time, actor, actor_type, actor_tenant_id, request_id, client_address, \
     operation, resource_type, resource_id, changes, outcome";

/// Records `event`, made by `actor`, in the transaction of the change, and
/// enqueues its webhook deliveries when the change is one subscribers can
/// select.
pub async fn record(
    conn: &mut Conn,
    actor: &Actor,
    event: &NewAuditEvent,
) -> Result<(), StoreError> {
    record_at(conn, Timestamp::now(), actor, event).await
}

/// Records `event` as made at `time`: `record` gives now; an event carried
/// over from elsewhere keeps its own time.
pub async fn record_at(
    conn: &mut Conn,
    time: Timestamp,
    actor: &Actor,
    event: &NewAuditEvent,
) -> Result<(), StoreError> {
    let mut batch = Batch::default();
    add(&mut batch, conn, time, actor, event);
    batch.run(conn).await
}

/// Adds the recording of `event` (and its webhook deliveries) to `batch`,
/// for a write that runs its own statements with it.
pub(crate) fn add<'a>(
    batch: &mut Batch<'a>,
    conn: &Conn,
    time: Timestamp,
    actor: &'a Actor,
    event: &'a NewAuditEvent,
) {
    let values = [
        Value::Owned(time.to_text()),
        Value::Text(&actor.id),
        Value::Text(actor.kind.as_str()),
        Value::OptInt(actor.tenant_id),
        Value::OptText(actor.request_id.as_deref()),
        Value::OptText(actor.client_address.as_deref()),
        Value::Text(&actor.operation),
        Value::Text(event.resource_type),
        Value::Text(&event.resource_id),
        Value::Owned(serde_json::to_string(&event.changes).expect("changes serialize")),
        Value::Text(event.outcome.as_str()),
    ];
    let placeholders: Vec<String> = values.into_iter().map(|v| batch.bind(v)).collect();
    batch.push(format!(
        "INSERT INTO audit_events (time, actor, actor_type, actor_tenant_id, request_id, \
         client_address, operation, resource_type, resource_id, changes, outcome) \
         VALUES ({}) RETURNING id",
        placeholders.join(", ")
    ));
    if event.outcome == Outcome::Success {
        if let Some(event_type) = webhook::event_type(&actor.operation) {
            webhooks::enqueue(batch, conn, event_type);
        }
    }
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<AuditEvent>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let corrupt =
        |what: &str, text: &str| StoreError::Corrupt(format!("audit event {what}: {text}"));
    let actor_type = row.text("actor_type")?;
    let outcome = row.text("outcome")?;
    let changes = row.text("changes")?;
    Ok(AuditEvent {
        id: row.try_get::<i64, _>("id")?,
        time: row.timestamp("time")?,
        actor: row.text("actor")?,
        actor_type: ActorType::parse(&actor_type)
            .ok_or_else(|| corrupt("actor type", &actor_type))?,
        actor_tenant_id: row.opt_int("actor_tenant_id")?,
        request_id: row.opt_text("request_id")?,
        client_address: row.opt_text("client_address")?,
        operation: row.text("operation")?,
        resource_type: row.text("resource_type")?,
        resource_id: row.text("resource_id")?,
        changes: serde_json::from_str(&changes).map_err(|e| corrupt("changes", &e.to_string()))?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("outcome", &outcome))?,
    })
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<AuditEvent>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "audit_events", &[], params).await?;
    page.try_map(from_row)
}

/// The database's plan for the page `list` would read with `params`, one
/// line per step: what the tests of the indexes read.
pub async fn explain_list(conn: &mut Conn, params: &ListParams) -> Result<Vec<String>, StoreError> {
    explain_page(conn, &LIST, COLUMNS, "audit_events", params).await
}

/// Deletes the oldest events made before `cutoff`, at most `batch` of them,
/// and says how many. The batch is found through the time index and deleted
/// by primary key, so a call touches at most `batch` rows however many are
/// due: the caller keeps each transaction short by keeping `batch` small.
pub async fn delete_before(
    conn: &mut Conn,
    cutoff: Timestamp,
    batch: i64,
) -> Result<u64, StoreError> {
    let deleted = sqlx::query(
        "DELETE FROM audit_events WHERE id IN \
         (SELECT id FROM audit_events WHERE time < $1 ORDER BY time, id LIMIT $2)",
    )
    .bind(cutoff.to_text())
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
