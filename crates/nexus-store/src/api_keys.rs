use nexus_core::auth::{ApiKey, NewApiKey};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::{Actor, Audit, Timestamp};
use sqlx::any::AnyRow;

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
            name: "description",
            column: "description",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "roleId",
            column: "role_id",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "expiresAt",
            column: "expires_at",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "revokedAt",
            column: "revoked_at",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["id", "description"],
    id_field: "id",
};

const COLUMNS: &str =
    "id, description, permissions, role_id, expires_at, revoked_at, created, created_by, modified, modified_by";

fn from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(ApiKey {
        id: row.text("id")?,
        description: row.opt_text("description")?,
        permissions: row.text("permissions")?,
        role_id: row.opt_text("role_id")?,
        expires_at: row.timestamp("expires_at")?,
        revoked_at: row.opt_timestamp("revoked_at")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Stores a key under `id` with the hash of its secret.
pub async fn insert(
    conn: &mut Conn,
    id: &str,
    secret_hash: &str,
    new: &NewApiKey,
    actor: &Actor,
) -> Result<ApiKey, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO api_keys (id, description, permissions, role_id, secret_hash, expires_at, \
         created, created_by, modified, modified_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $8) \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(&new.description)
        .bind(new.permissions.to_text())
        .bind(&new.role_id)
        .bind(secret_hash)
        .bind(new.expires_at.to_text())
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ApiKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// The key and its secret's hash, for verifying a credential.
pub async fn get_for_verification(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<(ApiKey, String)>, StoreError> {
    let sql = format!("SELECT {COLUMNS}, secret_hash FROM api_keys WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.map(|row| Ok((from_row(&row)?, row.text("secret_hash")?)))
        .transpose()
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<ApiKey>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "api_keys", &[], params).await?;
    page.try_map(from_row)
}

/// The key, locked until the transaction ends.
pub async fn get_for_update(conn: &mut Conn, id: &str) -> Result<Option<ApiKey>, StoreError> {
    let sql = for_update(
        conn,
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"),
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Revokes `current` (read with `get_for_update`) unless it is revoked
/// already (a revoked key stays as it is); returns the key as it is now.
pub async fn revoke(
    conn: &mut Conn,
    current: &ApiKey,
    actor: &Actor,
) -> Result<ApiKey, StoreError> {
    if current.revoked_at.is_some() {
        return Ok(current.clone());
    }
    let now = Timestamp::now_after(current.modified).to_text();
    let sql = format!(
        "UPDATE api_keys SET revoked_at = $2, modified = $2, modified_by = $3 WHERE id = $1 \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&current.id)
        .bind(now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

/// Gives `current` (read with `get_for_update`) a new secret and expiry
/// (the bootstrap key's rotation).
pub async fn replace_secret(
    conn: &mut Conn,
    current: &ApiKey,
    secret_hash: &str,
    expires_at: Timestamp,
    actor: &Actor,
) -> Result<ApiKey, StoreError> {
    let sql = format!(
        "UPDATE api_keys SET secret_hash = $2, expires_at = $3, modified = $4, modified_by = $5 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&current.id)
        .bind(secret_hash)
        .bind(expires_at.to_text())
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}
