//! Imports of organization members (`member_import_jobs` and their
//! `member_import_rows`): recorded by a request, claimed by one worker at a
//! time for a lease it renews; each row's result is written in the
//! transaction that applies it, with the job's count of processed rows.

use nexus_core::import::ImportState;
use nexus_core::invitation::{
    InviteResult, MemberImport, MemberImportRow, NewMemberImport, NewMemberRow,
};
use nexus_core::{Actor, Timestamp};
use sqlx::any::AnyRow;

pub use crate::jobs::MEMBER_IMPORTS as JOBS;
use crate::rows::{placeholders, RowExt};
use crate::{Conn, StoreError};

/// A job a worker holds.
#[derive(Debug, Clone)]
pub struct ClaimedMemberImport {
    pub id: String,
    pub organization_id: i32,
    /// The actor that asked for the import, as stored (JSON).
    pub actor: String,
}

/// A row not applied yet.
#[derive(Debug, Clone)]
pub struct PendingRow {
    pub position: i64,
    pub member: NewMemberRow,
}

/// Records the import and its rows, queued.
pub async fn insert(
    conn: &mut Conn,
    organization_id: i32,
    new: &NewMemberImport,
    stored_actor: &str,
    actor: &Actor,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    sqlx::query(
        "INSERT INTO member_import_jobs (id, organization_id, state, import_date, import_filename, \
         importing_user_id, total, processed, actor, created, created_by, modified) \
         VALUES ($1, $2, 'Queued', $3, $4, $5, $6, 0, $7, $8, $9, $8)",
    )
    .bind(&new.id)
    .bind(organization_id)
    .bind(new.import_date.to_text())
    .bind(&new.import_filename)
    .bind(&new.importing_user_id)
    .bind(new.rows.len() as i64)
    .bind(stored_actor)
    .bind(&now)
    .bind(&actor.id)
    .execute(&mut *conn)
    .await?;
    const COLUMNS_PER_ROW: usize = 4;
    const ROWS_PER_STATEMENT: usize = 500;
    for (chunk_index, chunk) in new.rows.chunks(ROWS_PER_STATEMENT).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "({})",
                    placeholders(i * COLUMNS_PER_ROW + 1, COLUMNS_PER_ROW)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO member_import_rows (job_id, position, email_address, member) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (i, row) in chunk.iter().enumerate() {
            let position = (chunk_index * ROWS_PER_STATEMENT + i) as i64;
            query = query
                .bind(&new.id)
                .bind(position)
                .bind(&row.email_address)
                .bind(serde_json::to_string(row).expect("JSON"));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

const COLUMNS: &str =
    "id, organization_id, state, total, processed, import_date, import_filename, \
    importing_user_id, error, created, created_by, modified";

fn job(row: &AnyRow, rows: Vec<MemberImportRow>) -> Result<MemberImport, StoreError> {
    let state = row.text("state")?;
    Ok(MemberImport {
        id: row.text("id")?,
        organization_id: row.int("organization_id")?,
        status: ImportState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("member import state '{state}'")))?,
        total: i64::from(row.int("total")?),
        processed: i64::from(row.int("processed")?),
        import_date: row.timestamp("import_date")?,
        import_filename: row.text("import_filename")?,
        importing_user_id: row.text("importing_user_id")?,
        rows,
        error: row.opt_text("error")?,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
        modified: row.timestamp("modified")?,
    })
}

/// The organization an import (by id, whatever its organization) is for.
pub async fn organization_of(conn: &mut Conn, id: &str) -> Result<Option<i32>, StoreError> {
    let row = sqlx::query("SELECT organization_id FROM member_import_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.int("organization_id")).transpose()
}

/// The organization's import with this id, with its rows.
pub async fn get(
    conn: &mut Conn,
    organization_id: i32,
    id: &str,
) -> Result<Option<MemberImport>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM member_import_jobs WHERE organization_id = $1 AND id = $2");
    let Some(found) = sqlx::query(&sql)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT email_address, result, detail FROM member_import_rows WHERE job_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let result = r.opt_text("result")?;
        Ok(MemberImportRow {
            email_address: r.opt_text("email_address")?,
            result: result
                .map(|text| {
                    InviteResult::parse(&text)
                        .ok_or_else(|| StoreError::Corrupt(format!("import row result '{text}'")))
                })
                .transpose()?,
            detail: r.opt_text("detail")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    job(&found, rows).map(Some)
}

/// Claims the oldest import not ended that nobody holds (or whose holder's
/// lease ended) for `owner`, for `lease`.
pub async fn claim(
    conn: &mut Conn,
    owner: &str,
    lease: std::time::Duration,
) -> Result<Option<ClaimedMemberImport>, StoreError> {
    let Some(row) = JOBS
        .claim(conn, owner, lease, "id, organization_id, actor")
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ClaimedMemberImport {
        id: row.text("id")?,
        organization_id: row.int("organization_id")?,
        actor: row.text("actor")?,
    }))
}

/// The next rows not applied yet, at most `limit`, in order.
pub async fn pending(
    conn: &mut Conn,
    id: &str,
    limit: usize,
) -> Result<Vec<PendingRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT position, member FROM member_import_rows WHERE job_id = $1 AND result IS NULL \
         ORDER BY position LIMIT $2",
    )
    .bind(id)
    .bind(limit as i64)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let member = serde_json::from_str(&r.text("member")?)
                .map_err(|e| StoreError::Corrupt(format!("import row: {e}")))?;
            Ok(PendingRow {
                position: i64::from(r.int("position")?),
                member,
            })
        })
        .collect()
}

/// Records a row's result and counts it processed; false if `owner` no
/// longer holds the job or the row had a result already (the caller's
/// transaction must then not commit).
pub async fn record_row(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    position: i64,
    result: InviteResult,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    let held = sqlx::query(
        "UPDATE member_import_jobs SET processed = processed + 1, modified = $3 \
         WHERE id = $1 AND claimed_by = $2 AND state = 'Running'",
    )
    .bind(id)
    .bind(owner)
    .bind(Timestamp::now().to_text())
    .execute(&mut *conn)
    .await?;
    if held.rows_affected() == 0 {
        return Ok(false);
    }
    let set = sqlx::query(
        "UPDATE member_import_rows SET result = $3, detail = $4 \
         WHERE job_id = $1 AND position = $2 AND result IS NULL",
    )
    .bind(id)
    .bind(position)
    .bind(result.as_str())
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(set.rows_affected() > 0)
}

/// Ends the job (`Completed`, or `Failed` with `error`) and its claim.
pub async fn finish(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    state: ImportState,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let ended = sqlx::query(
        "UPDATE member_import_jobs SET state = $3, error = $4, claimed_by = NULL, \
         claimed_until = NULL, modified = $5 WHERE id = $1 AND claimed_by = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(state.as_str())
    .bind(error)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(ended.rows_affected() > 0)
}
