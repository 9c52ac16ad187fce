//! An organization's ids in other systems.

use std::collections::HashMap;

use nexus_core::organization_alias::{NewAlias, OrganizationAlias};
use nexus_core::{Actor, Timestamp};

use crate::rows::{group_by_parent, ChildRows, RowExt};
use crate::{Conn, StoreError};

const COLUMNS: &str = "organization_id, system_name, system_id, created, created_by";

fn from_row(row: &impl RowExt) -> Result<OrganizationAlias, StoreError> {
    Ok(OrganizationAlias {
        created: row.timestamp("created")?,
        system_id: row.text("system_id")?,
        system_name: row.text("system_name")?,
        organization_id: row.int("organization_id")?,
        created_by: row.text("created_by")?,
    })
}

/// Adds the alias; `StoreError::Conflict` when the pair is taken,
/// `MissingReference` when the organization is gone.
pub async fn insert(
    conn: &mut Conn,
    organization_id: i32,
    new: &NewAlias,
    actor: &Actor,
) -> Result<OrganizationAlias, StoreError> {
    let sql = format!(
        "INSERT INTO organization_aliases ({COLUMNS}) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(organization_id)
        .bind(new.system_name.as_str())
        .bind(&new.system_id)
        .bind(Timestamp::now().to_text())
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

/// The alias `(system_name, system_id)`, whichever organization has it.
pub async fn find(
    conn: &mut Conn,
    system_name: &str,
    system_id: &str,
) -> Result<Option<OrganizationAlias>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM organization_aliases \
         WHERE lower(system_name) = lower($1) AND system_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(system_name)
        .bind(system_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The aliases of each of `organization_ids`, by system name and id.
pub async fn of(
    conn: &mut Conn,
    organization_ids: &[i32],
) -> Result<HashMap<i32, Vec<OrganizationAlias>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM organization_aliases");
    let rows = ChildRows {
        select: &select,
        parent: "organization_id",
        order: "organization_id, lower(system_name), system_id",
    };
    group_by_parent(conn, rows, organization_ids, from_row, |a| {
        a.organization_id
    })
    .await
}

/// Deletes the organization's alias; whether there was one.
pub async fn delete(
    conn: &mut Conn,
    organization_id: i32,
    system_name: &str,
    system_id: &str,
) -> Result<Option<OrganizationAlias>, StoreError> {
    let sql = format!(
        "DELETE FROM organization_aliases \
         WHERE organization_id = $1 AND lower(system_name) = lower($2) AND system_id = $3 \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(organization_id)
        .bind(system_name)
        .bind(system_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}
