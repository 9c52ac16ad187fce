use std::collections::HashMap;

use nexus_core::organization::Membership;
use nexus_core::{new_text_id, Actor, Timestamp};

use crate::rows::{flag, placeholders, RowExt};
use crate::{Conn, StoreError};

/// The built-in membership role that makes a member an organization admin.
pub const ORGANIZATION_ADMIN: &str = "organization-admin";

/// Makes the user a member of the organization; returns the membership id.
pub async fn insert(
    conn: &mut Conn,
    organization_id: i32,
    user_id: &str,
    is_mfa_required: bool,
    actor: &Actor,
) -> Result<String, StoreError> {
    let id = new_text_id();
    let now = Timestamp::now().to_text();
    sqlx::query(
        "INSERT INTO memberships (id, organization_id, user_id, is_guest, is_mfa_required, \
         created, created_by, modified, modified_by) VALUES ($1, $2, $3, 0, $4, $5, $6, $5, $6)",
    )
    .bind(&id)
    .bind(organization_id)
    .bind(user_id)
    .bind(flag(is_mfa_required))
    .bind(&now)
    .bind(&actor.0)
    .execute(conn)
    .await?;
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
    .bind(&actor.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The memberships of each of `user_ids`, keyed by user id. Expired membership
/// roles are left out.
pub async fn for_users(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
    let mut by_user: HashMap<String, Vec<Membership>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(by_user);
    }
    let list = placeholders(1, user_ids.len());
    let sql = format!(
        "SELECT m.id, m.user_id, m.organization_id, m.is_guest, m.is_mfa_required, m.created, m.created_by, \
         m.modified, m.modified_by, o.name AS organization_name, o.display_name AS organization_display_name, \
         o.is_mfa_required AS organization_mfa_required \
         FROM memberships m JOIN organizations o ON o.id = m.organization_id \
         WHERE m.user_id IN ({list}) ORDER BY m.created, m.id"
    );
    let mut query = sqlx::query(&sql);
    for id in user_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;

    let roles_sql = format!(
        "SELECT r.membership_id, r.role_name FROM membership_roles r JOIN memberships m ON m.id = r.membership_id \
         WHERE m.user_id IN ({list}) AND (r.expires IS NULL OR r.expires > ${}) ORDER BY r.role_name",
        user_ids.len() + 1
    );
    let mut roles_query = sqlx::query(&roles_sql);
    for id in user_ids {
        roles_query = roles_query.bind(id);
    }
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    for row in roles_query
        .bind(Timestamp::now().to_text())
        .fetch_all(conn)
        .await?
    {
        roles
            .entry(row.text("membership_id")?)
            .or_default()
            .push(row.text("role_name")?);
    }

    for row in rows {
        let id = row.text("id")?;
        let own_mfa = row.flag("is_mfa_required")?;
        let membership = Membership {
            roles: roles.remove(&id).unwrap_or_default(),
            id,
            user: None,
            user_id: row.text("user_id")?,
            created: row.timestamp("created")?,
            is_guest: row.flag("is_guest")?,
            modified: row.timestamp("modified")?,
            created_by: row.text("created_by")?,
            modified_by: row.text("modified_by")?,
            is_mfa_required: own_mfa || row.flag("organization_mfa_required")?,
            organization_id: row.int("organization_id")?,
            organization_name: row.text("organization_name")?,
            is_membership_mfa_required: own_mfa,
            organization_display_name: row.text("organization_display_name")?,
        };
        by_user
            .entry(membership.user_id.clone())
            .or_default()
            .push(membership);
    }
    Ok(by_user)
}
