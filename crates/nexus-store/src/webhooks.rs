//! Webhook subscriptions and their delivery outbox: one row per (event,
//! matching subscription), inserted with the audit event in the change's
//! transaction, claimed by delivery workers (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL) for a lease, and settled as succeeded, retried or failed.
//! Subscriptions of kind `http` are the API's; the others are built-in
//! sinks (NATS JetStream) that the API never shows.

use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::webhook::{
    message_id, selectors_of, DeliveryStatus, Webhook, WebhookDelivery, WebhookKind,
    EVERY_EVENT_TYPE,
};
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::batch::{Batch, Value};
use crate::list::fetch_page;
use crate::rows::RowExt;
use crate::{Conn, ListParams, Page, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field::new("id", "id", FieldKind::Text).sortable(),
        Field::new("created", "created", FieldKind::Timestamp).sortable(),
    ],
    search: &[],
    id_field: "id",
};

pub static DELIVERIES: ListSpec = ListSpec {
    fields: &[
        Field::new("id", "id", FieldKind::Integer).sortable(),
        Field::new("eventId", "event_id", FieldKind::Integer),
        Field::new("eventType", "event_type", FieldKind::Text),
        Field::new("status", "status", FieldKind::Text),
    ],
    search: &[],
    id_field: "id",
};

const COLUMNS: &str = "id, url, description, event_types, created, created_by";
const DELIVERY_COLUMNS: &str = "id, event_id, event_type, status, attempts, due_at, \
     last_response_status, last_error, last_attempt_at, created";

/// A subscription to store: its secret already sealed.
pub struct NewWebhookRow<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub event_types: &'a [String],
    pub sealed_secret: &'a str,
}

fn from_row(row: &AnyRow) -> Result<Webhook, StoreError> {
    let types = row.text("event_types")?;
    Ok(Webhook {
        id: row.text("id")?,
        url: row.text("url")?,
        description: row.opt_text("description")?,
        event_types: serde_json::from_str(&types)
            .map_err(|e| StoreError::Corrupt(format!("webhook event types: {e}")))?,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    new: &NewWebhookRow<'_>,
    actor: &Actor,
) -> Result<Webhook, StoreError> {
    let sql = format!(
        "INSERT INTO webhooks (id, url, description, event_types, secret, created, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.id)
        .bind(new.url)
        .bind(new.description)
        .bind(serde_json::to_string(new.event_types).expect("strings serialize"))
        .bind(new.sealed_secret)
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(&mut *conn)
        .await?;
    for selector in new.event_types {
        sqlx::query("INSERT INTO webhook_selectors (selector, webhook_id) VALUES ($1, $2)")
            .bind(selector)
            .bind(new.id)
            .execute(&mut *conn)
            .await?;
    }
    from_row(&row)
}

/// The API's subscription `id` (never a built-in sink).
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Webhook>, StoreError> {
    get_of_kind(conn, id, WebhookKind::Http).await
}

/// The subscription or sink `id`, if it is of `kind`.
pub async fn get_of_kind(
    conn: &mut Conn,
    id: &str,
    kind: WebhookKind,
) -> Result<Option<Webhook>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND kind = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The API's subscriptions (no built-in sink).
pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Webhook>, StoreError> {
    let scope = [("kind", Literal::Text(WebhookKind::Http.as_str().to_owned()))];
    let page = fetch_page(conn, &LIST, COLUMNS, "webhooks", &scope, params).await?;
    page.try_map(from_row)
}

/// Deletes the subscription (or sink) with its selectors and deliveries;
/// whether it existed.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    // Explicitly, not only by cascade: the rows go whatever the foreign-key
    // setting of the connection.
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM webhook_selectors WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Every stored (sealed) secret, by subscription id, for re-sealing at
/// start (sinks sign nothing and hold none).
pub async fn stored_secrets(conn: &mut Conn) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT id, secret FROM webhooks WHERE kind = 'http' ORDER BY id")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok((row.text("id")?, row.text("secret")?)))
        .collect()
}

/// Replaces a stored secret if it is still `old`.
pub async fn replace_secret(
    conn: &mut Conn,
    id: &str,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE webhooks SET secret = $3 WHERE id = $1 AND secret = $2")
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where and how a subscription's deliveries are sent.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: WebhookKind,
    /// `http`: the receiver's URL; `nats`: the subject prefix.
    pub url: String,
    /// Empty for sinks, which sign nothing.
    pub sealed_secret: String,
}

pub async fn target(conn: &mut Conn, id: &str) -> Result<Option<Target>, StoreError> {
    let row = sqlx::query("SELECT kind, url, secret FROM webhooks WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        let kind = row.text("kind")?;
        Ok(Target {
            kind: WebhookKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("webhook kind: {kind}")))?,
            url: row.text("url")?,
            sealed_secret: row.text("secret")?,
        })
    })
    .transpose()
}

/// Registers the built-in sink `id` of `kind`, delivering to `url` and
/// selecting every event type, or points the existing one at `url`; the
/// sink as it was before (None when it is new).
pub async fn put_sink(
    conn: &mut Conn,
    id: &str,
    kind: WebhookKind,
    url: &str,
    actor: &Actor,
) -> Result<Option<Webhook>, StoreError> {
    let before = get_of_kind(conn, id, kind).await?;
    if before.is_some() {
        sqlx::query("UPDATE webhooks SET url = $2 WHERE id = $1")
            .bind(id)
            .bind(url)
            .execute(&mut *conn)
            .await?;
        return Ok(before);
    }
    // A replica starting at the same time may insert it first.
    let sql = "INSERT INTO webhooks (id, kind, url, description, event_types, secret, created, created_by) \
               VALUES ($1, $2, $3, $4, $5, '', $6, $7) ON CONFLICT (id) DO NOTHING";
    sqlx::query(sql)
        .bind(id)
        .bind(kind.as_str())
        .bind(url)
        .bind(format!("built-in sink ({})", kind.as_str()))
        .bind(serde_json::to_string(&[EVERY_EVENT_TYPE]).expect("strings serialize"))
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .execute(&mut *conn)
        .await?;
    let sql = "INSERT INTO webhook_selectors (selector, webhook_id) VALUES ($1, $2) \
               ON CONFLICT DO NOTHING";
    sqlx::query(sql)
        .bind(EVERY_EVENT_TYPE)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(None)
}

/// Adds to `batch`, after the insert of an audit event of `event_type`,
/// the enqueue of that event for every subscription that selects its type:
/// in the transaction (on PostgreSQL the statement) that records it, cheap
/// when nobody subscribes.
pub(crate) fn enqueue<'a>(batch: &mut Batch<'a>, conn: &Conn, event_type: &'a str) {
    let event_id = batch.inserted_id(conn, "audit_events");
    let kind = batch.bind(Value::Text(event_type));
    let now = batch.bind(Value::Owned(Timestamp::now().to_text()));
    let selectors: Vec<String> = selectors_of(event_type)
        .into_iter()
        .map(|selector| batch.bind(Value::Owned(selector)))
        .collect();
    batch.push(format!(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, due_at, retry_from, created) \
         SELECT DISTINCT webhook_id, {event_id}, {kind}, {now}, {now}, {now} FROM webhook_selectors \
         WHERE selector IN ({})",
        selectors.join(", ")
    ));
}

/// A delivery claimed by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: String,
    pub event_id: i64,
    pub event_type: String,
    pub attempts: i32,
    pub retry_from: Timestamp,
    /// The token of the worker holding the claim.
    pub claimed_by: String,
}

/// Whether any delivery is due and unclaimed: a read, so that an idle
/// worker's polls take no write lock (SQLite has one writer).
pub async fn any_due(conn: &mut Conn) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND due_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) LIMIT 1",
    )
    .bind(Timestamp::now().to_text())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Claims up to `limit` due deliveries for `owner` for `lease`.
pub async fn claim(
    conn: &mut Conn,
    owner: &str,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let now = Timestamp::now();
    let skip_locked = crate::backend::skip_locked(conn);
    let sql = format!(
        "UPDATE webhook_deliveries SET claimed_until = $2, claimed_by = $4 WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE status = 'pending' AND due_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
         ORDER BY due_at, id LIMIT $3{skip_locked}) \
         RETURNING id, webhook_id, event_id, event_type, attempts, retry_from, claimed_by"
    );
    let rows = sqlx::query(&sql)
        .bind(now.to_text())
        .bind(now.plus(lease).to_text())
        .bind(limit)
        .bind(owner)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ClaimedDelivery {
                id: row.try_get("id")?,
                webhook_id: row.text("webhook_id")?,
                event_id: row.try_get("event_id")?,
                event_type: row.text("event_type")?,
                attempts: row.int("attempts")?,
                retry_from: row.timestamp("retry_from")?,
                claimed_by: row.text("claimed_by")?,
            })
        })
        .collect()
}

/// Ends every claim, whoever holds it: at the start of the only process
/// that delivers (SQLite), so that work a killed process held goes at once.
pub async fn release_all(conn: &mut Conn) -> Result<u64, StoreError> {
    let released = sqlx::query(
        "UPDATE webhook_deliveries SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL",
    )
    .execute(conn)
    .await?;
    Ok(released.rows_affected())
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt<'a> {
    /// The HTTP status of the answer, if one came.
    pub response_status: Option<i32>,
    pub error: Option<&'a str>,
    /// `Pending` with the next attempt's time, or the final status.
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Timestamp>,
}

/// Settles the claimed delivery with `attempt`, if its worker still holds it
/// (a redelivery or a deletion meanwhile wins).
pub async fn settle(
    conn: &mut Conn,
    delivery: &ClaimedDelivery,
    attempt: &Attempt<'_>,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, last_response_status = $4, \
         last_error = $5, last_attempt_at = $6, due_at = COALESCE($7, due_at), claimed_until = NULL, \
         claimed_by = NULL WHERE id = $1 AND claimed_by = $2",
    )
    .bind(delivery.id)
    .bind(&delivery.claimed_by)
    .bind(attempt.status.as_str())
    .bind(attempt.response_status)
    .bind(attempt.error)
    .bind(&now)
    .bind(attempt.next_attempt_at.map(|t| t.to_text()))
    .execute(conn)
    .await?;
    Ok(())
}

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    let status = row.text("status")?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("webhook delivery status: {status}")))?;
    let event_id: i64 = row.try_get("event_id")?;
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        event_id,
        message_id: message_id(event_id),
        event_type: row.text("event_type")?,
        status,
        attempts: row.int("attempts")?,
        last_response_status: row.opt_int("last_response_status")?,
        last_error: row.opt_text("last_error")?,
        last_attempt_at: row.opt_timestamp("last_attempt_at")?,
        next_attempt_at: match status {
            DeliveryStatus::Pending => Some(row.timestamp("due_at")?),
            _ => None,
        },
        created: row.timestamp("created")?,
    })
}

/// The subscription's deliveries.
pub async fn deliveries(
    conn: &mut Conn,
    webhook_id: &str,
    params: &ListParams,
) -> Result<Page<WebhookDelivery>, StoreError> {
    let scope = [("webhook_id", Literal::Text(webhook_id.to_owned()))];
    let page = fetch_page(
        conn,
        &DELIVERIES,
        DELIVERY_COLUMNS,
        "webhook_deliveries",
        &scope,
        params,
    )
    .await?;
    page.try_map(delivery_from_row)
}

/// Makes the delivery due now with its attempts reset and a new retry
/// period (whatever its status); `None` when the subscription has no such
/// delivery. A worker's claim on it ends: its result no longer counts.
pub async fn redeliver(
    conn: &mut Conn,
    webhook_id: &str,
    delivery_id: i64,
) -> Result<Option<WebhookDelivery>, StoreError> {
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, due_at = $3, retry_from = $3, \
         claimed_until = NULL, claimed_by = NULL WHERE id = $1 AND webhook_id = $2 RETURNING {DELIVERY_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(delivery_id)
        .bind(webhook_id)
        .bind(Timestamp::now().to_text())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(delivery_from_row).transpose()
}
