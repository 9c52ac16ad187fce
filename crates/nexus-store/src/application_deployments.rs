//! Application deployments and the users assigned to them.

use std::collections::HashMap;

use nexus_core::application_deployment::{
    ApplicationDeployment, DeploymentFields, DeploymentStatus, DeploymentUser, NewAssignment,
    NewDeployment, Offered,
};
use nexus_core::entitlement::Terms;
use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::subscription::SubscriptionStatus;
use nexus_core::{Actor, Audit, Timestamp};
use serde_json::Map;

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{flag, group_by_parent, ChildRows, RowExt};
use crate::{for_update, Backend, Conn, StoreError};

const fn field(name: &'static str, column: &'static str, kind: FieldKind) -> Field {
    Field {
        name,
        column,
        kind,
        sortable: true,
        nullable: false,
    }
}

pub static LIST: ListSpec = ListSpec {
    fields: &[
        field("id", "d.id", FieldKind::Integer),
        field("name", "d.name", FieldKind::Text),
        field("status", "d.status", FieldKind::Text),
        field("applicationId", "d.application_id", FieldKind::Integer),
        field("subscriptionId", "d.subscription_id", FieldKind::Integer),
        field("organizationId", "s.organization_id", FieldKind::Integer),
        field("created", "d.created", FieldKind::Timestamp),
    ],
    search: &["name"],
    id_field: "id",
};

pub(crate) const COLUMNS: &str = "d.id, d.application_id, d.subscription_id, d.name, d.display_name, \
    d.status, d.status_resolution, d.configuration, d.custom_metadata, d.max_user_count, d.expires, \
    d.created, d.created_by, d.modified, d.modified_by, s.organization_id AS organization_id, \
    d.user_count";
pub(crate) const FROM: &str =
    "application_deployments d JOIN subscriptions s ON s.id = d.subscription_id";

pub(crate) fn from_row(row: &impl RowExt) -> Result<ApplicationDeployment, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(ApplicationDeployment {
        id: row.int("id")?,
        name: row.text("name")?,
        steps: Vec::new(),
        status: DeploymentStatus::parse(&row.text("status")?).map_err(StoreError::Corrupt)?,
        application: None,
        display_name: row.text("display_name")?,
        max_user_count: row.opt_int("max_user_count")?,
        subscription: None,
        application_id: row.int("application_id")?,
        configuration: row.opt_text("configuration")?,
        custom_metadata: row.json_object("custom_metadata")?,
        subscription_id: row.int("subscription_id")?,
        deployment_target: None,
        readonly_metadata: Map::new(),
        status_resolution: row.opt_text("status_resolution")?,
        deployment_target_id: None,
        expires: row.opt_timestamp("expires")?,
        organization_id: row.int("organization_id")?,
        user_count: row.int("user_count")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

pub async fn insert(
    conn: &mut Conn,
    new: &NewDeployment,
    actor: &Actor,
) -> Result<ApplicationDeployment, StoreError> {
    let now = Timestamp::now().to_text();
    let f = &new.fields;
    let row = sqlx::query(
        "INSERT INTO application_deployments (application_id, subscription_id, name, display_name, \
         status, status_resolution, configuration, custom_metadata, max_user_count, expires, \
         created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $12) RETURNING id",
    )
    .bind(new.application_id)
    .bind(new.subscription_id)
    .bind(&f.name)
    .bind(&f.display_name)
    .bind(f.status.as_str())
    .bind(&f.status_resolution)
    .bind(&f.configuration)
    .bind(serde_json::Value::Object(f.custom_metadata.clone()).to_string())
    .bind(f.max_user_count)
    .bind(f.expires.map(|t| t.to_text()))
    .bind(&now)
    .bind(&actor.id)
    .fetch_one(&mut *conn)
    .await?;
    let id = row.int("id")?;
    get(conn, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("deployment {id} vanished after insert")))
}

pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<ApplicationDeployment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE d.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// `get`, locking the deployment (and so its user count and its room)
/// until the transaction ends.
pub async fn get_for_update(
    conn: &mut Conn,
    id: i32,
) -> Result<Option<ApplicationDeployment>, StoreError> {
    let sql = for_update(conn, "SELECT id FROM application_deployments WHERE id = $1");
    if sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    get(conn, id).await
}

pub async fn list(
    conn: &mut Conn,
    params: &ListParams,
) -> Result<Page<ApplicationDeployment>, StoreError> {
    fetch_page(conn, &LIST, COLUMNS, FROM, &[], params)
        .await?
        .try_map(from_row)
}

pub async fn update(
    conn: &mut Conn,
    id: i32,
    fields: &DeploymentFields,
    actor: &Actor,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE application_deployments SET name = $2, display_name = $3, status = $4, \
         status_resolution = $5, configuration = $6, custom_metadata = $7, max_user_count = $8, \
         expires = $9, modified = $10, modified_by = $11 WHERE id = $1",
    )
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.display_name)
    .bind(fields.status.as_str())
    .bind(&fields.status_resolution)
    .bind(&fields.configuration)
    .bind(serde_json::Value::Object(fields.custom_metadata.clone()).to_string())
    .bind(fields.max_user_count)
    .bind(fields.expires.map(|t| t.to_text()))
    .bind(Timestamp::now().to_text())
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the deployment and its users' assignments.
pub async fn delete(conn: &mut Conn, id: i32) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM application_deployments WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the application is deployed anywhere.
pub async fn any_of_application(conn: &mut Conn, application_id: i32) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM application_deployments WHERE application_id = $1")
        .bind(application_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Locks the deployments the user is assigned to, before the user's deletion
/// ends those assignments (a trigger then updates each deployment's user
/// count): deployments first, then memberships, the order in which an
/// assignment locks them, so that the two never wait on each other.
pub async fn lock_of_user(conn: &mut Conn, user_id: &str) -> Result<(), StoreError> {
    if Backend::of(conn) == Backend::Sqlite {
        // One writer at a time: there is no order to keep.
        return Ok(());
    }
    let sql = for_update(
        conn,
        "SELECT id FROM application_deployments WHERE id IN \
         (SELECT deployment_id FROM application_deployment_users WHERE user_id = $1)",
    );
    sqlx::query(&sql).bind(user_id).fetch_all(conn).await?;
    Ok(())
}

/// The organization's deployments, each with its application and the terms
/// of it and its subscription, by deployment id.
pub async fn offered_to(conn: &mut Conn, organization_id: i32) -> Result<Vec<Offered>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.id, d.application_id, a.name, d.status, d.expires, \
         s.status AS subscription_status, s.is_enabled, s.expires AS subscription_expires \
         FROM application_deployments d JOIN subscriptions s ON s.id = d.subscription_id \
         JOIN applications a ON a.id = d.application_id \
         WHERE s.organization_id = $1 ORDER BY d.id",
    )
    .bind(organization_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let status =
                DeploymentStatus::parse(&row.text("status")?).map_err(StoreError::Corrupt)?;
            let subscription_status = SubscriptionStatus::parse(&row.text("subscription_status")?)
                .map_err(StoreError::Corrupt)?;
            Ok(Offered {
                deployment_id: row.int("id")?,
                application_id: row.int("application_id")?,
                application_name: row.text("name")?,
                deployment: Terms::of_deployment(status, row.opt_timestamp("expires")?),
                subscription: Terms::of_subscription(
                    subscription_status,
                    row.flag("is_enabled")?,
                    row.opt_timestamp("subscription_expires")?,
                ),
            })
        })
        .collect()
}

const USER_COLUMNS: &str = "deployment_id, user_id, expires, is_active, metadata, \
    created, created_by, modified, modified_by";

pub(crate) fn user_from_row(row: &impl RowExt) -> Result<DeploymentUser, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(DeploymentUser {
        application_deployment_id: row.int("deployment_id")?,
        user_id: row.text("user_id")?,
        expires: row.opt_timestamp("expires")?,
        is_active: row.flag("is_active")?,
        metadata: row.json_object("metadata")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// The user's assignment to the deployment, if any.
pub async fn get_user(
    conn: &mut Conn,
    deployment_id: i32,
    user_id: &str,
) -> Result<Option<DeploymentUser>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM application_deployment_users \
         WHERE deployment_id = $1 AND user_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(deployment_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Assigns the user, or replaces the terms of its assignment.
pub async fn put_user(
    conn: &mut Conn,
    deployment_id: i32,
    new: &NewAssignment,
    actor: &Actor,
) -> Result<DeploymentUser, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO application_deployment_users ({USER_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7) \
         ON CONFLICT (deployment_id, user_id) DO UPDATE SET expires = excluded.expires, \
         is_active = excluded.is_active, metadata = excluded.metadata, \
         modified = excluded.modified, modified_by = excluded.modified_by \
         RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(deployment_id)
        .bind(&new.user_id)
        .bind(new.expires.map(|t| t.to_text()))
        .bind(flag(new.is_active))
        .bind(serde_json::Value::Object(new.metadata.clone()).to_string())
        .bind(&now)
        .bind(&actor.id)
        .fetch_one(conn)
        .await?;
    user_from_row(&row)
}

pub static USER_LIST: ListSpec = ListSpec {
    fields: &[
        field("userId", "user_id", FieldKind::Text),
        field("isActive", "is_active", FieldKind::Boolean),
        field("created", "created", FieldKind::Timestamp),
    ],
    search: &["userId"],
    id_field: "userId",
};

/// A page of the deployment's users.
pub async fn users(
    conn: &mut Conn,
    deployment_id: i32,
    params: &ListParams,
) -> Result<Page<DeploymentUser>, StoreError> {
    let scope = [("deployment_id", Literal::Integer(deployment_id.into()))];
    fetch_page(
        conn,
        &USER_LIST,
        USER_COLUMNS,
        "application_deployment_users",
        &scope,
        params,
    )
    .await?
    .try_map(user_from_row)
}

/// Ends the user's assignment; what it was.
pub async fn remove_user(
    conn: &mut Conn,
    deployment_id: i32,
    user_id: &str,
) -> Result<Option<DeploymentUser>, StoreError> {
    let sql = format!(
        "DELETE FROM application_deployment_users WHERE deployment_id = $1 AND user_id = $2 \
         RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(deployment_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The deployments under each of `subscription_ids`, by id.
pub async fn of_subscriptions(
    conn: &mut Conn,
    subscription_ids: &[i32],
) -> Result<HashMap<i32, Vec<ApplicationDeployment>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM {FROM}");
    let rows = ChildRows {
        select: &select,
        parent: "d.subscription_id",
        order: "d.id",
    };
    group_by_parent(conn, rows, subscription_ids, from_row, |d| {
        d.subscription_id
    })
    .await
}
