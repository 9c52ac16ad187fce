//! Organizations' subscriptions to products.

use std::collections::HashMap;

use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::subscription::{NewSubscription, Subscription, SubscriptionStatus};
use nexus_core::{Actor, Audit, Timestamp};
use serde_json::{Map, Value};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{flag, group_by_parent, ChildRows, RowExt};
use crate::{for_update, Conn, StoreError};

const fn field(
    name: &'static str,
    column: &'static str,
    kind: FieldKind,
    sortable: bool,
    nullable: bool,
) -> Field {
    Field {
        name,
        column,
        kind,
        sortable,
        nullable,
    }
}

pub static LIST: ListSpec = ListSpec {
    fields: &[
        field("id", "id", FieldKind::Integer, true, false),
        field(
            "organizationId",
            "organization_id",
            FieldKind::Integer,
            false,
            false,
        ),
        field("productId", "product_id", FieldKind::Integer, false, false),
        field("status", "status", FieldKind::Text, false, false),
        field("type", "subscription_type", FieldKind::Text, false, true),
        field("isEnabled", "is_enabled", FieldKind::Boolean, false, false),
        field("expires", "expires", FieldKind::Timestamp, true, true),
        field("sfLicenseId", "sf_license_id", FieldKind::Text, false, true),
        field(
            "sfContractId",
            "sf_contract_id",
            FieldKind::Text,
            false,
            true,
        ),
        field(
            "sfSubscriptionId",
            "sf_subscription_id",
            FieldKind::Text,
            false,
            true,
        ),
        field("created", "created", FieldKind::Timestamp, true, false),
        field("modified", "modified", FieldKind::Timestamp, true, false),
    ],
    search: &[],
    id_field: "id",
};

pub(crate) const COLUMNS: &str =
    "id, organization_id, product_id, status, status_text, subscription_type, \
    description, details, expires, is_enabled, sf_license_id, sf_contract_id, sf_subscription_id, \
    custom_metadata, created, created_by, modified, modified_by";

pub(crate) fn from_row(row: &impl RowExt) -> Result<Subscription, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let status = SubscriptionStatus::parse(&row.text("status")?)
        .map_err(|e| StoreError::Corrupt(format!("subscriptions.status {e}")))?;
    let custom_metadata: Map<String, Value> =
        serde_json::from_str(&row.text("custom_metadata")?)
            .map_err(|e| StoreError::Corrupt(format!("subscriptions.custom_metadata: {e}")))?;
    Ok(Subscription {
        id: row.int("id")?,
        logs: Vec::new(),
        subscription_type: row.opt_text("subscription_type")?,
        status,
        created,
        details: row.opt_text("details")?,
        expires: row.opt_timestamp("expires")?,
        product: None,
        modified,
        created_by,
        is_enabled: row.flag("is_enabled")?,
        product_id: row.int("product_id")?,
        modified_by,
        status_text: row.opt_text("status_text")?,
        description: row.opt_text("description")?,
        sf_license_id: row.opt_text("sf_license_id")?,
        organization: None,
        sf_contract_id: row.opt_text("sf_contract_id")?,
        custom_metadata,
        organization_id: row.int("organization_id")?,
        readonly_metadata: Map::new(),
        sf_subscription_id: row.opt_text("sf_subscription_id")?,
        application_deployments: Vec::new(),
    })
}

fn metadata_text(metadata: &Map<String, Value>) -> String {
    serde_json::to_string(metadata).expect("a JSON object serializes")
}

/// Stores a new subscription; `MissingReference` when its organization or
/// product is gone.
pub async fn insert(
    conn: &mut Conn,
    new: &NewSubscription,
    actor: &Actor,
) -> Result<Subscription, StoreError> {
    let sql = format!(
        "INSERT INTO subscriptions (organization_id, product_id, status, status_text, \
         subscription_type, description, details, expires, is_enabled, sf_license_id, \
         sf_contract_id, sf_subscription_id, custom_metadata, created, created_by, modified, \
         modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14, $15) \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.organization_id)
        .bind(new.product_id)
        .bind(new.status.as_str())
        .bind(&new.status_text)
        .bind(&new.subscription_type)
        .bind(&new.description)
        .bind(&new.details)
        .bind(new.expires.map(|t| t.to_text()))
        .bind(flag(new.is_enabled))
        .bind(&new.sf_license_id)
        .bind(&new.sf_contract_id)
        .bind(&new.sf_subscription_id)
        .bind(metadata_text(&new.custom_metadata))
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<Subscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscriptions WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// `get`, locking the subscription until the transaction ends (`for_update`).
pub async fn get_for_update(conn: &mut Conn, id: i32) -> Result<Option<Subscription>, StoreError> {
    let sql = for_update(
        conn,
        &format!("SELECT {COLUMNS} FROM subscriptions WHERE id = $1"),
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Subscription>, StoreError> {
    fetch_page(conn, &LIST, COLUMNS, "subscriptions", &[], params)
        .await?
        .try_map(from_row)
}

/// Writes `changed` (the subscription read with `get_for_update`, changed)
/// over the stored one, stamped as `actor`'s change.
pub async fn update(
    conn: &mut Conn,
    current: &Subscription,
    changed: &Subscription,
    actor: &Actor,
) -> Result<Subscription, StoreError> {
    let sql = format!(
        "UPDATE subscriptions SET status = $2, status_text = $3, subscription_type = $4, \
         description = $5, details = $6, expires = $7, is_enabled = $8, sf_license_id = $9, \
         sf_contract_id = $10, sf_subscription_id = $11, custom_metadata = $12, modified = $13, \
         modified_by = $14 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(changed.status.as_str())
        .bind(&changed.status_text)
        .bind(&changed.subscription_type)
        .bind(&changed.description)
        .bind(&changed.details)
        .bind(changed.expires.map(|t| t.to_text()))
        .bind(flag(changed.is_enabled))
        .bind(&changed.sf_license_id)
        .bind(&changed.sf_contract_id)
        .bind(&changed.sf_subscription_id)
        .bind(metadata_text(&changed.custom_metadata))
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

/// The subscriptions whose `column` is one of `ids`, by that column's
/// value, each group by id.
async fn grouped(
    conn: &mut Conn,
    column: &str,
    ids: &[i32],
    key: impl Fn(&Subscription) -> i32,
) -> Result<HashMap<i32, Vec<Subscription>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM subscriptions");
    let rows = ChildRows {
        select: &select,
        parent: column,
        order: "id",
    };
    group_by_parent(conn, rows, ids, from_row, key).await
}

/// The subscriptions of each of the organizations, in one query.
pub async fn of_organizations(
    conn: &mut Conn,
    organization_ids: &[i32],
) -> Result<HashMap<i32, Vec<Subscription>>, StoreError> {
    grouped(conn, "organization_id", organization_ids, |s| {
        s.organization_id
    })
    .await
}

/// The subscriptions to each of the products, in one query.
pub async fn of_products(
    conn: &mut Conn,
    product_ids: &[i32],
) -> Result<HashMap<i32, Vec<Subscription>>, StoreError> {
    grouped(conn, "product_id", product_ids, |s| s.product_id).await
}
