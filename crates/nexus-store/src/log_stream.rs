//! The Auth0 log events a tenant's log stream delivered, by `log_id`: an
//! event delivered again is recognised and changes nothing.

use nexus_core::Timestamp;

use crate::{Conn, StoreError};

/// Records that the tenant's event `log_id` is being handled, unless it was
/// before; whether it is new. On PostgreSQL a concurrent delivery of the
/// same event waits here until the first one's transaction ends.
pub async fn mark_received(
    conn: &mut Conn,
    tenant_id: i32,
    log_id: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO log_stream_events (idp_tenant_id, log_id, type, outcome, received) \
         VALUES ($1, $2, $3, 'received', $4) ON CONFLICT (idp_tenant_id, log_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(log_id)
    .bind(code)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() > 0)
}

/// Records what became of the event (`applied` or `ignored`).
pub async fn set_outcome(
    conn: &mut Conn,
    tenant_id: i32,
    log_id: &str,
    outcome: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE log_stream_events SET outcome = $3 WHERE idp_tenant_id = $1 AND log_id = $2",
    )
    .bind(tenant_id)
    .bind(log_id)
    .bind(outcome)
    .execute(conn)
    .await?;
    Ok(())
}
