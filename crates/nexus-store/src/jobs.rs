//! The claims on a tenant's background jobs (imports, reconciliations):
//! each kind has a table of jobs with `id`, `idp_tenant_id`, `state`
//! (`Queued`, `Running`, then ended), `claimed_by`, `claimed_until`,
//! `created` and `modified`. A worker claims one job at a time for a lease,
//! renews the lease while it works, and releases it when it stops; a job
//! whose worker died is claimed again once its lease has ended.

use std::time::Duration;

use nexus_core::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::RowExt;
use crate::{Conn, StoreError};

/// A table of jobs.
#[derive(Debug, Clone, Copy)]
pub struct Jobs(&'static str);

pub const IMPORTS: Jobs = Jobs("import_jobs");
pub const RECONCILIATIONS: Jobs = Jobs("reconciliation_jobs");
/// Imports of an organization's members (no tenant: `unfinished` does not apply).
pub const MEMBER_IMPORTS: Jobs = Jobs("member_import_jobs");

impl Jobs {
    /// The tenant's job that has not ended, if any.
    pub async fn unfinished(
        self,
        conn: &mut Conn,
        tenant_id: i32,
    ) -> Result<Option<String>, StoreError> {
        let sql = format!(
            "SELECT id FROM {} WHERE idp_tenant_id = $1 AND state IN ('Queued', 'Running')",
            self.0
        );
        let row = sqlx::query(&sql)
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?;
        row.map(|r| r.text("id")).transpose()
    }

    /// Whether a job waits for a worker: a read, so that an idle worker's
    /// polls start no write transaction.
    pub async fn claimable(self, conn: &mut Conn) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT 1 AS one FROM {} WHERE state IN ('Queued', 'Running') \
             AND (claimed_until IS NULL OR claimed_until < $1) LIMIT 1",
            self.0
        );
        let row = sqlx::query(&sql)
            .bind(Timestamp::now().to_text())
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    /// Claims the oldest job that has not ended and that nobody holds (or
    /// whose holder's lease ended: it died) for `owner`, for `lease`; its
    /// `columns`.
    pub(crate) async fn claim(
        self,
        conn: &mut Conn,
        owner: &str,
        lease: Duration,
        columns: &str,
    ) -> Result<Option<AnyRow>, StoreError> {
        let now = Timestamp::now();
        let skip_locked = crate::backend::skip_locked(conn);
        let table = self.0;
        let sql = format!(
            "UPDATE {table} SET claimed_by = $3, claimed_until = $2, state = 'Running', modified = $1 \
             WHERE id IN (SELECT id FROM {table} WHERE state IN ('Queued', 'Running') \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY created, id LIMIT 1{skip_locked}) \
             RETURNING {columns}"
        );
        Ok(sqlx::query(&sql)
            .bind(now.to_text())
            .bind(now.plus(lease).to_text())
            .bind(owner)
            .fetch_optional(conn)
            .await?)
    }

    /// Extends `owner`'s claim; false if it no longer holds the job.
    pub async fn renew(
        self,
        conn: &mut Conn,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {} SET claimed_until = $3 WHERE id = $1 AND claimed_by = $2 AND state = 'Running'",
            self.0
        );
        let renewed = sqlx::query(&sql)
            .bind(id)
            .bind(owner)
            .bind(Timestamp::now().plus(lease).to_text())
            .execute(conn)
            .await?;
        Ok(renewed.rows_affected() > 0)
    }

    /// Gives up `owner`'s claim without ending the job (a stopping server):
    /// the next worker goes on from the checkpoint at once.
    pub async fn release(self, conn: &mut Conn, id: &str, owner: &str) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2",
            self.0
        );
        sqlx::query(&sql).bind(id).bind(owner).execute(conn).await?;
        Ok(())
    }

    /// Ends every claim, whoever holds it: for a start when no other
    /// process can be working (SQLite).
    pub async fn release_all(self, conn: &mut Conn) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE {} SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL",
            self.0
        );
        let released = sqlx::query(&sql).execute(conn).await?;
        Ok(released.rows_affected())
    }
}
