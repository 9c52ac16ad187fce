//! The login-time writes of `$sync`: an identity's groups and a user's
//! attributes, changed only where they differ from what the IdP asserted.

use std::collections::{BTreeMap, BTreeSet};

use nexus_core::audit::NewAuditEvent;
use nexus_core::{login, Actor, Timestamp};

use crate::batch::{Batch, Value};
use crate::rows::{placeholders, RowExt};
use crate::{audit, for_update, identities, Backend, Conn, StoreError};

/// What a login finds under its locks: the identity on the connection, its
/// groups and the stored values of the attributes the login asserts.
struct Stored {
    identity_id: i32,
    idp_tenant_id: i32,
    groups: BTreeSet<String>,
    attributes: BTreeMap<String, String>,
}

/// Locks the user and its identity on the connection (by Auth0 connection
/// id or name) until the transaction ends, so that concurrent syncs of one
/// user apply one after the other; whether they exist. One statement locks
/// both, the user first (the order of its `FROM`): the order in which
/// linking and unlinking lock them too. PostgreSQL only: SQLite has no row
/// locks, its one writer runs each write transaction alone.
async fn lock(conn: &mut Conn, user_id: &str, connection: &str) -> Result<bool, StoreError> {
    let sql = for_update(
        conn,
        &format!(
            "SELECT i.id FROM users u JOIN identities i ON i.user_id = u.id \
             WHERE u.id = $1 AND {} ORDER BY i.id LIMIT 1",
            identities::on_connection("i", "$2")
        ),
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(connection)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// The first identity (by id) of the user on the connection, with its
/// groups and the asserted attributes' stored values, in one statement:
/// one row per group and per attribute, and one with neither when there
/// are none. Read after the locks, so nothing read before them is trusted.
async fn stored(
    conn: &mut Conn,
    user_id: &str,
    connection: &str,
    asserted: &BTreeMap<String, String>,
) -> Result<Option<Stored>, StoreError> {
    let mut sql = format!(
        "WITH identity AS (SELECT id, idp_tenant_id FROM identities \
         WHERE user_id = $1 AND {} ORDER BY id LIMIT 1) \
         SELECT i.id AS identity_id, i.idp_tenant_id, 'g' AS kind, g.group_name AS name, \
         NULL AS value FROM identity i LEFT JOIN identity_groups g ON g.identity_id = i.id",
        identities::on_connection("identities", "$2")
    );
    if !asserted.is_empty() {
        sql.push_str(&format!(
            " UNION ALL SELECT i.id, i.idp_tenant_id, 'a', a.name, a.value FROM identity i \
             JOIN user_attributes a ON a.user_id = $1 AND a.name IN ({})",
            placeholders(3, asserted.len())
        ));
    }
    let mut query = sqlx::query(&sql).bind(user_id).bind(connection);
    for name in asserted.keys() {
        query = query.bind(name);
    }
    let mut found: Option<Stored> = None;
    for row in query.fetch_all(&mut *conn).await? {
        let stored = match &mut found {
            Some(stored) => stored,
            None => found.insert(Stored {
                identity_id: row.int("identity_id")?,
                idp_tenant_id: row.int("idp_tenant_id")?,
                groups: BTreeSet::new(),
                attributes: BTreeMap::new(),
            }),
        };
        let Some(name) = row.opt_text("name")? else {
            continue;
        };
        if row.text("kind")? == "g" {
            stored.groups.insert(name);
        } else {
            stored.attributes.insert(name, row.text("value")?);
        }
    }
    Ok(found)
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
    /// The Auth0 client the user logs in through, if the login said.
    pub client: Option<String>,
}

/// Writes one login in an open transaction and records what it changed in
/// the audit trail (one event, in the same transaction). `false`: the user
/// has no identity on the connection (or no longer exists), and nothing was
/// written. What the login changes is read again under the locks — nothing
/// read before them is trusted — so a login racing another one still ends
/// exactly as asserted, and records exactly what it changed (nothing, when
/// the other one made the change first). The answer is read after the
/// commit (`Store::write_login`), off the single writer.
pub async fn write_login(conn: &mut Conn, write: &LoginWrite) -> Result<bool, StoreError> {
    if Backend::of(conn) == Backend::Postgres
        && !lock(conn, &write.user_id, &write.connection).await?
    {
        return Ok(false);
    }
    let Some(stored) = stored(conn, &write.user_id, &write.connection, &write.attributes).await?
    else {
        return Ok(false);
    };
    let changes = login::recorded_changes(
        stored.idp_tenant_id,
        &stored.groups,
        &stored.attributes,
        &write.groups,
        &write.attributes,
    );
    if !changes.is_empty() {
        let now = Timestamp::now();
        let stamp = now.to_text();
        let changed: Vec<(&String, &String)> = write
            .attributes
            .iter()
            .filter(|(name, value)| stored.attributes.get(*name) != Some(*value))
            .collect();
        let event = NewAuditEvent::success("user", &write.user_id).with_changes(changes);
        let mut batch = Batch::default();
        set_groups(
            &mut batch,
            stored.identity_id,
            &stored.groups,
            &write.groups,
            &stamp,
        );
        upsert_attributes(&mut batch, &write.user_id, &changed, &stamp);
        audit::add(&mut batch, conn, now, &write.actor, &event);
        batch.run(conn).await?;
    }
    Ok(true)
}

/// Makes the identity's groups `groups` from `stored`, what it has under
/// the locks: deletes the lost ones and inserts the gained ones, each
/// statement only when there are any.
fn set_groups<'a>(
    batch: &mut Batch<'a>,
    identity_id: i32,
    stored: &'a BTreeSet<String>,
    groups: &'a BTreeSet<String>,
    now: &'a str,
) {
    let lost: Vec<&String> = stored.difference(groups).collect();
    if !lost.is_empty() {
        let identity = batch.bind(Value::Int(identity_id));
        let names: Vec<String> = lost.iter().map(|n| batch.bind(Value::Text(n))).collect();
        batch.push(format!(
            "DELETE FROM identity_groups WHERE identity_id = {identity} AND group_name IN ({})",
            names.join(", ")
        ));
    }
    let gained: Vec<&String> = groups.difference(stored).collect();
    if !gained.is_empty() {
        let (identity, created) = (
            batch.bind(Value::Int(identity_id)),
            batch.bind(Value::Text(now)),
        );
        let rows: Vec<String> = gained
            .iter()
            .map(|name| format!("({identity}, {created}, {})", batch.bind(Value::Text(name))))
            .collect();
        batch.push(format!(
            "INSERT INTO identity_groups (identity_id, created, group_name) VALUES {} \
             ON CONFLICT (identity_id, group_name) DO NOTHING",
            rows.join(", ")
        ));
    }
}

/// Upserts the attributes whose values changed.
fn upsert_attributes<'a>(
    batch: &mut Batch<'a>,
    user_id: &'a str,
    attributes: &[(&'a String, &'a String)],
    now: &'a str,
) {
    if attributes.is_empty() {
        return;
    }
    let (user, stamp) = (
        batch.bind(Value::Text(user_id)),
        batch.bind(Value::Text(now)),
    );
    let rows: Vec<String> = attributes
        .iter()
        .map(|(name, value)| {
            let (name, value) = (
                batch.bind(Value::Text(name)),
                batch.bind(Value::Text(value)),
            );
            format!("({user}, {name}, {value}, {stamp}, {stamp})")
        })
        .collect();
    batch.push(format!(
        "INSERT INTO user_attributes (user_id, name, value, created, modified) VALUES {} \
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified",
        rows.join(", ")
    ));
}
