//! Console sessions, found by the SHA-256 of their token.

use nexus_core::console::{ConsoleSession, SessionKind, IDLE_LIFETIME};
use nexus_core::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::RowExt;
use crate::{Conn, StoreError};

const COLUMNS: &str =
    "id, kind, api_key_id, user_id, idp_tenant_id, azo_user_id, csrf_secret, created, last_seen, \
     expires_at";

fn from_row(row: &AnyRow) -> Result<ConsoleSession, StoreError> {
    let kind = row.text("kind")?;
    Ok(ConsoleSession {
        id: row.text("id")?,
        kind: SessionKind::parse(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("console_sessions.kind: unknown kind '{kind}'"))
        })?,
        api_key_id: row.opt_text("api_key_id")?,
        user_id: row.opt_text("user_id")?,
        idp_tenant_id: row.opt_int("idp_tenant_id")?,
        azo_user_id: row.opt_text("azo_user_id")?,
        csrf_secret: row.text("csrf_secret")?,
        created: row.timestamp("created")?,
        last_seen: row.timestamp("last_seen")?,
        expires_at: row.timestamp("expires_at")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    session: &ConsoleSession,
    token_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO console_sessions (id, token_hash, kind, api_key_id, user_id, idp_tenant_id, \
         azo_user_id, csrf_secret, created, last_seen, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&session.id)
    .bind(token_hash)
    .bind(session.kind.as_str())
    .bind(&session.api_key_id)
    .bind(&session.user_id)
    .bind(session.idp_tenant_id)
    .bind(&session.azo_user_id)
    .bind(&session.csrf_secret)
    .bind(session.created.to_text())
    .bind(session.last_seen.to_text())
    .bind(session.expires_at.to_text())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<ConsoleSession>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM console_sessions WHERE token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records that the session was used at `now` (only ever later).
pub async fn touch(conn: &mut Conn, id: &str, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query("UPDATE console_sessions SET last_seen = $2 WHERE id = $1 AND last_seen < $2")
        .bind(id)
        .bind(now.to_text())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the session; returns it as it was, `None` when it was gone.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<Option<ConsoleSession>, StoreError> {
    let sql = format!("DELETE FROM console_sessions WHERE id = $1 RETURNING {COLUMNS}");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes every session that has expired by `now`, absolutely or idle
/// (abandoned sessions are never met again).
pub async fn delete_expired(conn: &mut Conn, now: Timestamp) -> Result<u64, StoreError> {
    let idle_since = now.plus_seconds(-(IDLE_LIFETIME.as_secs() as i64));
    let done =
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen <= $2")
            .bind(now.to_text())
            .bind(idle_since.to_text())
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}
