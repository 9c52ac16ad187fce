//! An organization's e-mail domains and their verification.

use crate::{Conn, StoreError};

/// Whether `domain` (lower-case, as stored) is a verified domain of the
/// organization.
pub async fn is_verified(
    conn: &mut Conn,
    organization_id: i32,
    domain: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM organization_domains \
         WHERE organization_id = $1 AND domain = $2 AND verified IS NOT NULL",
    )
    .bind(organization_id)
    .bind(domain)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
