use std::collections::HashMap;

use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::role::{
    ConnectionMap, HeldRole, NewConnectionMap, NewRole, Role, RoleChanges, RolePermission,
};
use nexus_core::user::UserRole;
use nexus_core::{new_text_id, Actor, Audit, Timestamp};
use sqlx::any::AnyRow;

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{placeholders, RowExt};
use crate::{for_update, identities, Conn, Lock, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "name",
            column: "name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "audience",
            column: "audience",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["name", "audience"],
    id_field: "id",
};

pub static MAP_LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "name",
            column: "name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "groupName",
            column: "group_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "azoConnectionId",
            column: "azo_connection_id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["name", "groupName", "azoConnectionId"],
    id_field: "id",
};

const COLUMNS: &str = "id, name, audience, description, created, created_by, modified, modified_by";
const MAP_COLUMNS: &str = "id, role_id, name, group_name, azo_connection_id, created, created_by";

fn from_row(row: &AnyRow) -> Result<Role, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(Role {
        id: row.text("id")?,
        name: row.text("name")?,
        audience: row.text("audience")?,
        description: row.opt_text("description")?,
        permissions: Vec::new(),
        created,
        created_by,
        modified,
        modified_by,
    })
}

fn map_from_row(row: &AnyRow) -> Result<ConnectionMap, StoreError> {
    Ok(ConnectionMap {
        id: row.int("id")?,
        name: row.opt_text("name")?,
        role_id: row.text("role_id")?,
        group_name: row.text("group_name")?,
        azo_connection_id: row.text("azo_connection_id")?,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
    })
}

pub async fn insert(conn: &mut Conn, new: &NewRole, actor: &Actor) -> Result<Role, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO roles (id, name, audience, description, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_text_id())
        .bind(&new.name)
        .bind(&new.audience)
        .bind(&new.description)
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(&mut *conn)
        .await?;
    let mut role = from_row(&row)?;
    set_permissions(conn, &role.id, &new.permissions).await?;
    role.permissions = permissions(conn, &[role.id.clone()])
        .await?
        .remove(&role.id)
        .unwrap_or_default();
    Ok(role)
}

/// Replaces the role's permissions, keeping the ids of those that stay.
async fn set_permissions(
    conn: &mut Conn,
    role_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    let current: Vec<String> = sqlx::query("SELECT code FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.text("code"))
        .collect::<Result<_, _>>()?;
    for gone in current.iter().filter(|c| !codes.contains(c)) {
        sqlx::query("DELETE FROM role_permissions WHERE role_id = $1 AND code = $2")
            .bind(role_id)
            .bind(gone)
            .execute(&mut *conn)
            .await?;
    }
    for new in codes.iter().filter(|c| !current.contains(c)) {
        sqlx::query("INSERT INTO role_permissions (role_id, code) VALUES ($1, $2)")
            .bind(role_id)
            .bind(new)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn permissions(
    conn: &mut Conn,
    role_ids: &[String],
) -> Result<HashMap<String, Vec<RolePermission>>, StoreError> {
    let mut by_role: HashMap<String, Vec<RolePermission>> = HashMap::new();
    if role_ids.is_empty() {
        return Ok(by_role);
    }
    let sql = format!(
        "SELECT id, role_id, code FROM role_permissions WHERE role_id IN ({}) ORDER BY code",
        placeholders(1, role_ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in role_ids {
        query = query.bind(id);
    }
    for row in query.fetch_all(conn).await? {
        let permission = RolePermission {
            code: row.text("code")?,
            role_id: row.text("role_id")?,
            permission_id: row.int("id")?,
        };
        by_role
            .entry(permission.role_id.clone())
            .or_default()
            .push(permission);
    }
    Ok(by_role)
}

async fn with_permissions(conn: &mut Conn, mut roles: Vec<Role>) -> Result<Vec<Role>, StoreError> {
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let mut permissions = permissions(conn, &ids).await?;
    for role in &mut roles {
        role.permissions = permissions.remove(&role.id).unwrap_or_default();
    }
    Ok(roles)
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Role>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM roles WHERE id = $1");
    fetch(conn, &sql, id).await
}

/// `get`, locking the role until the transaction ends (`for_update`); its
/// permissions are written only under that lock.
pub async fn get_for_update(conn: &mut Conn, id: &str) -> Result<Option<Role>, StoreError> {
    let sql = for_update(conn, &format!("SELECT {COLUMNS} FROM roles WHERE id = $1"));
    fetch(conn, &sql, id).await
}

async fn fetch(conn: &mut Conn, sql: &str, id: &str) -> Result<Option<Role>, StoreError> {
    let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(with_permissions(conn, vec![from_row(&row)?]).await?.pop())
}

/// The roles among `ids` that exist.
pub async fn get_many(conn: &mut Conn, ids: &[String]) -> Result<Vec<Role>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM roles WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let roles = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    with_permissions(conn, roles).await
}

/// The role of `audience` with this name, compared case-insensitively as
/// membership roles are.
pub async fn get_by_name(
    conn: &mut Conn,
    name: &str,
    audience: &str,
) -> Result<Option<Role>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM roles WHERE lower(name) = lower($1) AND audience = $2");
    let rows = sqlx::query(&sql)
        .bind(name)
        .bind(audience)
        .fetch_all(&mut *conn)
        .await?;
    let roles = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(with_permissions(conn, roles).await?.pop())
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Role>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "roles", &[], params).await?;
    let roles = page
        .items
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.with_items(with_permissions(conn, roles).await?))
}

/// Applies the changes that differ from `current` (read with
/// `get_for_update`); writes nothing when none do.
pub async fn update(
    conn: &mut Conn,
    current: &Role,
    changes: &RoleChanges,
    actor: &Actor,
) -> Result<Role, StoreError> {
    let name = changes.name.clone().unwrap_or_else(|| current.name.clone());
    let audience = changes
        .audience
        .clone()
        .unwrap_or_else(|| current.audience.clone());
    let description = changes
        .description
        .clone()
        .or_else(|| current.description.clone());
    let codes: Vec<String> = current.permissions.iter().map(|p| p.code.clone()).collect();
    let permissions_change = changes.permissions.as_ref().filter(|p| **p != codes);
    if name == current.name
        && audience == current.audience
        && description == current.description
        && permissions_change.is_none()
    {
        return Ok(current.clone());
    }
    sqlx::query(
        "UPDATE roles SET name = $2, audience = $3, description = $4, modified = $5, modified_by = $6 WHERE id = $1",
    )
    .bind(&current.id)
    .bind(&name)
    .bind(&audience)
    .bind(&description)
    .bind(Timestamp::now_after(current.modified).to_text())
    .bind(&actor.id)
    .execute(&mut *conn)
    .await?;
    if let Some(codes) = permissions_change {
        set_permissions(conn, &current.id, codes).await?;
    }
    get(conn, &current.id)
        .await?
        .ok_or(StoreError::MissingReference)
}

/// Deletes the role with its permissions, assignments and connection maps.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// The permission codes of the given roles together.
pub async fn permission_codes(
    conn: &mut Conn,
    role_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(permissions(conn, role_ids)
        .await?
        .into_values()
        .flatten()
        .map(|p| p.code)
        .collect())
}

/// Gives the user each role, or moves an existing assignment's expiry.
pub async fn assign(
    conn: &mut Conn,
    user_id: &str,
    role_ids: &[String],
    expires: Option<nexus_core::Timestamp>,
    actor: &Actor,
) -> Result<(), StoreError> {
    let now = Timestamp::now().to_text();
    let expires = expires.map(|t| t.to_text());
    for role_id in role_ids {
        sqlx::query(
            "INSERT INTO user_roles (user_id, role_id, expires, created, created_by, modified, modified_by) \
             VALUES ($1, $2, $3, $4, $5, $4, $5) ON CONFLICT (user_id, role_id) DO UPDATE SET \
             expires = excluded.expires, modified = excluded.modified, modified_by = excluded.modified_by \
             WHERE user_roles.expires IS DISTINCT FROM excluded.expires",
        )
        .bind(user_id)
        .bind(role_id)
        .bind(&expires)
        .bind(&now)
        .bind(&actor.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The roles given to the user directly (not through a group or a
/// membership), by role id, expired ones included: what `assign` and
/// `unassign` change.
pub async fn assigned(conn: &mut Conn, user_id: &str) -> Result<Vec<UserRole>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id, r.name, r.description, x.expires FROM user_roles x \
         JOIN roles r ON r.id = x.role_id WHERE x.user_id = $1 ORDER BY r.id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(UserRole {
                id: row.text("id")?,
                name: row.text("name")?,
                expires: row.opt_timestamp("expires")?,
                description: row.opt_text("description")?,
            })
        })
        .collect()
}

pub async fn unassign(conn: &mut Conn, user_id: &str, role_id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2")
        .bind(user_id)
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// The columns of `held_by`.
pub(crate) const HELD_COLUMNS: &str = "id, name, description, audience, expires";

/// Every way the user `user` (an SQL expression) holds a role, as one `FROM`
/// item of `HELD_COLUMNS`: assigned directly, through a connection map that
/// matches a group of one of its identities, or through a role of one of its
/// memberships (by name, case-insensitively). Expired ones are included:
/// `nexus_core::role::resolve` drops them, because a bound "now" in a range
/// condition would make SQLite re-plan the statement for every value.
pub(crate) fn held_by(user: &str) -> String {
    let columns = "r.id, r.name, r.description, r.audience, x.expires";
    let mapped = identities::on_connection("i", "cm.azo_connection_id");
    format!(
        "(SELECT {columns} FROM user_roles x JOIN roles r ON r.id = x.role_id WHERE x.user_id = {user} \
         UNION ALL SELECT {columns} FROM identities i JOIN identity_groups x ON x.identity_id = i.id \
           JOIN role_connection_maps cm ON cm.group_name = x.group_name AND {mapped} \
           JOIN roles r ON r.id = cm.role_id WHERE i.user_id = {user} \
         UNION ALL SELECT {columns} FROM memberships ms JOIN membership_roles x ON x.membership_id = ms.id \
           JOIN roles r ON lower(r.name) = lower(x.role_name) WHERE ms.user_id = {user}) held"
    )
}

/// Why a user holds a role: `held_by`'s three ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// Given to the user (`PUT /v1/users/{userId}/roles`).
    Assigned,
    /// Mapped from an IdP group of one of the user's accounts.
    Group { group_name: String },
    /// A role of the user's membership of the organization.
    Membership { organization_id: i32 },
}

/// Each role the user holds, once for each way it is held, with the expiry
/// of that way.
pub async fn sources_of(
    conn: &mut Conn,
    user_id: &str,
) -> Result<Vec<(String, RoleSource, Option<Timestamp>)>, StoreError> {
    let mapped = identities::on_connection("i", "cm.azo_connection_id");
    let sql = format!(
        "SELECT x.role_id AS role_id, 'assigned' AS source, CAST(NULL AS TEXT) AS group_name, \
           CAST(NULL AS INTEGER) AS organization_id, x.expires \
           FROM user_roles x WHERE x.user_id = $1 \
         UNION ALL SELECT cm.role_id, 'group', x.group_name, CAST(NULL AS INTEGER), x.expires FROM identities i \
           JOIN identity_groups x ON x.identity_id = i.id \
           JOIN role_connection_maps cm ON cm.group_name = x.group_name AND {mapped} WHERE i.user_id = $1 \
         UNION ALL SELECT r.id, 'membership', CAST(NULL AS TEXT), ms.organization_id, x.expires FROM memberships ms \
           JOIN membership_roles x ON x.membership_id = ms.id \
           JOIN roles r ON lower(r.name) = lower(x.role_name) WHERE ms.user_id = $1"
    );
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let source = match row.text("source")?.as_str() {
                "assigned" => RoleSource::Assigned,
                "group" => RoleSource::Group {
                    group_name: row.text("group_name")?,
                },
                _ => RoleSource::Membership {
                    organization_id: row.int("organization_id")?,
                },
            };
            Ok((row.text("role_id")?, source, row.opt_timestamp("expires")?))
        })
        .collect()
}

/// A row of `held_by`.
pub(crate) fn held_from_row(row: &impl RowExt) -> Result<HeldRole, StoreError> {
    Ok(HeldRole {
        role: UserRole {
            id: row.text("id")?,
            name: row.text("name")?,
            expires: row.opt_timestamp("expires")?,
            description: row.opt_text("description")?,
        },
        audience: row.text("audience")?,
    })
}

pub async fn insert_map(
    conn: &mut Conn,
    role_id: &str,
    new: &NewConnectionMap,
    actor: &Actor,
) -> Result<ConnectionMap, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO role_connection_maps (role_id, name, group_name, azo_connection_id, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $6) RETURNING {MAP_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(role_id)
        .bind(&new.name)
        .bind(&new.group_name)
        .bind(&new.azo_connection_id)
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    map_from_row(&row)
}

pub async fn get_map(
    conn: &mut Conn,
    role_id: &str,
    id: i32,
) -> Result<Option<ConnectionMap>, StoreError> {
    get_map_with(conn, role_id, id, Lock::No).await
}

/// `get_map`, locking the map until the transaction ends (`for_update`).
pub async fn get_map_for_update(
    conn: &mut Conn,
    role_id: &str,
    id: i32,
) -> Result<Option<ConnectionMap>, StoreError> {
    get_map_with(conn, role_id, id, Lock::ForUpdate).await
}

async fn get_map_with(
    conn: &mut Conn,
    role_id: &str,
    id: i32,
    lock: Lock,
) -> Result<Option<ConnectionMap>, StoreError> {
    let sql = lock.apply(
        conn,
        format!("SELECT {MAP_COLUMNS} FROM role_connection_maps WHERE id = $1 AND role_id = $2"),
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(role_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(map_from_row).transpose()
}

pub async fn list_maps(
    conn: &mut Conn,
    role_id: &str,
    params: &ListParams,
) -> Result<Page<ConnectionMap>, StoreError> {
    let scope = [("role_id", Literal::Text(role_id.to_owned()))];
    let page = fetch_page(
        conn,
        &MAP_LIST,
        MAP_COLUMNS,
        "role_connection_maps",
        &scope,
        params,
    )
    .await?;
    page.try_map(map_from_row)
}

pub async fn delete_map(conn: &mut Conn, role_id: &str, id: i32) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM role_connection_maps WHERE id = $1 AND role_id = $2")
        .bind(id)
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
