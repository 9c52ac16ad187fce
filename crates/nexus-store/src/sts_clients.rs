use nexus_core::auth::{NewStsClient, StsClient};
use nexus_core::{Actor, Audit, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::RowExt;
use crate::{for_update, Conn, StoreError};

const COLUMNS: &str =
    "client_id, idp_tenant_id, description, permissions, created, created_by, modified, modified_by";

fn from_row(row: &AnyRow) -> Result<StsClient, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(StsClient {
        client_id: row.text("client_id")?,
        idp_tenant_id: row.opt_int("idp_tenant_id")?,
        description: row.opt_text("description")?,
        permissions: row.text("permissions")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

pub async fn insert(
    conn: &mut Conn,
    new: &NewStsClient,
    idp_tenant_id: i32,
    actor: &Actor,
) -> Result<StsClient, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO sts_clients (client_id, idp_tenant_id, description, permissions, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&new.client_id)
        .bind(idp_tenant_id)
        .bind(&new.description)
        .bind(new.permissions.to_text())
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, client_id: &str) -> Result<Option<StsClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sts_clients WHERE client_id = $1");
    fetch(conn, &sql, client_id).await
}

/// `get`, locking the mapping until the transaction ends (`for_update`).
pub async fn get_for_update(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Option<StsClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sts_clients WHERE client_id = $1");
    let sql = for_update(conn, &sql);
    fetch(conn, &sql, client_id).await
}

async fn fetch(
    conn: &mut Conn,
    sql: &str,
    client_id: &str,
) -> Result<Option<StsClient>, StoreError> {
    let row = sqlx::query(sql)
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every mapping, by client id (there are few; GetStsClients answers a bare array).
pub async fn list(conn: &mut Conn) -> Result<Vec<StsClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sts_clients ORDER BY client_id");
    sqlx::query(&sql)
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn delete(conn: &mut Conn, client_id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM sts_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
