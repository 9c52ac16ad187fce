//! The login-time writes of `$sync`: an identity's groups and a user's
//! attributes, changed only where they differ from what the IdP asserted.

use std::collections::{BTreeMap, BTreeSet};

use nexus_core::Timestamp;

use super::LoginView;
use crate::rows::{placeholders, RowExt};
use crate::{for_update, identities, Conn, StoreError};

/// The user's identity on the connection, matched by Auth0 connection id or
/// name, locked until the transaction ends, so that concurrent syncs of one
/// identity apply one after the other.
async fn lock_identity_on_connection(
    conn: &mut Conn,
    user_id: &str,
    connection: &str,
) -> Result<Option<i32>, StoreError> {
    let sql = for_update(
        conn,
        &format!(
            "SELECT id FROM identities WHERE user_id = $1 AND {} ORDER BY id LIMIT 1",
            identities::on_connection("identities", "$2")
        ),
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(connection)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.int("id")).transpose()
}

/// What a login that changes something writes: the identity's groups become
/// exactly `groups`, and the asserted attributes are upserted.
#[derive(Debug, Clone)]
pub struct LoginWrite {
    pub user_id: String,
    /// Auth0 connection id or name.
    pub connection: String,
    pub audience: String,
    pub groups: BTreeSet<String>,
    /// Value by name.
    pub attributes: BTreeMap<String, String>,
}

/// Writes one login in an open transaction and reads the user back for the
/// answer. `None`: the user has no identity on the connection (or no longer
/// exists), and nothing was written. The statements set the stored state
/// whatever it was — nothing read outside the lock is trusted — so a login
/// racing another one for the same identity still ends exactly as asserted.
pub async fn write_login(
    conn: &mut Conn,
    write: &LoginWrite,
) -> Result<Option<LoginView>, StoreError> {
    let Some(identity) =
        lock_identity_on_connection(conn, &write.user_id, &write.connection).await?
    else {
        return Ok(None);
    };
    let now = Timestamp::now().to_text();
    set_groups(conn, identity, &write.groups, &now).await?;
    upsert_attributes(conn, &write.user_id, &write.attributes, &now).await?;
    super::get(conn, &write.user_id, &write.audience, &write.connection).await
}

async fn set_groups(
    conn: &mut Conn,
    identity_id: i32,
    groups: &BTreeSet<String>,
    now: &str,
) -> Result<(), StoreError> {
    let keep = if groups.is_empty() {
        String::new()
    } else {
        format!(" AND group_name NOT IN ({})", placeholders(2, groups.len()))
    };
    let sql = format!("DELETE FROM identity_groups WHERE identity_id = $1{keep}");
    let mut query = sqlx::query(&sql).bind(identity_id);
    for name in groups {
        query = query.bind(name);
    }
    query.execute(&mut *conn).await?;
    if groups.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..groups.len())
        .map(|i| format!("($1, $2, ${})", i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO identity_groups (identity_id, created, group_name) VALUES {} \
         ON CONFLICT (identity_id, group_name) DO NOTHING",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(identity_id).bind(now);
    for name in groups {
        query = query.bind(name);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn upsert_attributes(
    conn: &mut Conn,
    user_id: &str,
    attributes: &BTreeMap<String, String>,
    now: &str,
) -> Result<(), StoreError> {
    if attributes.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..attributes.len())
        .map(|i| format!("($1, ${}, ${}, $2, $2)", 2 * i + 3, 2 * i + 4))
        .collect();
    // An unchanged value keeps its `modified`.
    let sql = format!(
        "INSERT INTO user_attributes (user_id, name, value, created, modified) VALUES {} \
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified \
         WHERE user_attributes.value <> excluded.value",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(user_id).bind(now);
    for (name, value) in attributes {
        query = query.bind(name).bind(value);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}
