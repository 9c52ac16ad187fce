use nexus_core::custom_upn::{CustomUpn, CustomUpnChanges, NewCustomUpn};
use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::{new_text_id, Actor, Audit, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::RowExt;
use crate::{for_update, Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "clientUpnKey",
            column: "client_upn_key",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "customUpnValue",
            column: "custom_upn_value",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
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
    search: &["clientUpnKey", "customUpnValue"],
    id_field: "id",
};

pub(crate) const COLUMNS: &str =
    "id, user_id, client_upn_key, custom_upn_value, created, created_by, modified, modified_by";

pub(crate) fn from_row(row: &impl RowExt) -> Result<CustomUpn, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(CustomUpn {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        client_upn_key: row.opt_text("client_upn_key")?,
        custom_upn_value: row.text("custom_upn_value")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

pub async fn insert(
    conn: &mut Conn,
    user_id: &str,
    new: &NewCustomUpn,
    actor: &Actor,
) -> Result<CustomUpn, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO custom_upns (id, user_id, client_upn_key, custom_upn_value, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_text_id())
        .bind(user_id)
        .bind(new.client_upn_key.as_ref().map(|k| k.as_str()))
        .bind(new.custom_upn_value.as_str())
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(
    conn: &mut Conn,
    user_id: &str,
    id: &str,
) -> Result<Option<CustomUpn>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM custom_upns WHERE id = $1 AND user_id = $2");
    fetch(conn, &sql, user_id, id).await
}

/// `get`, locking the custom UPN until the transaction ends (`for_update`).
pub async fn get_for_update(
    conn: &mut Conn,
    user_id: &str,
    id: &str,
) -> Result<Option<CustomUpn>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM custom_upns WHERE id = $1 AND user_id = $2");
    let sql = for_update(conn, &sql);
    fetch(conn, &sql, user_id, id).await
}

async fn fetch(
    conn: &mut Conn,
    sql: &str,
    user_id: &str,
    id: &str,
) -> Result<Option<CustomUpn>, StoreError> {
    let row = sqlx::query(sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(
    conn: &mut Conn,
    user_id: &str,
    params: &ListParams,
) -> Result<Page<CustomUpn>, StoreError> {
    let scope = [("user_id", Literal::Text(user_id.to_owned()))];
    let page = fetch_page(conn, &LIST, COLUMNS, "custom_upns", &scope, params).await?;
    page.try_map(from_row)
}

/// Applies the changes that differ from `current` (read with
/// `get_for_update`); writes nothing when none do.
pub async fn update(
    conn: &mut Conn,
    current: &CustomUpn,
    changes: &CustomUpnChanges,
    actor: &Actor,
) -> Result<CustomUpn, StoreError> {
    let key = changes
        .client_upn_key
        .as_ref()
        .map(|k| k.as_str().to_owned())
        .or_else(|| current.client_upn_key.clone());
    let value = changes.custom_upn_value.as_ref().map_or_else(
        || current.custom_upn_value.clone(),
        |v| v.as_str().to_owned(),
    );
    if key == current.client_upn_key && value == current.custom_upn_value {
        return Ok(current.clone());
    }
    let sql = format!(
        "UPDATE custom_upns SET client_upn_key = $3, custom_upn_value = $4, modified = $5, modified_by = $6 \
         WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&current.id)
        .bind(&current.user_id)
        .bind(&key)
        .bind(&value)
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_optional(conn)
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(StoreError::MissingReference)
}

pub async fn delete(conn: &mut Conn, user_id: &str, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM custom_upns WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
