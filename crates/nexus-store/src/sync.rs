//! The login-time writes of `$sync`: an identity's groups and a user's
//! attributes, changed only where they differ from what the IdP asserted.

use std::collections::BTreeSet;

use nexus_core::Timestamp;

use crate::rows::{placeholders, RowExt};
use crate::{Conn, StoreError};

/// What a login asserted that is not stored yet.
#[derive(Debug, Default, PartialEq)]
pub struct SyncPlan {
    pub remove_groups: Vec<i32>,
    pub add_groups: Vec<String>,
    /// (name, value) to insert or update.
    pub upsert_attributes: Vec<(String, String)>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.remove_groups.is_empty()
            && self.add_groups.is_empty()
            && self.upsert_attributes.is_empty()
    }
}

/// The user's identity on the connection, matched by Auth0 connection id or
/// name. With `lock`, the row stays locked until the transaction ends, so that
/// concurrent syncs of one identity apply one after the other.
pub async fn identity_on_connection(
    conn: &mut Conn,
    user_id: &str,
    connection: &str,
    lock: bool,
) -> Result<Option<i32>, StoreError> {
    // SQLite has a single writer already; PostgreSQL needs the row lock.
    let lock_clause = if lock && conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id FROM identities WHERE user_id = $1 AND (azo_connection_id = $2 OR azo_connection_name = $2) \
         ORDER BY id LIMIT 1{lock_clause}"
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(connection)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.int("id")).transpose()
}

/// Compares the stored groups and attributes with what the login asserted.
pub async fn plan(
    conn: &mut Conn,
    user_id: &str,
    identity_id: i32,
    groups: &BTreeSet<String>,
    attributes: &[(String, String)],
) -> Result<SyncPlan, StoreError> {
    let stored_groups =
        sqlx::query("SELECT id, group_name FROM identity_groups WHERE identity_id = $1")
            .bind(identity_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.int("id")?, row.text("group_name")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
    let mut stored_attributes = Vec::new();
    if !attributes.is_empty() {
        let sql = format!(
            "SELECT name, value FROM user_attributes WHERE user_id = $1 AND name IN ({})",
            placeholders(2, attributes.len())
        );
        let mut query = sqlx::query(&sql).bind(user_id);
        for (name, _) in attributes {
            query = query.bind(name);
        }
        stored_attributes = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.text("name")?, r.text("value")?)))
            .collect::<Result<_, StoreError>>()?;
    }
    Ok(plan_against(
        &stored_groups,
        &stored_attributes,
        groups,
        attributes,
    ))
}

/// The plan, from what is stored: the identity's groups as (id, name) and
/// the user's attributes as (name, value) — all of them or just the asserted.
pub fn plan_against(
    stored_groups: &[(i32, String)],
    stored_attributes: &[(String, String)],
    groups: &BTreeSet<String>,
    attributes: &[(String, String)],
) -> SyncPlan {
    let mut plan = SyncPlan::default();
    let mut kept: BTreeSet<&String> = BTreeSet::new();
    for (id, name) in stored_groups {
        if groups.contains(name) {
            kept.insert(name);
        } else {
            plan.remove_groups.push(*id);
        }
    }
    plan.add_groups = groups
        .iter()
        .filter(|g| !kept.contains(g))
        .cloned()
        .collect();
    plan.upsert_attributes = attributes
        .iter()
        .filter(|a| !stored_attributes.contains(a))
        .cloned()
        .collect();
    plan
}

/// Applies a plan made in the same transaction.
pub async fn apply(
    conn: &mut Conn,
    user_id: &str,
    identity_id: i32,
    plan: &SyncPlan,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    if !plan.remove_groups.is_empty() {
        let sql = format!(
            "DELETE FROM identity_groups WHERE id IN ({})",
            placeholders(1, plan.remove_groups.len())
        );
        let mut query = sqlx::query(&sql);
        for id in &plan.remove_groups {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    for name in &plan.add_groups {
        sqlx::query(
            "INSERT INTO identity_groups (identity_id, group_name, created) VALUES ($1, $2, $3)",
        )
        .bind(identity_id)
        .bind(name)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    for (name, value) in &plan.upsert_attributes {
        sqlx::query(
            "INSERT INTO user_attributes (user_id, name, value, created, modified) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified",
        )
        .bind(user_id)
        .bind(name)
        .bind(value)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
