//! Reconciliation jobs (`reconciliation_jobs`): recorded by a request or the
//! schedule, claimed by one worker at a time for a lease it renews,
//! checkpointed after every batch; and the marks they leave on identities
//! (`reconciled_by`: seen by that job; `vanished_at`: found missing).

use nexus_core::import::ImportState;
use nexus_core::reconciliation::{ReconciliationJob, ReconciliationReport};
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;

pub use crate::jobs::RECONCILIATIONS as JOBS;
use crate::rows::RowExt;
use crate::{Conn, StoreError};

/// A job a worker holds: what it needs to go on from the checkpoint.
#[derive(Debug, Clone)]
pub struct ClaimedReconciliation {
    pub id: String,
    pub tenant_id: i32,
    pub export_job_id: Option<String>,
    pub location: Option<String>,
    /// When Auth0 was asked for the export.
    pub export_started: Option<Timestamp>,
    pub lines_done: i64,
    pub report: ReconciliationReport,
}

pub async fn insert(
    conn: &mut Conn,
    id: &str,
    tenant_id: i32,
    actor: &Actor,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    let report = serde_json::to_string(&ReconciliationReport::default()).expect("JSON");
    sqlx::query(
        "INSERT INTO reconciliation_jobs (id, idp_tenant_id, state, report, created, created_by, modified) \
         VALUES ($1, $2, 'Queued', $3, $4, $5, $4)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(report)
    .bind(&now)
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

const COLUMNS: &str = "j.id, t.name AS tenant_name, j.state, j.report, j.error, j.created, \
     j.created_by, j.modified";

fn job(row: &AnyRow) -> Result<ReconciliationJob, StoreError> {
    let state = row.text("state")?;
    Ok(ReconciliationJob {
        id: row.text("id")?,
        idp_tenant_id: row.text("tenant_name")?,
        state: ImportState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("reconciliation state '{state}'")))?,
        report: report(row)?,
        error: row.opt_text("error")?,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
        modified: row.timestamp("modified")?,
    })
}

fn report(row: &AnyRow) -> Result<ReconciliationReport, StoreError> {
    serde_json::from_str(&row.text("report")?)
        .map_err(|e| StoreError::Corrupt(format!("reconciliation report: {e}")))
}

/// The tenant's reconciliation with this id.
pub async fn get(
    conn: &mut Conn,
    tenant_id: i32,
    id: &str,
) -> Result<Option<ReconciliationJob>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM reconciliation_jobs j JOIN idp_tenants t ON t.id = j.idp_tenant_id \
         WHERE j.idp_tenant_id = $1 AND j.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(job).transpose()
}

/// The tenants with Management credentials that no reconciliation started
/// since `since`, and none is unfinished: those the schedule starts.
pub async fn due_tenants(conn: &mut Conn, since: Timestamp) -> Result<Vec<i32>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.id FROM idp_tenants t WHERE t.management_client_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM reconciliation_jobs j WHERE j.idp_tenant_id = t.id \
         AND (j.created >= $1 OR j.state IN ('Queued', 'Running'))) ORDER BY t.id",
    )
    .bind(since.to_text())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.int("id")).collect()
}

/// Claims the oldest reconciliation that has not ended and that nobody
/// holds (or whose holder's lease ended) for `owner`, for `lease`.
pub async fn claim(
    conn: &mut Conn,
    owner: &str,
    lease: std::time::Duration,
) -> Result<Option<ClaimedReconciliation>, StoreError> {
    const CLAIMED: &str =
        "id, idp_tenant_id, export_job_id, location, export_started, lines_done, report";
    let Some(row) = JOBS.claim(conn, owner, lease, CLAIMED).await? else {
        return Ok(None);
    };
    Ok(Some(ClaimedReconciliation {
        id: row.text("id")?,
        tenant_id: row.int("idp_tenant_id")?,
        export_job_id: row.opt_text("export_job_id")?,
        location: row.opt_text("location")?,
        export_started: row.opt_timestamp("export_started")?,
        lines_done: i64::from(row.int("lines_done")?),
        report: report(&row)?,
    }))
}

/// Records the Auth0 export the job reads, and the checkpoint that goes
/// with it; false if `owner` no longer holds the job.
pub async fn set_export(
    conn: &mut Conn,
    job: &ClaimedReconciliation,
    owner: &str,
) -> Result<bool, StoreError> {
    let report = serde_json::to_string(&job.report).expect("JSON");
    let set = sqlx::query(
        "UPDATE reconciliation_jobs SET export_job_id = $3, location = $4, export_started = $5, lines_done = $6, \
         report = $7, modified = $8 WHERE id = $1 AND claimed_by = $2",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(&job.export_job_id)
    .bind(&job.location)
    .bind(job.export_started.map(|t| t.to_text()))
    .bind(job.lines_done)
    .bind(report)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(set.rows_affected() > 0)
}

/// Records the checkpoint: `lines_done` lines handled, with `report`;
/// false if `owner` no longer holds the job (the caller's transaction must
/// not commit).
pub async fn checkpoint(
    conn: &mut Conn,
    job: &ClaimedReconciliation,
    owner: &str,
    lease: std::time::Duration,
) -> Result<bool, StoreError> {
    let report = serde_json::to_string(&job.report).expect("JSON");
    let now = Timestamp::now();
    let saved = sqlx::query(
        "UPDATE reconciliation_jobs SET lines_done = $3, report = $4, modified = $5, claimed_until = $6 \
         WHERE id = $1 AND claimed_by = $2 AND state = 'Running'",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(job.lines_done)
    .bind(report)
    .bind(now.to_text())
    .bind(now.plus(lease).to_text())
    .execute(conn)
    .await?;
    Ok(saved.rows_affected() > 0)
}

/// Ends the job (`Completed`, or `Failed` with `error`) and its claim.
pub async fn finish(
    conn: &mut Conn,
    job: &ClaimedReconciliation,
    owner: &str,
    state: ImportState,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let report = serde_json::to_string(&job.report).expect("JSON");
    let ended = sqlx::query(
        "UPDATE reconciliation_jobs SET state = $3, error = $4, report = $5, lines_done = $6, claimed_by = NULL, \
         claimed_until = NULL, modified = $7 WHERE id = $1 AND claimed_by = $2",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(state.as_str())
    .bind(error)
    .bind(report)
    .bind(job.lines_done)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(ended.rows_affected() > 0)
}

/// A linked identity whose Auth0 user the export holds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenIdentity {
    pub user_id: String,
    /// It had been found missing before.
    pub vanished_at: Option<Timestamp>,
}

/// Marks the tenant's identity of the Auth0 user as seen by job `job`;
/// the identity, if there is one.
pub async fn seen(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
    job: &str,
) -> Result<Option<SeenIdentity>, StoreError> {
    let row = sqlx::query(
        "UPDATE identities SET reconciled_by = $3 WHERE idp_tenant_id = $1 AND azo_user_id = $2 \
         RETURNING user_id, vanished_at",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .bind(job)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(SeenIdentity {
            user_id: row.text("user_id")?,
            vanished_at: row.opt_timestamp("vanished_at")?,
        })
    })
    .transpose()
}

/// Marks the identity missing since `at`; false if it was already.
pub async fn mark_vanished(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let marked = sqlx::query(
        "UPDATE identities SET vanished_at = $3 WHERE idp_tenant_id = $1 AND azo_user_id = $2 \
         AND vanished_at IS NULL",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .bind(at.to_text())
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Clears the identity's missing mark; false if it had none.
pub async fn clear_vanished(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
) -> Result<bool, StoreError> {
    let cleared = sqlx::query(
        "UPDATE identities SET vanished_at = NULL WHERE idp_tenant_id = $1 AND azo_user_id = $2 \
         AND vanished_at IS NOT NULL",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .execute(conn)
    .await?;
    Ok(cleared.rows_affected() > 0)
}

/// An identity of the tenant that job `job` did not see in its export.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingIdentity {
    pub user_id: String,
    pub azo_user_id: String,
    pub vanished_at: Option<Timestamp>,
}

/// The identities of the tenant, linked (or relinked) before the export
/// was asked for at `export_started`, that job `job` did not see.
pub async fn missing(
    conn: &mut Conn,
    tenant_id: i32,
    job: &str,
    export_started: Timestamp,
) -> Result<Vec<MissingIdentity>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id, azo_user_id, vanished_at FROM identities WHERE idp_tenant_id = $1 \
         AND (reconciled_by IS NULL OR reconciled_by <> $2) AND modified < $3 ORDER BY azo_user_id",
    )
    .bind(tenant_id)
    .bind(job)
    .bind(export_started.to_text())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MissingIdentity {
                user_id: row.text("user_id")?,
                azo_user_id: row.text("azo_user_id")?,
                vanished_at: row.opt_timestamp("vanished_at")?,
            })
        })
        .collect()
}
