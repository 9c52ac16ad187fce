//! Import jobs (`import_jobs`): recorded by a request, claimed by one worker
//! at a time for a lease it renews, checkpointed after every batch.

use nexus_core::import::{ImportJob, ImportProgress, ImportState};
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;

pub use crate::jobs::IMPORTS as JOBS;
use crate::rows::RowExt;
use crate::{Conn, StoreError};

/// An import asked for.
pub struct NewImport<'a> {
    pub id: &'a str,
    pub tenant_id: i32,
    pub dry_run: bool,
    pub organization_id: i32,
}

/// A job a worker holds: what it needs to go on from the checkpoint.
#[derive(Debug, Clone)]
pub struct ClaimedImport {
    pub id: String,
    pub tenant_id: i32,
    pub dry_run: bool,
    pub organization_id: i32,
    pub export_job_id: Option<String>,
    pub location: Option<String>,
    pub lines_done: i64,
    pub progress: ImportProgress,
    pub created_by: String,
}

pub async fn insert(conn: &mut Conn, new: &NewImport<'_>, actor: &Actor) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    let progress = serde_json::to_string(&ImportProgress::default()).expect("JSON");
    sqlx::query(
        "INSERT INTO import_jobs (id, idp_tenant_id, state, dry_run, organization_id, progress, created, \
         created_by, modified) VALUES ($1, $2, 'Queued', $3, $4, $5, $6, $7, $6)",
    )
    .bind(new.id)
    .bind(new.tenant_id)
    .bind(i32::from(new.dry_run))
    .bind(new.organization_id)
    .bind(progress)
    .bind(&now)
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

const COLUMNS: &str =
    "j.id, t.name AS tenant_name, j.state, j.dry_run, j.organization_id, j.progress, \
     j.error, j.created, j.created_by, j.modified";

fn job(row: &AnyRow) -> Result<ImportJob, StoreError> {
    let state = row.text("state")?;
    Ok(ImportJob {
        id: row.text("id")?,
        idp_tenant_id: row.text("tenant_name")?,
        state: ImportState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("import state '{state}'")))?,
        dry_run: row.int("dry_run")? != 0,
        organization_id: row.int("organization_id")?,
        progress: progress(row)?,
        error: row.opt_text("error")?,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
        modified: row.timestamp("modified")?,
    })
}

fn progress(row: &AnyRow) -> Result<ImportProgress, StoreError> {
    serde_json::from_str(&row.text("progress")?)
        .map_err(|e| StoreError::Corrupt(format!("import progress: {e}")))
}

/// The tenant's import with this id.
pub async fn get(
    conn: &mut Conn,
    tenant_id: i32,
    id: &str,
) -> Result<Option<ImportJob>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM import_jobs j JOIN idp_tenants t ON t.id = j.idp_tenant_id \
         WHERE j.idp_tenant_id = $1 AND j.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(job).transpose()
}

/// Claims the oldest import that has not ended and that nobody holds (or
/// whose holder's lease ended: it died) for `owner`, for `lease`.
pub async fn claim(
    conn: &mut Conn,
    owner: &str,
    lease: std::time::Duration,
) -> Result<Option<ClaimedImport>, StoreError> {
    const CLAIMED: &str = "id, idp_tenant_id, dry_run, organization_id, \
        export_job_id, location, lines_done, progress, created_by";
    let Some(row) = JOBS.claim(conn, owner, lease, CLAIMED).await? else {
        return Ok(None);
    };
    Ok(Some(ClaimedImport {
        id: row.text("id")?,
        tenant_id: row.int("idp_tenant_id")?,
        dry_run: row.int("dry_run")? != 0,
        organization_id: row.int("organization_id")?,
        export_job_id: row.opt_text("export_job_id")?,
        location: row.opt_text("location")?,
        lines_done: i64::from(row.int("lines_done")?),
        progress: progress(&row)?,
        created_by: row.text("created_by")?,
    }))
}

/// Records the Auth0 export the job reads (`location` once it is made);
/// false if `owner` no longer holds the job.
pub async fn set_export(
    conn: &mut Conn,
    job: &ClaimedImport,
    owner: &str,
) -> Result<bool, StoreError> {
    let set = sqlx::query(
        "UPDATE import_jobs SET export_job_id = $3, location = $4, lines_done = $5, modified = $6 \
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(&job.export_job_id)
    .bind(&job.location)
    .bind(job.lines_done)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(set.rows_affected() > 0)
}

/// Records the checkpoint: `lines_done` lines handled, with `progress`;
/// false if `owner` no longer holds the job (another worker took it over:
/// the caller's transaction must not commit).
pub async fn checkpoint(
    conn: &mut Conn,
    job: &ClaimedImport,
    owner: &str,
) -> Result<bool, StoreError> {
    let progress = serde_json::to_string(&job.progress).expect("JSON");
    let saved = sqlx::query(
        "UPDATE import_jobs SET lines_done = $3, progress = $4, modified = $5 \
         WHERE id = $1 AND claimed_by = $2 AND state = 'Running'",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(job.lines_done)
    .bind(progress)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(saved.rows_affected() > 0)
}

/// Ends the job (`Completed`, or `Failed` with `error`) and its claim.
pub async fn finish(
    conn: &mut Conn,
    job: &ClaimedImport,
    owner: &str,
    state: ImportState,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let progress = serde_json::to_string(&job.progress).expect("JSON");
    let ended = sqlx::query(
        "UPDATE import_jobs SET state = $3, error = $4, progress = $5, lines_done = $6, claimed_by = NULL, \
         claimed_until = NULL, modified = $7 WHERE id = $1 AND claimed_by = $2",
    )
    .bind(&job.id)
    .bind(owner)
    .bind(state.as_str())
    .bind(error)
    .bind(progress)
    .bind(job.lines_done)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(ended.rows_affected() > 0)
}
