//! The user record: its columns, and the statements that write it or read
//! it without its collections.

use std::sync::LazyLock;

use nexus_core::user::{NewUser, UserChanges, UserRecord};
use nexus_core::values::AuthenticationMethod;
use nexus_core::{Actor, Timestamp};

use crate::rows::{flag, placeholders, RowExt};
use crate::{for_update, Conn, StoreError};

pub(super) const COLUMNS: &str =
    "id, user_type, owner_id, organization_id, display_name, given_name, family_name, \
    nickname, username, picture, language, email_address, email_verified, email_verify_sent_date, \
    phone_number, phone_verified, recovery_email_address, is_active, is_mfa_disabled, \
    mfa_enrollment_status, authentication_method, created, created_by, modified, modified_by";

/// The user `$1`'s record: built once, not on every read.
pub(super) static BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM users WHERE id = $1"));

pub(crate) fn from_row(row: &impl RowExt) -> Result<UserRecord, StoreError> {
    let method = row.text("authentication_method")?;
    let authentication_method = AuthenticationMethod::parse(&method)
        .map_err(|e| StoreError::Corrupt(format!("authentication_method {e}")))?;
    Ok(UserRecord {
        id: row.text("id")?,
        user_type: row.opt_text("user_type")?,
        owner_id: row.opt_text("owner_id")?,
        organization_id: row.opt_int("organization_id")?,
        display_name: row.text("display_name")?,
        given_name: row.opt_text("given_name")?,
        family_name: row.opt_text("family_name")?,
        nickname: row.opt_text("nickname")?,
        username: row.opt_text("username")?,
        picture: row.opt_text("picture")?,
        language: row.opt_text("language")?,
        email_address: row.opt_text("email_address")?,
        email_verified: row.flag("email_verified")?,
        email_verify_sent_date: row.opt_timestamp("email_verify_sent_date")?,
        phone_number: row.opt_text("phone_number")?,
        phone_verified: row.flag("phone_verified")?,
        recovery_email_address: row.opt_text("recovery_email_address")?,
        is_active: row.flag("is_active")?,
        is_mfa_disabled: row.flag("is_mfa_disabled")?,
        mfa_enrollment_status: row.opt_text("mfa_enrollment_status")?,
        authentication_method,
        audit: row.audit()?,
    })
}

/// Stores a new user (its organization already resolved) under `id`.
pub async fn insert(
    conn: &mut Conn,
    id: &str,
    new: &NewUser,
    organization_id: i32,
    actor: &Actor,
) -> Result<UserRecord, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO users (id, user_type, owner_id, organization_id, display_name, given_name, family_name, \
         nickname, username, picture, language, email_address, email_verified, phone_number, phone_verified, \
         recovery_email_address, is_mfa_disabled, mfa_enrollment_status, authentication_method, \
         created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $20, $21) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(&new.user_type)
        .bind(&new.owner_id)
        .bind(organization_id)
        .bind(&new.display_name)
        .bind(&new.given_name)
        .bind(&new.family_name)
        .bind(&new.nickname)
        .bind(&new.username)
        .bind(&new.picture)
        .bind(&new.language)
        .bind(new.email_address.as_ref().map(|e| e.as_str()))
        .bind(flag(new.email_verified))
        .bind(new.phone_number.as_ref().map(|p| p.as_str()))
        .bind(flag(new.phone_verified))
        .bind(new.recovery_email_address.as_ref().map(|e| e.as_str()))
        .bind(flag(new.is_mfa_disabled))
        .bind(&new.mfa_enrollment_status)
        .bind(new.authentication_method.as_str())
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get_record(conn: &mut Conn, id: &str) -> Result<Option<UserRecord>, StoreError> {
    let row = sqlx::query(&BY_ID).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// `get_record`, locking the user until the transaction ends (`for_update`).
pub async fn get_record_for_update(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let sql = for_update(conn, &BY_ID);
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the user exists, locking it until the transaction ends: what is
/// written under a user (its identities) is then read and written by one
/// transaction at a time.
pub async fn lock(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let sql = for_update(conn, "SELECT 1 AS one FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.is_some())
}

pub async fn exists(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

pub(super) async fn get_records(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<UserRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// Applies the changes that differ from `current` (read with
/// `get_record_for_update`); writes nothing when none do.
pub async fn update(
    conn: &mut Conn,
    current: &UserRecord,
    changes: &UserChanges,
    actor: &Actor,
) -> Result<UserRecord, StoreError> {
    fn pick<T: Clone>(change: &Option<T>, current: &T) -> T {
        change.clone().unwrap_or_else(|| current.clone())
    }
    fn pick_opt<T: Clone>(change: &Option<T>, current: &Option<T>) -> Option<T> {
        change.clone().or_else(|| current.clone())
    }
    let email_address = changes
        .email_address
        .as_ref()
        .map(|e| e.as_str().to_owned())
        .or_else(|| current.email_address.clone());
    // Another address (not merely another spelling of it) is unverified until
    // its owner, or the request, says otherwise.
    let readdressed = !same_address(email_address.as_deref(), current.email_address.as_deref());
    let merged = UserRecord {
        display_name: pick(&changes.display_name, &current.display_name),
        given_name: pick_opt(&changes.given_name, &current.given_name),
        family_name: pick_opt(&changes.family_name, &current.family_name),
        nickname: pick_opt(&changes.nickname, &current.nickname),
        picture: pick_opt(&changes.picture, &current.picture),
        language: pick_opt(&changes.language, &current.language),
        username: pick_opt(&changes.username, &current.username),
        phone_number: changes
            .phone_number
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .or_else(|| current.phone_number.clone()),
        is_active: pick(&changes.is_active, &current.is_active),
        email_verified: changes
            .email_verified
            .unwrap_or(current.email_verified && !readdressed),
        email_verify_sent_date: match changes.email_verify_sent_date {
            Some(sent) => Some(sent),
            None if readdressed => None,
            None => current.email_verify_sent_date,
        },
        email_address,
        is_mfa_disabled: pick(&changes.is_mfa_disabled, &current.is_mfa_disabled),
        mfa_enrollment_status: pick_opt(
            &changes.mfa_enrollment_status,
            &current.mfa_enrollment_status,
        ),
        recovery_email_address: changes
            .recovery_email_address
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .or_else(|| current.recovery_email_address.clone()),
        ..current.clone()
    };
    if &merged == current {
        return Ok(merged);
    }
    let sql = format!(
        "UPDATE users SET display_name = $2, given_name = $3, family_name = $4, nickname = $5, picture = $6, \
         language = $7, username = $8, phone_number = $9, is_active = $10, email_verified = $11, \
         email_verify_sent_date = $12, is_mfa_disabled = $13, mfa_enrollment_status = $14, \
         recovery_email_address = $15, modified = $16, modified_by = $17, email_address = $18 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&merged.id)
        .bind(&merged.display_name)
        .bind(&merged.given_name)
        .bind(&merged.family_name)
        .bind(&merged.nickname)
        .bind(&merged.picture)
        .bind(&merged.language)
        .bind(&merged.username)
        .bind(&merged.phone_number)
        .bind(flag(merged.is_active))
        .bind(flag(merged.email_verified))
        .bind(merged.email_verify_sent_date.map(|t| t.to_text()))
        .bind(flag(merged.is_mfa_disabled))
        .bind(&merged.mfa_enrollment_status)
        .bind(&merged.recovery_email_address)
        .bind(Timestamp::now_after(current.audit.modified).to_text())
        .bind(&actor.id)
        .bind(&merged.email_address)
        .fetch_optional(conn)
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(StoreError::MissingReference)
}

/// Whether two addresses are one: the unique index compares them
/// lower-cased.
pub fn same_address(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

/// Deletes the user; its UPNs, identities (with their groups), attributes and
/// memberships go with it (ON DELETE CASCADE).
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Records that a verification e-mail went to the user's address at `at`.
pub async fn mark_verification_sent(
    conn: &mut Conn,
    id: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET email_verify_sent_date = $2 WHERE id = $1")
        .bind(id)
        .bind(at.to_text())
        .execute(conn)
        .await?;
    Ok(())
}

/// `mark_verification_sent`, if `address` is still the user's and
/// unverified; whether it was.
pub async fn mark_verification_sent_to(
    conn: &mut Conn,
    id: &str,
    address: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let marked = sqlx::query(
        "UPDATE users SET email_verify_sent_date = $3 \
         WHERE id = $1 AND lower(email_address) = lower($2) AND email_verified = 0",
    )
    .bind(id)
    .bind(address)
    .bind(at.to_text())
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Verifies the user's address, if it is `address` and not verified yet;
/// whether it did.
pub async fn mark_email_verified(
    conn: &mut Conn,
    id: &str,
    address: &str,
) -> Result<bool, StoreError> {
    let marked = sqlx::query(
        "UPDATE users SET email_verified = 1 \
         WHERE id = $1 AND lower(email_address) = lower($2) AND email_verified = 0",
    )
    .bind(id)
    .bind(address)
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Inserts many users at once (seeding, imports, benchmarks): multi-row
/// statements of a few hundred rows, in the caller's transaction.
pub async fn insert_many(conn: &mut Conn, records: &[UserRecord]) -> Result<(), StoreError> {
    const COLUMNS_PER_ROW: usize = 25;
    // Stays well under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
    const ROWS_PER_STATEMENT: usize = 400;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "({})",
                    placeholders(i * COLUMNS_PER_ROW + 1, COLUMNS_PER_ROW)
                )
            })
            .collect();
        let sql = format!("INSERT INTO users ({COLUMNS}) VALUES {}", rows.join(", "));
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(&r.id)
                .bind(&r.user_type)
                .bind(&r.owner_id)
                .bind(r.organization_id)
                .bind(&r.display_name)
                .bind(&r.given_name)
                .bind(&r.family_name)
                .bind(&r.nickname)
                .bind(&r.username)
                .bind(&r.picture)
                .bind(&r.language)
                .bind(&r.email_address)
                .bind(flag(r.email_verified))
                .bind(r.email_verify_sent_date.map(|t| t.to_text()))
                .bind(&r.phone_number)
                .bind(flag(r.phone_verified))
                .bind(&r.recovery_email_address)
                .bind(flag(r.is_active))
                .bind(flag(r.is_mfa_disabled))
                .bind(&r.mfa_enrollment_status)
                .bind(r.authentication_method.as_str())
                .bind(r.audit.created.to_text())
                .bind(&r.audit.created_by)
                .bind(r.audit.modified.to_text())
                .bind(&r.audit.modified_by);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
