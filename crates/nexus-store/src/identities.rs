use std::collections::HashMap;

use nexus_core::identity::{Group, Identity, NewIdentity};
use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::{Actor, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{group_by_parent, ChildRows, RowExt};
use crate::{Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "i.id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "strategy",
            column: "i.strategy",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "azoUserId",
            column: "i.azo_user_id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "azoConnectionId",
            column: "i.azo_connection_id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "idpTenantId",
            column: "i.idp_tenant_id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "idpTenantName",
            column: "t.name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["azoUserId", "azoConnectionId", "idpTenantName"],
    id_field: "id",
};

pub(crate) const COLUMNS: &str =
    "i.id, i.strategy, i.azo_user_id, i.idp_tenant_id, i.azo_connection_id, i.azo_connection_name, \
    i.vanished_at, t.login_domain, t.azo_tenant_name, t.fqdn, t.name AS tenant_name";
pub(crate) const FROM: &str = "identities i JOIN idp_tenants t ON t.id = i.idp_tenant_id";

/// SQL: the identity `identity` (a table name or alias) is on `connection` (an
/// SQL expression), given as the Auth0 connection's id or name — the rule of
/// `nexus_core::identity::is_on_connection`.
pub(crate) fn on_connection(identity: &str, connection: &str) -> String {
    format!(
        "({identity}.azo_connection_id = {connection} OR {identity}.azo_connection_name = {connection})"
    )
}

pub(crate) fn from_row(row: &impl RowExt) -> Result<Identity, StoreError> {
    Ok(Identity {
        id: row.int("id")?,
        groups: Vec::new(),
        strategy: row.text("strategy")?,
        azo_user_id: row.text("azo_user_id")?,
        idp_tenant_id: row.int("idp_tenant_id")?,
        login_domain: row.opt_text("login_domain")?,
        azo_tenant_name: row.text("azo_tenant_name")?,
        idp_tenant_fqdn: row.text("fqdn")?,
        idp_tenant_name: row.text("tenant_name")?,
        azo_connection_id: row.text("azo_connection_id")?,
        missing_in_auth0_since: row.opt_timestamp("vanished_at")?,
    })
}

/// Links the user to the tenant, or updates the existing link with the given
/// values. A link that already has them is left untouched.
pub async fn upsert(
    conn: &mut Conn,
    user_id: &str,
    tenant_id: i32,
    new: &NewIdentity,
    actor: &Actor,
) -> Result<Identity, StoreError> {
    let now = Timestamp::now().to_text();
    sqlx::query(
        "INSERT INTO identities (user_id, idp_tenant_id, strategy, azo_user_id, azo_connection_id, \
         azo_connection_name, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $8, $6, $7, $6, $7) \
         ON CONFLICT (user_id, idp_tenant_id) DO UPDATE SET strategy = excluded.strategy, \
         azo_user_id = excluded.azo_user_id, azo_connection_id = excluded.azo_connection_id, \
         azo_connection_name = excluded.azo_connection_name, \
         provisioned = CASE WHEN identities.azo_user_id = excluded.azo_user_id THEN identities.provisioned ELSE 0 END, \
         vanished_at = CASE WHEN identities.azo_user_id = excluded.azo_user_id THEN identities.vanished_at ELSE NULL END, \
         modified = excluded.modified, modified_by = excluded.modified_by \
         WHERE identities.strategy <> excluded.strategy OR identities.azo_user_id <> excluded.azo_user_id \
         OR identities.azo_connection_id <> excluded.azo_connection_id \
         OR identities.azo_connection_name IS DISTINCT FROM excluded.azo_connection_name",
    )
    .bind(user_id)
    .bind(tenant_id)
    .bind(&new.strategy)
    .bind(&new.azo_user_id)
    .bind(&new.azo_connection_id)
    .bind(&now)
    .bind(&actor.id)
    .bind(&new.azo_connection_name)
    .execute(&mut *conn)
    .await?;
    get(conn, user_id, tenant_id)
        .await?
        .ok_or(StoreError::MissingReference)
}

/// Records that Nexus created the identity's Auth0 account, so that deleting
/// the user deletes the account too.
pub async fn mark_provisioned(
    conn: &mut Conn,
    user_id: &str,
    tenant_id: i32,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE identities SET provisioned = 1 WHERE user_id = $1 AND idp_tenant_id = $2")
        .bind(user_id)
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's identity in the tenant, with its groups.
pub async fn get(
    conn: &mut Conn,
    user_id: &str,
    tenant_id: i32,
) -> Result<Option<Identity>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE i.user_id = $1 AND i.idp_tenant_id = $2");
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut identity = from_row(&row)?;
    identity.groups = groups(conn, &[identity.id])
        .await?
        .remove(&identity.id)
        .unwrap_or_default();
    Ok(Some(identity))
}

/// The user that holds the identity in `tenant_id` with this Auth0 user id.
pub async fn owner_in_tenant(
    conn: &mut Conn,
    tenant_id: i32,
    azo_user_id: &str,
) -> Result<Option<String>, StoreError> {
    let row =
        sqlx::query("SELECT user_id FROM identities WHERE idp_tenant_id = $1 AND azo_user_id = $2")
            .bind(tenant_id)
            .bind(azo_user_id)
            .fetch_optional(conn)
            .await?;
    row.map(|r| r.text("user_id")).transpose()
}

/// The distinct users with an identity on this connection and Auth0 user id.
pub async fn users_by_connection(
    conn: &mut Conn,
    connection: &str,
    azo_user_id: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT user_id FROM identities WHERE {} AND azo_user_id = $2 ORDER BY user_id",
        on_connection("identities", "$1")
    );
    let rows = sqlx::query(&sql)
        .bind(connection)
        .bind(azo_user_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.text("user_id")).collect()
}

pub async fn list(
    conn: &mut Conn,
    user_id: &str,
    params: &ListParams,
) -> Result<Page<Identity>, StoreError> {
    let scope = [("i.user_id", Literal::Text(user_id.to_owned()))];
    let mut page = fetch_page(conn, &LIST, COLUMNS, FROM, &scope, params)
        .await?
        .try_map(from_row)?;
    attach_groups(conn, &mut page.items).await?;
    Ok(page)
}

async fn attach_groups(conn: &mut Conn, identities: &mut [Identity]) -> Result<(), StoreError> {
    let ids: Vec<i32> = identities.iter().map(|i| i.id).collect();
    let mut groups = groups(conn, &ids).await?;
    for identity in identities {
        identity.groups = groups.remove(&identity.id).unwrap_or_default();
    }
    Ok(())
}

/// The groups of each identity, by name.
pub(crate) const GROUP_COLUMNS: &str = "id, identity_id, group_name, expires";

pub(crate) fn group_from_row(row: &impl RowExt) -> Result<Group, StoreError> {
    let identity_id = row.int("identity_id")?;
    Ok(Group {
        id: row.int("id")?,
        expires: row.opt_timestamp("expires")?,
        group_name: row.text("group_name")?,
        identity_id,
        user_identity_id: identity_id,
    })
}

async fn groups(
    conn: &mut Conn,
    identity_ids: &[i32],
) -> Result<HashMap<i32, Vec<Group>>, StoreError> {
    let select = format!("SELECT {GROUP_COLUMNS} FROM identity_groups");
    let rows = ChildRows {
        select: &select,
        parent: "identity_id",
        order: "group_name",
    };
    group_by_parent(conn, rows, identity_ids, group_from_row, |g| g.identity_id).await
}

pub async fn delete(conn: &mut Conn, user_id: &str, tenant_id: i32) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM identities WHERE user_id = $1 AND idp_tenant_id = $2")
        .bind(user_id)
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
