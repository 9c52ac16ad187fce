use std::collections::HashMap;

use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::organization::{Membership, NewMember};
use nexus_core::{new_text_id, Actor, Audit, Timestamp};

use crate::list::{bind_all, fetch_page, ListParams, Page};
use crate::rows::{flag, placeholders, RowExt};
use crate::{for_update, Conn, StoreError};

/// The built-in membership role that makes a member an organization admin.
pub const ORGANIZATION_ADMIN: &str = "organization-admin";

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "m.id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "userId",
            column: "m.user_id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "isGuest",
            column: "m.is_guest",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isMembershipMfaRequired",
            column: "m.is_mfa_required",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "m.created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["userId"],
    id_field: "id",
};

pub(crate) const COLUMNS: &str = "m.id, m.user_id, m.organization_id, m.is_guest, m.is_mfa_required, m.created, m.created_by, \
    m.modified, m.modified_by, o.name AS organization_name, o.display_name AS organization_display_name, \
    o.is_mfa_required AS organization_mfa_required";
pub(crate) const FROM: &str = "memberships m JOIN organizations o ON o.id = m.organization_id";

pub(crate) fn from_row(row: &impl RowExt) -> Result<Membership, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let own_mfa = row.flag("is_mfa_required")?;
    Ok(Membership {
        id: row.text("id")?,
        user: None,
        roles: Vec::new(),
        user_id: row.text("user_id")?,
        is_guest: row.flag("is_guest")?,
        is_mfa_required: own_mfa || row.flag("organization_mfa_required")?,
        organization_id: row.int("organization_id")?,
        organization_name: row.text("organization_name")?,
        is_membership_mfa_required: own_mfa,
        organization_display_name: row.text("organization_display_name")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Makes the user a member of the organization; returns the membership id.
pub async fn insert(
    conn: &mut Conn,
    organization_id: i32,
    new: &NewMember,
    actor: &Actor,
) -> Result<String, StoreError> {
    let id = new_text_id();
    let now = Timestamp::now().to_text();
    sqlx::query(
        "INSERT INTO memberships (id, organization_id, user_id, is_guest, is_mfa_required, \
         created, created_by, modified, modified_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7)",
    )
    .bind(&id)
    .bind(organization_id)
    .bind(&new.user_id)
    .bind(flag(new.is_guest))
    .bind(flag(new.is_mfa_required))
    .bind(&now)
    .bind(&actor.id)
    .execute(&mut *conn)
    .await?;
    if new.make_admin {
        add_role(conn, &id, ORGANIZATION_ADMIN, actor).await?;
    }
    Ok(id)
}

pub async fn add_role(
    conn: &mut Conn,
    membership_id: &str,
    role_name: &str,
    actor: &Actor,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO membership_roles (membership_id, role_name, created, created_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (membership_id, role_name) DO NOTHING",
    )
    .bind(membership_id)
    .bind(role_name)
    .bind(Timestamp::now().to_text())
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the membership's flags (`None` leaves one as it is).
pub async fn update_flags(
    conn: &mut Conn,
    membership_id: &str,
    is_mfa_required: Option<bool>,
    is_guest: Option<bool>,
    actor: &Actor,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE memberships SET is_mfa_required = COALESCE($1, is_mfa_required), \
         is_guest = COALESCE($2, is_guest), modified = $3, modified_by = $4 WHERE id = $5",
    )
    .bind(is_mfa_required.map(flag))
    .bind(is_guest.map(flag))
    .bind(Timestamp::now().to_text())
    .bind(&actor.id)
    .bind(membership_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the named membership roles (all when `names` is empty).
pub async fn remove_roles(
    conn: &mut Conn,
    membership_id: &str,
    names: &[String],
) -> Result<(), StoreError> {
    if names.is_empty() {
        sqlx::query("DELETE FROM membership_roles WHERE membership_id = $1")
            .bind(membership_id)
            .execute(conn)
            .await?;
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM membership_roles WHERE membership_id = $1 AND role_name IN ({})",
        placeholders(2, names.len())
    );
    let mut query = sqlx::query(&sql).bind(membership_id);
    for name in names {
        query = query.bind(name);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Whether the user is a member of the organization, locking the membership
/// until the transaction ends: what is read of it afterwards stays so.
pub async fn lock(
    conn: &mut Conn,
    organization_id: i32,
    user_id: &str,
) -> Result<bool, StoreError> {
    let sql = for_update(
        conn,
        "SELECT 1 AS one FROM memberships WHERE organization_id = $1 AND user_id = $2",
    );
    let row = sqlx::query(&sql)
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// The user's membership of the organization.
pub async fn get(
    conn: &mut Conn,
    organization_id: i32,
    user_id: &str,
) -> Result<Option<Membership>, StoreError> {
    let binds = [
        Literal::Integer(organization_id.into()),
        Literal::Text(user_id.to_owned()),
    ];
    Ok(
        select(conn, "m.organization_id = $1 AND m.user_id = $2", &binds)
            .await?
            .pop(),
    )
}

pub async fn list(
    conn: &mut Conn,
    organization_id: i32,
    params: &ListParams,
) -> Result<Page<Membership>, StoreError> {
    let scope = [(
        "m.organization_id",
        Literal::Integer(organization_id.into()),
    )];
    let mut page = fetch_page(conn, &LIST, COLUMNS, FROM, &scope, params)
        .await?
        .try_map(from_row)?;
    attach_roles(conn, &mut page.items).await?;
    Ok(page)
}

/// Ends a membership; the user's primary organization, if it was this one, is cleared.
pub async fn delete(
    conn: &mut Conn,
    organization_id: i32,
    user_id: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
        .bind(organization_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE users SET organization_id = NULL WHERE id = $1 AND organization_id = $2")
        .bind(user_id)
        .bind(organization_id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// The memberships of each of `organization_ids`, oldest first.
pub async fn of_organizations(
    conn: &mut Conn,
    organization_ids: &[i32],
) -> Result<HashMap<i32, Vec<Membership>>, StoreError> {
    let mut by_organization: HashMap<i32, Vec<Membership>> = HashMap::new();
    if organization_ids.is_empty() {
        return Ok(by_organization);
    }
    let condition = format!(
        "m.organization_id IN ({})",
        placeholders(1, organization_ids.len())
    );
    let binds: Vec<Literal> = organization_ids
        .iter()
        .map(|id| Literal::Integer((*id).into()))
        .collect();
    for membership in select(conn, &condition, &binds).await? {
        by_organization
            .entry(membership.organization_id)
            .or_default()
            .push(membership);
    }
    Ok(by_organization)
}

async fn select(
    conn: &mut Conn,
    condition: &str,
    binds: &[Literal],
) -> Result<Vec<Membership>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {condition} ORDER BY m.created, m.id");
    let rows = bind_all(sqlx::query(&sql), binds)
        .fetch_all(&mut *conn)
        .await?;
    let mut memberships = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach_roles(conn, &mut memberships).await?;
    Ok(memberships)
}

/// Fills in each membership's unexpired role names, a few hundred
/// memberships a query (a query has a bounded number of parameters).
async fn attach_roles(conn: &mut Conn, memberships: &mut [Membership]) -> Result<(), StoreError> {
    const CHUNK: usize = 500;
    let now = Timestamp::now().to_text();
    for chunk in memberships.chunks_mut(CHUNK) {
        let sql = format!(
            "SELECT membership_id, role_name FROM membership_roles WHERE membership_id IN ({}) \
             AND (expires IS NULL OR expires > ${}) ORDER BY role_name",
            placeholders(1, chunk.len()),
            chunk.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for membership in chunk.iter() {
            query = query.bind(&membership.id);
        }
        let mut roles: HashMap<String, Vec<String>> = HashMap::new();
        for row in query.bind(&now).fetch_all(&mut *conn).await? {
            roles
                .entry(row.text("membership_id")?)
                .or_default()
                .push(row.text("role_name")?);
        }
        for membership in chunk {
            membership.roles = roles.remove(&membership.id).unwrap_or_default();
        }
    }
    Ok(())
}
