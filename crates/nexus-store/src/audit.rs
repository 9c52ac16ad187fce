//! The audit trail's table: events inserted in the transaction of the change
//! they describe, read back as a list.

use nexus_core::audit::{ActorType, AuditEvent, NewAuditEvent, Outcome};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::webhook;
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::list::{explain_page, fetch_page};
use crate::rows::RowExt;
use crate::{webhooks, Backend, Conn, ListParams, Page, StoreError};

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
/// select. Returns the event's id.
pub async fn record(
    conn: &mut Conn,
    actor: &Actor,
    event: &NewAuditEvent,
) -> Result<i64, StoreError> {
    record_at(conn, Timestamp::now(), actor, event).await
}

/// Records `event` as made at `time`: `record` gives now; an event carried
/// over from elsewhere keeps its own time.
pub async fn record_at(
    conn: &mut Conn,
    time: Timestamp,
    actor: &Actor,
    event: &NewAuditEvent,
) -> Result<i64, StoreError> {
    let event_type = match event.outcome {
        Outcome::Success => webhook::event_type(&actor.operation),
        _ => None,
    };
    // On PostgreSQL the deliveries go in the insert's statement: one round
    // trip on every audited write, the login path's included.
    let with_deliveries = event_type.filter(|_| Backend::of(conn) == Backend::Postgres);
    let insert = "INSERT INTO audit_events (time, actor, actor_type, actor_tenant_id, request_id, \
         client_address, operation, resource_type, resource_id, changes, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
    let sql = match with_deliveries {
        Some(event_type) => format!(
            "WITH event AS ({insert}), deliveries AS ({}) SELECT id FROM event",
            webhooks::enqueue_sql(event_type, "(SELECT id FROM event)", 12)
        ),
        None => insert.to_owned(),
    };
    let changes = serde_json::to_string(&event.changes).expect("changes serialize");
    let mut query = sqlx::query(&sql)
        .bind(time.to_text())
        .bind(&actor.id)
        .bind(actor.kind.as_str())
        .bind(actor.tenant_id)
        .bind(&actor.request_id)
        .bind(&actor.client_address)
        .bind(&actor.operation)
        .bind(event.resource_type)
        .bind(&event.resource_id)
        .bind(changes)
        .bind(event.outcome.as_str());
    if let Some(event_type) = with_deliveries {
        query = webhooks::bind_enqueue(query, event_type);
    }
    let id: i64 = query.fetch_one(&mut *conn).await?.try_get("id")?;
    if let (Some(event_type), None) = (event_type, with_deliveries) {
        webhooks::enqueue(conn, id, event_type).await?;
    }
    Ok(id)
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
