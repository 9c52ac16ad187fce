//! Upsell: products' modules with their rules, subscriptions' quantities
//! of modules, and upsell requests.

use std::collections::{BTreeMap, HashMap};

use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::upsell::{
    NewUpsellModule, StoredRequest, UpsellModule, UpsellRequest, UpsellRequestItem,
    UpsellRequestStatus, UpsellRule, UpsellRuleMode,
};
use nexus_core::{Actor, Audit, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{children_of, grouped, placeholders, ChildRows, RowExt};
use crate::{Conn, Lock, StoreError};

const MODULE_COLUMNS: &str = "id, product_id, module_string, sf_module_id, sf_product_id, \
    software_delivery_type, pupm, created, created_by, modified, modified_by";

fn module_from_row(row: &AnyRow) -> Result<UpsellModule, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(UpsellModule {
        id: row.int("id")?,
        product_id: row.int("product_id")?,
        module_string: row.text("module_string")?,
        requires: Vec::new(),
        sf_module_id: row.opt_text("sf_module_id")?,
        sf_product_id: row.opt_text("sf_product_id")?,
        software_delivery_type: row.opt_text("software_delivery_type")?,
        pupm: row.try_get::<Option<f64>, _>("pupm")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Fills the modules' rules, in one query.
async fn with_rules(conn: &mut Conn, modules: &mut [UpsellModule]) -> Result<(), StoreError> {
    if modules.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT module_id, mode, module_string FROM upsell_module_requirements \
         WHERE module_id IN ({}) ORDER BY module_id, position",
        placeholders(1, modules.len())
    );
    let mut query = sqlx::query(&sql);
    for module in modules.iter() {
        query = query.bind(module.id);
    }
    let mut rules: HashMap<i32, Vec<UpsellRule>> = HashMap::new();
    for row in query.fetch_all(conn).await? {
        let mode = UpsellRuleMode::parse(&row.text("mode")?)
            .map_err(|e| StoreError::Corrupt(format!("upsell_module_requirements.mode {e}")))?;
        rules
            .entry(row.int("module_id")?)
            .or_default()
            .push(UpsellRule {
                mode,
                module_string: row.text("module_string")?,
            });
    }
    for module in modules {
        module.requires = rules.remove(&module.id).unwrap_or_default();
    }
    Ok(())
}

/// The modules of each of the products, by `moduleString`, in one query
/// (and one for their rules).
pub async fn modules_of_products(
    conn: &mut Conn,
    product_ids: &[i32],
) -> Result<HashMap<i32, Vec<UpsellModule>>, StoreError> {
    let select = format!("SELECT {MODULE_COLUMNS} FROM upsell_modules");
    let rows = ChildRows {
        select: &select,
        parent: "product_id",
        order: "product_id, module_string",
    };
    let mut modules = children_of(conn, rows, product_ids, module_from_row).await?;
    with_rules(conn, &mut modules).await?;
    Ok(grouped(modules, |m| m.product_id))
}

/// The product's modules, by `moduleString`.
pub async fn modules_of_product(
    conn: &mut Conn,
    product_id: i32,
) -> Result<Vec<UpsellModule>, StoreError> {
    Ok(modules_of_products(conn, &[product_id])
        .await?
        .remove(&product_id)
        .unwrap_or_default())
}

async fn write_rules(
    conn: &mut Conn,
    module_id: i32,
    rules: &[UpsellRule],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM upsell_module_requirements WHERE module_id = $1")
        .bind(module_id)
        .execute(&mut *conn)
        .await?;
    for (position, rule) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO upsell_module_requirements (module_id, position, mode, module_string) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(module_id)
        .bind(position as i32)
        .bind(rule.mode.as_str())
        .bind(&rule.module_string)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A price bound as text and cast by the statement: through the `Any`
/// driver a null double is bound as a PostgreSQL `real`, and the statement
/// prepared with it then refuses a double on the same connection. Rust
/// writes the shortest text that reads back as the same number.
fn pupm_text(pupm: Option<f64>) -> Option<String> {
    pupm.map(|price| price.to_string())
}

/// Declares a module of the product.
pub async fn insert_module(
    conn: &mut Conn,
    product_id: i32,
    new: &NewUpsellModule,
    actor: &Actor,
) -> Result<UpsellModule, StoreError> {
    let sql = format!(
        "INSERT INTO upsell_modules (product_id, module_string, sf_module_id, sf_product_id, \
         software_delivery_type, pupm, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, CAST($6 AS DOUBLE PRECISION), $7, $8, $7, $8) \
         RETURNING {MODULE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(product_id)
        .bind(new.module_string.as_str())
        .bind(&new.sf_module_id)
        .bind(&new.sf_product_id)
        .bind(&new.software_delivery_type)
        .bind(pupm_text(new.pupm))
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(&mut *conn)
        .await?;
    let mut module = module_from_row(&row)?;
    write_rules(conn, module.id, &new.requires).await?;
    module.requires = new.requires.clone();
    Ok(module)
}

/// Replaces a module's data and rules with `new`.
pub async fn replace_module(
    conn: &mut Conn,
    current: &UpsellModule,
    new: &NewUpsellModule,
    actor: &Actor,
) -> Result<UpsellModule, StoreError> {
    let sql = format!(
        "UPDATE upsell_modules SET sf_module_id = $2, sf_product_id = $3, \
         software_delivery_type = $4, pupm = CAST($5 AS DOUBLE PRECISION), modified = $6, \
         modified_by = $7 \
         WHERE id = $1 RETURNING {MODULE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(&new.sf_module_id)
        .bind(&new.sf_product_id)
        .bind(&new.software_delivery_type)
        .bind(pupm_text(new.pupm))
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(&mut *conn)
        .await?;
    let mut module = module_from_row(&row)?;
    write_rules(conn, module.id, &new.requires).await?;
    module.requires = new.requires.clone();
    Ok(module)
}

/// Removes a module (its rules go with it).
pub async fn delete_module(conn: &mut Conn, module: &UpsellModule) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM upsell_modules WHERE id = $1")
        .bind(module.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many of each module each of the subscriptions holds (only modules
/// with a row), in one query.
pub async fn quantities(
    conn: &mut Conn,
    subscription_ids: &[i32],
) -> Result<HashMap<i32, BTreeMap<String, i32>>, StoreError> {
    let mut held: HashMap<i32, BTreeMap<String, i32>> = HashMap::new();
    if subscription_ids.is_empty() {
        return Ok(held);
    }
    let sql = format!(
        "SELECT subscription_id, module_string, quantity FROM subscription_modules \
         WHERE subscription_id IN ({})",
        placeholders(1, subscription_ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in subscription_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(conn).await? {
        held.entry(row.int("subscription_id")?)
            .or_default()
            .insert(row.text("module_string")?, row.int("quantity")?);
    }
    Ok(held)
}

/// Sets how many of a module the subscription holds.
pub async fn set_quantity(
    conn: &mut Conn,
    subscription_id: i32,
    module_string: &str,
    quantity: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subscription_modules (subscription_id, module_string, quantity) \
         VALUES ($1, $2, $3) ON CONFLICT (subscription_id, module_string) \
         DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(subscription_id)
    .bind(module_string)
    .bind(quantity)
    .execute(conn)
    .await?;
    Ok(())
}

pub static REQUEST_LIST: ListSpec = ListSpec {
    fields: &[
        Field::new("id", "id", FieldKind::Integer).sortable(),
        Field::new("organizationId", "organization_id", FieldKind::Integer),
        Field::new("subscriptionId", "subscription_id", FieldKind::Integer),
        Field::new("status", "status", FieldKind::Text),
        Field::new("created", "created", FieldKind::Timestamp).sortable(),
        Field::new("modified", "modified", FieldKind::Timestamp).sortable(),
    ],
    search: &[],
    id_field: "id",
};

const REQUEST_COLUMNS: &str = "id, organization_id, subscription_id, status, status_text, \
    sf_license_id, sf_contract_id, sf_opportunity_id, request_items, created, created_by, \
    modified, modified_by";

fn request_from_row(row: &AnyRow) -> Result<UpsellRequest, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let status = UpsellRequestStatus::parse(&row.text("status")?)
        .map_err(|e| StoreError::Corrupt(format!("upsell_requests.status {e}")))?;
    let request_items: Vec<UpsellRequestItem> =
        serde_json::from_str(&row.text("request_items")?)
            .map_err(|e| StoreError::Corrupt(format!("upsell_requests.request_items: {e}")))?;
    Ok(UpsellRequest {
        id: row.int("id")?,
        status,
        status_text: row.opt_text("status_text")?,
        organization_id: row.int("organization_id")?,
        subscription_id: row.int("subscription_id")?,
        sf_license_id: row.opt_text("sf_license_id")?,
        sf_contract_id: row.opt_text("sf_contract_id")?,
        sf_opportunity_id: row.opt_text("sf_opportunity_id")?,
        request_items,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Stores a new request, `Pending`.
pub async fn insert_request(
    conn: &mut Conn,
    new: &StoredRequest,
    actor: &Actor,
) -> Result<UpsellRequest, StoreError> {
    let sql = format!(
        "INSERT INTO upsell_requests (organization_id, subscription_id, status, sf_license_id, \
         sf_contract_id, request_items, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $8) RETURNING {REQUEST_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new.organization_id)
        .bind(new.subscription_id)
        .bind(UpsellRequestStatus::Pending.as_str())
        .bind(&new.sf_license_id)
        .bind(&new.sf_contract_id)
        .bind(serde_json::to_string(&new.items).expect("items serialize"))
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    request_from_row(&row)
}

async fn get_request_with(
    conn: &mut Conn,
    id: i32,
    lock: Lock,
) -> Result<Option<UpsellRequest>, StoreError> {
    let sql = lock.apply(
        conn,
        format!("SELECT {REQUEST_COLUMNS} FROM upsell_requests WHERE id = $1"),
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(request_from_row).transpose()
}

pub async fn get_request(conn: &mut Conn, id: i32) -> Result<Option<UpsellRequest>, StoreError> {
    get_request_with(conn, id, Lock::No).await
}

/// `get_request`, locking the request until the transaction ends.
pub async fn get_request_for_update(
    conn: &mut Conn,
    id: i32,
) -> Result<Option<UpsellRequest>, StoreError> {
    get_request_with(conn, id, Lock::ForUpdate).await
}

/// Writes `changed`'s status, status text and opportunity over the stored
/// request, stamped as `actor`'s change.
pub async fn update_request(
    conn: &mut Conn,
    current: &UpsellRequest,
    changed: &UpsellRequest,
    actor: &Actor,
) -> Result<UpsellRequest, StoreError> {
    let sql = format!(
        "UPDATE upsell_requests SET status = $2, status_text = $3, sf_opportunity_id = $4, \
         modified = $5, modified_by = $6 WHERE id = $1 RETURNING {REQUEST_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(changed.status.as_str())
        .bind(&changed.status_text)
        .bind(&changed.sf_opportunity_id)
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    request_from_row(&row)
}

pub async fn list_requests(
    conn: &mut Conn,
    params: &ListParams,
) -> Result<Page<UpsellRequest>, StoreError> {
    fetch_page(
        conn,
        &REQUEST_LIST,
        REQUEST_COLUMNS,
        "upsell_requests",
        &[],
        params,
    )
    .await?
    .try_map(request_from_row)
}
