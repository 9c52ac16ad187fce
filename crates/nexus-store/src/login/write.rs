//! The login-time writes of `$sync`: an identity's groups and a user's
//! attributes, changed only where they differ from what the IdP asserted.

use std::collections::{BTreeMap, BTreeSet};

use nexus_core::audit::NewAuditEvent;
use nexus_core::{login, Actor, Timestamp};

use super::LoginView;
use crate::rows::{placeholders, RowExt};
use crate::{audit, for_update, identities, users, Backend, Conn, StoreError};

/// The identity a login writes to: its id and its IdP tenant.
struct LockedIdentity {
    id: i32,
    idp_tenant_id: i32,
}

/// The user's identity on the connection, matched by Auth0 connection id or
/// name, locked until the transaction ends, so that concurrent syncs of one
/// identity apply one after the other.
async fn lock_identity_on_connection(
    conn: &mut Conn,
    user_id: &str,
    connection: &str,
) -> Result<Option<LockedIdentity>, StoreError> {
    let sql = for_update(
        conn,
        &format!(
            "SELECT id, idp_tenant_id FROM identities WHERE user_id = $1 AND {} ORDER BY id LIMIT 1",
            identities::on_connection("identities", "$2")
        ),
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(connection)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(LockedIdentity {
            id: r.int("id")?,
            idp_tenant_id: r.int("idp_tenant_id")?,
        })
    })
    .transpose()
}

/// The identity's groups and the stored values of the attributes the login
/// asserts, in one statement; read under the locks of `write_login`.
async fn stored(
    conn: &mut Conn,
    identity_id: i32,
    user_id: &str,
    asserted: &BTreeMap<String, String>,
) -> Result<(BTreeSet<String>, BTreeMap<String, String>), StoreError> {
    let mut sql = "SELECT 'g' AS kind, group_name AS name, group_name AS value \
         FROM identity_groups WHERE identity_id = $1"
        .to_owned();
    if !asserted.is_empty() {
        sql.push_str(&format!(
            " UNION ALL SELECT 'a' AS kind, name, value FROM user_attributes \
             WHERE user_id = $2 AND name IN ({})",
            placeholders(3, asserted.len())
        ));
    }
    let mut query = sqlx::query(&sql).bind(identity_id);
    if !asserted.is_empty() {
        query = query.bind(user_id);
        for name in asserted.keys() {
            query = query.bind(name);
        }
    }
    let (mut groups, mut attributes) = (BTreeSet::new(), BTreeMap::new());
    for row in query.fetch_all(&mut *conn).await? {
        let name = row.text("name")?;
        if row.text("kind")? == "g" {
            groups.insert(name);
        } else {
            attributes.insert(name, row.text("value")?);
        }
    }
    Ok((groups, attributes))
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
    /// Who logs in, through which request: the audit event's actor.
    pub actor: Actor,
}

/// Writes one login in an open transaction, records what it changed in the
/// audit trail (one event, in the same transaction), and reads the user back
/// for the answer. `None`: the user has no identity on the connection (or no
/// longer exists), and nothing was written. What the login changes is read
/// again under the locks — nothing read before them is trusted — so a login
/// racing another one still ends exactly as asserted, and records exactly
/// what it changed (nothing, when the other one made the change first).
pub async fn write_login(
    conn: &mut Conn,
    write: &LoginWrite,
) -> Result<Option<LoginView>, StoreError> {
    // The user first (its attributes), then the identity (its groups): the
    // order in which linking and unlinking lock them too. SQLite has no row
    // locks: its one writer runs each write transaction alone.
    if Backend::of(conn) == Backend::Postgres && !users::lock(conn, &write.user_id).await? {
        return Ok(None);
    }
    let Some(identity) =
        lock_identity_on_connection(conn, &write.user_id, &write.connection).await?
    else {
        return Ok(None);
    };
    let (groups, attributes) = stored(conn, identity.id, &write.user_id, &write.attributes).await?;
    let changes = login::recorded_changes(
        identity.idp_tenant_id,
        &groups,
        &attributes,
        &write.groups,
        &write.attributes,
    );
    if !changes.is_empty() {
        let now = Timestamp::now().to_text();
        if groups != write.groups {
            set_groups(conn, identity.id, &write.groups, &now).await?;
        }
        if write
            .attributes
            .iter()
            .any(|(name, value)| attributes.get(name) != Some(value))
        {
            upsert_attributes(conn, &write.user_id, &write.attributes, &now).await?;
        }
        let event = NewAuditEvent::success("user", &write.user_id).with_changes(changes);
        audit::record(conn, &write.actor, &event).await?;
    }
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
