//! The log of each subscription: one entry per create and per change.

use std::collections::HashMap;

use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::subscription::{SubscriptionLog, SubscriptionLogSeverity};
use nexus_core::{Actor, Audit, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{group_by_parent, ChildRows, RowExt};
use crate::{Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "severity",
            column: "severity",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "logMessage",
            column: "log_message",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: false,
            nullable: false,
        },
    ],
    search: &["logMessage"],
    id_field: "id",
};

const COLUMNS: &str =
    "id, subscription_id, severity, log_message, created, created_by, modified, modified_by";

fn from_row(row: &impl RowExt) -> Result<SubscriptionLog, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let severity = SubscriptionLogSeverity::parse(&row.text("severity")?)
        .map_err(|e| StoreError::Corrupt(format!("subscription_logs.severity {e}")))?;
    Ok(SubscriptionLog {
        id: row.int("id")?,
        severity,
        log_message: row.text("log_message")?,
        subscription_id: row.int("subscription_id")?,
        subscription: None,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Adds an entry to the subscription's log.
pub async fn insert(
    conn: &mut Conn,
    subscription_id: i32,
    severity: SubscriptionLogSeverity,
    message: &str,
    actor: &Actor,
) -> Result<SubscriptionLog, StoreError> {
    let sql = format!(
        "INSERT INTO subscription_logs (subscription_id, severity, log_message, created, \
         created_by, modified, modified_by) VALUES ($1, $2, $3, $4, $5, $4, $5) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(subscription_id)
        .bind(severity.as_str())
        .bind(message)
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

/// The subscription's entry `id`.
pub async fn get(
    conn: &mut Conn,
    subscription_id: i32,
    id: i32,
) -> Result<Option<SubscriptionLog>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM subscription_logs WHERE id = $1 AND subscription_id = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(subscription_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of the subscription's log.
pub async fn list(
    conn: &mut Conn,
    subscription_id: i32,
    params: &ListParams,
) -> Result<Page<SubscriptionLog>, StoreError> {
    let scope = [("subscription_id", Literal::Integer(subscription_id.into()))];
    fetch_page(conn, &LIST, COLUMNS, "subscription_logs", &scope, params)
        .await?
        .try_map(from_row)
}

/// The logs of each of the subscriptions, newest first, in one query.
pub async fn of_subscriptions(
    conn: &mut Conn,
    subscription_ids: &[i32],
) -> Result<HashMap<i32, Vec<SubscriptionLog>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM subscription_logs");
    let rows = ChildRows {
        select: &select,
        parent: "subscription_id",
        order: "subscription_id, id DESC",
    };
    group_by_parent(conn, rows, subscription_ids, from_row, |l| {
        l.subscription_id
    })
    .await
}
