//! Products.

use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::product::{NewProduct, Product};
use nexus_core::{Actor, Audit, Timestamp};
use serde_json::{Map, Value};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{flag, placeholders, RowExt};
use crate::{for_update, Conn, StoreError};

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
            name: "name",
            column: "name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "displayName",
            column: "display_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "organizationId",
            column: "organization_id",
            kind: FieldKind::Integer,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "modified",
            column: "modified",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["name", "displayName"],
    id_field: "id",
};

/// What the unique index on the name answers (`StoreError::Conflict`).
pub const NAME_TAKEN: &str = "a product with this name already exists";

const COLUMNS: &str = "id, name, display_name, url, is_active, metadata, public_metadata, \
    long_description, organization_id, created, created_by, modified, modified_by";

/// A JSON object stored as its text.
pub(crate) fn object(row: &impl RowExt, column: &str) -> Result<Map<String, Value>, StoreError> {
    match serde_json::from_str(&row.text(column)?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(StoreError::Corrupt(format!("{column}: not a JSON object"))),
    }
}

pub(crate) fn object_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// The product, without its applications and subscriptions.
fn from_row(row: &impl RowExt) -> Result<Product, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(Product {
        id: row.int("id")?,
        name: row.text("name")?,
        display_name: row.text("display_name")?,
        url: row.opt_text("url")?,
        is_active: row.flag("is_active")?,
        metadata: object(row, "metadata")?,
        public_metadata: object(row, "public_metadata")?,
        long_description: row.opt_text("long_description")?,
        organization_id: row.opt_int("organization_id")?,
        applications: Vec::new(),
        subscriptions: Vec::new(),
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Stores a new product; `StoreError::Conflict(NAME_TAKEN)` when the name
/// is taken.
pub async fn insert(
    conn: &mut Conn,
    new: &NewProduct,
    actor: &Actor,
) -> Result<Product, StoreError> {
    let sql = format!(
        "INSERT INTO products (name, display_name, url, is_active, metadata, public_metadata, \
         long_description, organization_id, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $10) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.name.as_str())
        .bind(&new.display_name)
        .bind(&new.url)
        .bind(flag(new.is_active))
        .bind(object_text(&new.metadata))
        .bind(object_text(&new.public_metadata))
        .bind(&new.long_description)
        .bind(new.organization_id)
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

async fn one(conn: &mut Conn, sql: &str, id: i32) -> Result<Option<Product>, StoreError> {
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// The product, without its collections.
pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<Product>, StoreError> {
    one(
        conn,
        &format!("SELECT {COLUMNS} FROM products WHERE id = $1"),
        id,
    )
    .await
}

/// `get`, locking the product until the transaction ends (`for_update`):
/// for a change of it, or to keep it while an application joins it.
pub async fn get_for_update(conn: &mut Conn, id: i32) -> Result<Option<Product>, StoreError> {
    let sql = for_update(
        conn,
        &format!("SELECT {COLUMNS} FROM products WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// `get`, locking the product against everything until the transaction
/// ends, new references to it included (`for_delete`).
pub async fn get_for_delete(conn: &mut Conn, id: i32) -> Result<Option<Product>, StoreError> {
    let sql = crate::backend::for_delete(
        conn,
        &format!("SELECT {COLUMNS} FROM products WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// The product named `name` (case-insensitively).
pub async fn get_by_name(conn: &mut Conn, name: &str) -> Result<Option<Product>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE lower(name) = lower($1)");
    let row = sqlx::query(&sql).bind(name).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of products, without their collections.
pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Product>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "products", &[], params).await?;
    page.try_map(from_row)
}

/// Writes `next` over `current` (read with `get_for_update`); writes
/// nothing when they are the same. `StoreError::Conflict(NAME_TAKEN)` when
/// the new name is taken.
pub async fn update(
    conn: &mut Conn,
    current: &Product,
    next: &Product,
    actor: &Actor,
) -> Result<Product, StoreError> {
    if next == current {
        return Ok(current.clone());
    }
    let sql = format!(
        "UPDATE products SET name = $2, display_name = $3, url = $4, is_active = $5, metadata = $6, \
         public_metadata = $7, long_description = $8, organization_id = $9, modified = $10, \
         modified_by = $11 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(&next.name)
        .bind(&next.display_name)
        .bind(&next.url)
        .bind(flag(next.is_active))
        .bind(object_text(&next.metadata))
        .bind(object_text(&next.public_metadata))
        .bind(&next.long_description)
        .bind(next.organization_id)
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    Ok(Product {
        applications: current.applications.clone(),
        subscriptions: current.subscriptions.clone(),
        ..from_row(&row)?
    })
}

/// What still holds on to a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    pub applications: bool,
    pub subscriptions: bool,
}

impl Holds {
    pub fn any(&self) -> bool {
        self.applications || self.subscriptions
    }
}

/// What holds on to the product (read after locking it with
/// `get_for_delete`, so that nothing joins it meanwhile).
pub async fn holds(conn: &mut Conn, id: i32) -> Result<Holds, StoreError> {
    let exists = |sql: &str| format!("(CASE WHEN EXISTS ({sql}) THEN 1 ELSE 0 END)");
    let sql = format!(
        "SELECT {} AS applications, {} AS subscriptions",
        exists("SELECT 1 FROM applications WHERE product_id = $1"),
        exists("SELECT 1 FROM subscriptions WHERE product_id = $1"),
    );
    let row = sqlx::query(&sql).bind(id).fetch_one(conn).await?;
    Ok(Holds {
        applications: row.flag("applications")?,
        subscriptions: row.flag("subscriptions")?,
    })
}

pub async fn delete(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM products WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// The products of `ids` that exist, by id, in one query (without their
/// collections).
pub async fn of_ids(
    conn: &mut Conn,
    ids: &[i32],
) -> Result<std::collections::HashMap<i32, Product>, StoreError> {
    let mut products = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(products);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM products WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(conn).await? {
        let product = from_row(&row)?;
        products.insert(product.id, product);
    }
    Ok(products)
}
