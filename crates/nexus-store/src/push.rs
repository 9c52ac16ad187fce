//! The push outbox (DESIGN §4): work recorded in the transaction of a change,
//! claimed by workers (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas
//! never take the same item) for a lease their owner renews while it works,
//! and completed only if nothing changed meanwhile.

use nexus_core::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::RowExt;
use crate::{Conn, StoreError};

/// A claimed piece of work.
#[derive(Debug, Clone, PartialEq)]
pub struct PushItem {
    pub id: i32,
    pub idp_tenant_id: i32,
    pub azo_user_id: String,
    pub version: i32,
    pub attempts: i32,
    /// The token of the worker holding the claim.
    pub claimed_by: String,
    pub actions: AccountActions,
}

/// An item that failed for good, for operators.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedPush {
    pub id: i32,
    pub idp_tenant_id: i32,
    pub azo_user_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub modified: Timestamp,
}

/// Records that the Auth0 user needs a push (now); coalesces with work
/// already waiting for it.
pub async fn enqueue(conn: &mut Conn, tenant_id: i32, azo_user_id: &str) -> Result<(), StoreError> {
    enqueue_with(conn, tenant_id, azo_user_id, AccountActions::default()).await
}

/// What a push does besides PATCHing the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountActions {
    /// Lift the account's brute-force blocks: the user was unblocked.
    pub lift_login_blocks: bool,
    /// Delete the account if it is still linked to nobody: a user was
    /// deleted, and Nexus had created the account.
    pub delete_account: bool,
    /// Send the user's e-mail address to the database account (with
    /// Auth0's verification e-mail unless it is verified): it changed.
    pub send_email: bool,
}

/// `enqueue`, with `actions`; actions already asked for are kept.
async fn enqueue_with(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
    actions: AccountActions,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    sqlx::query(
        "INSERT INTO push_outbox (idp_tenant_id, azo_user_id, due_at, created, modified, lift_login_blocks, \
         delete_account, send_email) VALUES ($1, $2, $3, $3, $3, $4, $5, $6) \
         ON CONFLICT (idp_tenant_id, azo_user_id) DO UPDATE SET version = push_outbox.version + 1, \
         status = 'pending', due_at = excluded.due_at, attempts = 0, last_error = NULL, modified = excluded.modified, \
         lift_login_blocks = CASE WHEN excluded.lift_login_blocks = 1 THEN 1 ELSE push_outbox.lift_login_blocks END, \
         delete_account = CASE WHEN excluded.delete_account = 1 THEN 1 ELSE push_outbox.delete_account END, \
         send_email = CASE WHEN excluded.send_email = 1 THEN 1 ELSE push_outbox.send_email END",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .bind(&now)
    .bind(i32::from(actions.lift_login_blocks))
    .bind(i32::from(actions.delete_account))
    .bind(i32::from(actions.send_email))
    .execute(conn)
    .await?;
    Ok(())
}

/// Which of a user's identities a change is pushed to, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushTo {
    /// Every identity: UPNs, links and the block are Nexus's on all of them.
    AllIdentities,
    /// Every identity, lifting brute-force blocks too: the user was
    /// unblocked.
    AllIdentitiesUnblocked,
    /// Every identity of a user being deleted: the accounts Nexus created
    /// are deleted too, unless `keep_accounts`.
    AllIdentitiesDeleted { keep_accounts: bool },
    /// Only database identities: profile fields are Nexus's to keep only there.
    DatabaseIdentities,
}

/// Records a push for the user's identities (before a change to what Nexus
/// owns in Auth0: UPNs, links, profile, block; before the user is deleted).
pub async fn enqueue_user(conn: &mut Conn, user_id: &str, to: PushTo) -> Result<(), StoreError> {
    enqueue_user_readdressed(conn, user_id, to, false).await
}

/// `enqueue_user`; `readdressed`: the user's e-mail address changed too, and
/// goes to their database identities with the push.
pub async fn enqueue_user_readdressed(
    conn: &mut Conn,
    user_id: &str,
    to: PushTo,
    readdressed: bool,
) -> Result<(), StoreError> {
    let filter = match to {
        PushTo::DatabaseIdentities => " AND strategy = 'auth0'",
        _ => "",
    };
    let sql = format!(
        "SELECT idp_tenant_id, azo_user_id, provisioned, strategy FROM identities WHERE user_id = $1{filter}"
    );
    let targets = sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    for target in targets {
        let provisioned = target.int("provisioned")? != 0;
        let actions = AccountActions {
            lift_login_blocks: to == PushTo::AllIdentitiesUnblocked,
            delete_account: provisioned
                && to
                    == (PushTo::AllIdentitiesDeleted {
                        keep_accounts: false,
                    }),
            send_email: readdressed && target.text("strategy")? == "auth0",
        };
        enqueue_with(
            conn,
            target.int("idp_tenant_id")?,
            &target.text("azo_user_id")?,
            actions,
        )
        .await?;
    }
    Ok(())
}

fn item(row: &AnyRow) -> Result<PushItem, StoreError> {
    Ok(PushItem {
        id: row.int("id")?,
        idp_tenant_id: row.int("idp_tenant_id")?,
        azo_user_id: row.text("azo_user_id")?,
        version: row.int("version")?,
        attempts: row.int("attempts")?,
        claimed_by: row.text("claimed_by")?,
        actions: AccountActions {
            lift_login_blocks: row.int("lift_login_blocks")? != 0,
            delete_account: row.int("delete_account")? != 0,
            send_email: row.int("send_email")? != 0,
        },
    })
}

/// Claims up to `limit` due items for `owner` (a worker's token) for
/// `lease`; another worker does not see them until the lease ends.
pub async fn claim(
    conn: &mut Conn,
    owner: &str,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<PushItem>, StoreError> {
    let now = Timestamp::now();
    let skip_locked = crate::backend::skip_locked(conn);
    let sql = format!(
        "UPDATE push_outbox SET claimed_until = $2, claimed_by = $4 WHERE id IN (SELECT id FROM push_outbox \
         WHERE status = 'pending' AND due_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
         ORDER BY due_at, id LIMIT $3{skip_locked}) \
         RETURNING id, idp_tenant_id, azo_user_id, version, attempts, claimed_by, lift_login_blocks, \
         delete_account, send_email"
    );
    let rows = sqlx::query(&sql)
        .bind(now.to_text())
        .bind(now.plus(lease).to_text())
        .bind(limit)
        .bind(owner)
        .fetch_all(conn)
        .await?;
    rows.iter().map(item).collect()
}

/// Extends every claim `owner` still holds to `lease` from now; returns how
/// many it holds.
pub async fn renew(
    conn: &mut Conn,
    owner: &str,
    lease: std::time::Duration,
) -> Result<u64, StoreError> {
    let renewed = sqlx::query(
        "UPDATE push_outbox SET claimed_until = $2 WHERE claimed_by = $1 AND claimed_until IS NOT NULL",
    )
    .bind(owner)
    .bind(Timestamp::now().plus(lease).to_text())
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected())
}

/// Ends every claim, whoever holds it: for a start when no other process
/// can be pushing (SQLite), so that work a killed process held is taken up
/// at once. Returns how many claims there were.
pub async fn release_all(conn: &mut Conn) -> Result<u64, StoreError> {
    let released = sqlx::query(
        "UPDATE push_outbox SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL",
    )
    .execute(conn)
    .await?;
    Ok(released.rows_affected())
}

/// Ends every claim `owner` still holds (work it will not do after all).
pub async fn release_owned(conn: &mut Conn, owner: &str) -> Result<u64, StoreError> {
    let released = sqlx::query(
        "UPDATE push_outbox SET claimed_until = NULL, claimed_by = NULL WHERE claimed_by = $1",
    )
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(released.rows_affected())
}

/// Ends the item's claim if its worker still holds it.
async fn release(conn: &mut Conn, item: &PushItem) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE push_outbox SET claimed_until = NULL, claimed_by = NULL WHERE id = $1 AND claimed_by = $2",
    )
    .bind(item.id)
    .bind(&item.claimed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Done: removes the item unless it was recorded again meanwhile (then it is
/// released, to be pushed again with the newer state).
pub async fn complete(conn: &mut Conn, item: &PushItem) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM push_outbox WHERE id = $1 AND version = $2")
        .bind(item.id)
        .bind(item.version)
        .execute(&mut *conn)
        .await?;
    if deleted.rows_affected() == 0 {
        release(conn, item).await?;
    }
    Ok(())
}

/// A transient failure: try again at `retry_at`.
pub async fn retry_later(
    conn: &mut Conn,
    item: &PushItem,
    retry_at: Timestamp,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE push_outbox SET attempts = attempts + 1, due_at = $2, last_error = $3, claimed_until = NULL, \
         claimed_by = NULL, modified = $4 WHERE id = $1 AND claimed_by = $5",
    )
    .bind(item.id)
    .bind(retry_at.to_text())
    .bind(error)
    .bind(Timestamp::now().to_text())
    .bind(&item.claimed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// A permanent failure: kept for operators, not retried until recorded again
/// (a change recorded meanwhile is pushed instead: the claim just ends).
pub async fn fail(conn: &mut Conn, item: &PushItem, error: &str) -> Result<(), StoreError> {
    let failed = sqlx::query(
        "UPDATE push_outbox SET status = 'failed', attempts = attempts + 1, last_error = $3, claimed_until = NULL, \
         claimed_by = NULL, modified = $4 WHERE id = $1 AND version = $2",
    )
    .bind(item.id)
    .bind(item.version)
    .bind(error)
    .bind(Timestamp::now().to_text())
    .execute(&mut *conn)
    .await?;
    if failed.rows_affected() == 0 {
        release(conn, item).await?;
    }
    Ok(())
}

pub async fn failed(conn: &mut Conn) -> Result<Vec<FailedPush>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, idp_tenant_id, azo_user_id, attempts, last_error, modified FROM push_outbox \
         WHERE status = 'failed' ORDER BY modified DESC, id LIMIT 1000",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FailedPush {
                id: row.int("id")?,
                idp_tenant_id: row.int("idp_tenant_id")?,
                azo_user_id: row.text("azo_user_id")?,
                attempts: row.int("attempts")?,
                last_error: row.opt_text("last_error")?,
                modified: row.timestamp("modified")?,
            })
        })
        .collect()
}

/// Where the push of one Auth0 user stands, when it is not done: waiting
/// (`pending`, with the error of the last attempt if one failed) or failed
/// for good.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountPush {
    pub failed: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub modified: Timestamp,
}

/// The push work recorded for the Auth0 user; none once it is pushed.
pub async fn of_account(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
) -> Result<Option<AccountPush>, StoreError> {
    let row = sqlx::query(
        "SELECT status, attempts, last_error, modified FROM push_outbox \
         WHERE idp_tenant_id = $1 AND azo_user_id = $2",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(account_push).transpose()
}

/// The push of the Auth0 user if it failed for good, locked until the
/// transaction ends.
pub async fn lock_failed(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
) -> Result<Option<AccountPush>, StoreError> {
    let select = crate::backend::for_update(
        conn,
        "SELECT status, attempts, last_error, modified FROM push_outbox \
         WHERE idp_tenant_id = $1 AND azo_user_id = $2 AND status = 'failed'",
    );
    let row = sqlx::query(&select)
        .bind(tenant_id)
        .bind(azo_user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(account_push).transpose()
}

fn account_push(row: &AnyRow) -> Result<AccountPush, StoreError> {
    Ok(AccountPush {
        failed: row.text("status")? == "failed",
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        modified: row.timestamp("modified")?,
    })
}

/// What Auth0 refused of a push: the profile fields (the field it named,
/// if it named one, and why); `app_metadata` was pushed without them.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRefusal {
    pub idp_tenant_id: i32,
    pub azo_user_id: String,
    pub field: Option<String>,
    pub reason: String,
    pub refused_at: Timestamp,
}

/// Records (or replaces) the refusal of the Auth0 user's profile.
pub async fn record_refusal(
    conn: &mut Conn,
    item: &PushItem,
    field: Option<&str>,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO push_refusals (idp_tenant_id, azo_user_id, field, reason, refused_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (idp_tenant_id, azo_user_id) DO UPDATE SET field = excluded.field, reason = excluded.reason, \
         refused_at = excluded.refused_at",
    )
    .bind(item.idp_tenant_id)
    .bind(&item.azo_user_id)
    .bind(field)
    .bind(reason)
    .bind(Timestamp::now().to_text())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a refusal: Auth0 took a whole push for the user.
pub async fn clear_refusal(conn: &mut Conn, item: &PushItem) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM push_refusals WHERE idp_tenant_id = $1 AND azo_user_id = $2")
        .bind(item.idp_tenant_id)
        .bind(&item.azo_user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn refusals(conn: &mut Conn) -> Result<Vec<PushRefusal>, StoreError> {
    let rows = sqlx::query(
        "SELECT idp_tenant_id, azo_user_id, field, reason, refused_at FROM push_refusals \
         ORDER BY refused_at DESC, idp_tenant_id, azo_user_id LIMIT 1000",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PushRefusal {
                idp_tenant_id: row.int("idp_tenant_id")?,
                azo_user_id: row.text("azo_user_id")?,
                field: row.opt_text("field")?,
                reason: row.text("reason")?,
                refused_at: row.timestamp("refused_at")?,
            })
        })
        .collect()
}

/// How many items wait (pending) and how many failed for good.
pub async fn backlog(conn: &mut Conn) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM push_outbox WHERE status = 'pending') AS pending, \
         (SELECT count(*) FROM push_outbox WHERE status = 'failed') AS failed",
    )
    .fetch_one(conn)
    .await?;
    Ok((
        sqlx::Row::try_get(&row, "pending")?,
        sqlx::Row::try_get(&row, "failed")?,
    ))
}

/// What Nexus wants the Auth0 user to hold: the linked Nexus user (if any),
/// its keyed custom UPNs, whether the identity is a database one, and its
/// connection (the name, else the id).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredState {
    pub user: Option<nexus_core::user::UserRecord>,
    pub custom_upns: Vec<(String, String)>,
    pub database_identity: bool,
    pub connection: Option<String>,
}

pub async fn desired_state(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
) -> Result<DesiredState, StoreError> {
    let identity = sqlx::query(
        "SELECT user_id, strategy, azo_connection_id, azo_connection_name FROM identities \
         WHERE idp_tenant_id = $1 AND azo_user_id = $2",
    )
    .bind(tenant_id)
    .bind(azo_user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(identity) = identity else {
        return Ok(DesiredState {
            user: None,
            custom_upns: Vec::new(),
            database_identity: false,
            connection: None,
        });
    };
    let user_id = identity.text("user_id")?;
    let user = crate::users::get_record(conn, &user_id).await?;
    let upns = sqlx::query(
        "SELECT client_upn_key, custom_upn_value FROM custom_upns WHERE user_id = $1 AND client_upn_key IS NOT NULL \
         ORDER BY client_upn_key",
    )
    .bind(&user_id)
    .fetch_all(conn)
    .await?;
    Ok(DesiredState {
        user,
        custom_upns: upns
            .iter()
            .map(|r| Ok((r.text("client_upn_key")?, r.text("custom_upn_value")?)))
            .collect::<Result<_, StoreError>>()?,
        database_identity: identity.text("strategy")? == "auth0",
        connection: Some(match identity.opt_text("azo_connection_name")? {
            Some(name) => name,
            None => identity.text("azo_connection_id")?,
        }),
    })
}
