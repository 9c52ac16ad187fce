use nexus_core::audit::{self as audit_core, resource_type};
use nexus_core::auth::{Authority, Permissions};
use nexus_core::role::{ConnectionMap, ConnectionMapBody, NewRole, Role, RoleBody, UserRolesBody};
use nexus_core::user::UserRole;
use nexus_core::validation::Check;
use nexus_core::{Actor, Timestamp};
use nexus_store::{commit, roles, Conn, ListParams, Page};

use crate::users::lock_user;
use crate::{audit, grants, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::roles::{LIST, MAP_LIST};

const RESOURCE: &str = "role";
const MAP: &str = "connection map";

/// A connection map's id in the audit trail: `roleId/mapId`.
fn audited_map_id(role_id: &str, map_id: i32) -> String {
    format!("{role_id}/{map_id}")
}

/// Records a change of the roles given to the user directly, as a change of
/// the user's `roles`: who gave a person a role, and when, is then a filter
/// on the user.
async fn record_user_roles(
    conn: &mut Conn,
    actor: &Actor,
    user_id: &str,
    before: &[UserRole],
) -> Result<()> {
    let after = roles::assigned(conn, user_id).await?;
    let json = |roles: &[UserRole]| serde_json::to_value(roles).expect("roles serialize");
    let changes = audit_core::change_of("roles", json(before), json(&after));
    audit::record_changes(conn, actor, resource_type::USER, user_id, changes).await
}

async fn require_role(conn: &mut Conn, id: &str) -> Result<Role> {
    roles::get(conn, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Creates a role. A role of Nexus's audience may carry only permissions
/// its creator holds: its name alone can give it to organization members.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    body: RoleBody,
) -> Result<Role> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let role = insert_in(nexus, &mut tx, actor, authority, &new).await?;
    commit(tx).await?;
    Ok(role)
}

/// Creates a role in the caller's transaction (a product's developer role
/// with its product): the grant rule, the insert and the audit event.
pub(crate) async fn insert_in(
    nexus: &Nexus,
    conn: &mut Conn,
    actor: &Actor,
    authority: &Authority,
    new: &NewRole,
) -> Result<Role> {
    if new.audience == nexus.authenticator().nexus_audience() {
        grants::require_held(
            authority,
            &Permissions::from_codes(new.permissions.iter().cloned()),
        )?;
    }
    let role = roles::insert(conn, new, actor).await?;
    audit::record(
        conn,
        actor,
        resource_type::ROLE,
        &role.id,
        None,
        Some(&role),
    )
    .await?;
    Ok(role)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str) -> Result<Role> {
    let mut tx = nexus.store().begin_read().await?;
    require_role(&mut tx, id).await
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<Role>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(roles::list(&mut tx, params).await?)
}

/// Changes a role. A change of the name, audience or permissions that
/// leaves it a role of Nexus's audience needs every permission it then has.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    id: &str,
    body: RoleBody,
) -> Result<Role> {
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = roles::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let regrants =
        changes.name.is_some() || changes.audience.is_some() || changes.permissions.is_some();
    let audience = changes.audience.as_ref().unwrap_or(&current.audience);
    if regrants && audience == nexus.authenticator().nexus_audience() {
        let permissions = match &changes.permissions {
            Some(codes) => Permissions::from_codes(codes.iter().cloned()),
            None => Permissions::from_codes(current.permissions.iter().map(|p| p.code.clone())),
        };
        grants::require_held(authority, &permissions)?;
    }
    let updated = roles::update(&mut tx, &current, &changes, actor).await?;
    audit::record(
        &mut tx,
        actor,
        resource_type::ROLE,
        &current.id,
        Some(&current),
        Some(&updated),
    )
    .await?;
    commit(tx).await?;
    Ok(updated)
}

/// Deletes the role; its assignments and connection maps go with it.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let before = roles::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    roles::delete(&mut tx, id).await?;
    audit::record(&mut tx, actor, resource_type::ROLE, id, Some(&before), None).await?;
    commit(tx).await?;
    Ok(())
}

/// AddUserRole: gives the user every listed role (all must exist; roles of
/// Nexus's audience only with permissions the caller holds).
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn assign(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    user_id: &str,
    body: UserRolesBody,
) -> Result<()> {
    let assignment = body.into_assignment()?;
    let mut tx = nexus.store().begin().await?;
    // Locked: the user's roles read before are those the assignment changes.
    lock_user(&mut tx, user_id).await?;
    let mut check = Check::new();
    let found = find_all(&mut tx, &mut check, "value", &assignment.role_ids).await?;
    check.finish().map_err(ServiceError::Inapplicable)?;
    grants::require_roles_held(nexus, authority, &found)?;
    assign_in(
        &mut tx,
        actor,
        user_id,
        &assignment.role_ids,
        assignment.expires,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// The roles `ids` name; a failure on `field` in `check` names those that
/// do not exist.
pub(crate) async fn find_all(
    conn: &mut Conn,
    check: &mut Check,
    field: &str,
    ids: &[String],
) -> Result<Vec<Role>> {
    let found = roles::get_many(conn, ids).await?;
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !found.iter().any(|role| &role.id == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        check.fail(field, format!("no role has the id {}", missing.join(", ")));
    }
    Ok(found)
}

/// Gives the (locked or new) user the checked roles, and audits the change
/// of its roles, in the caller's transaction.
pub(crate) async fn assign_in(
    conn: &mut Conn,
    actor: &Actor,
    user_id: &str,
    role_ids: &[String],
    expires: Option<Timestamp>,
) -> Result<()> {
    let before = roles::assigned(conn, user_id).await?;
    roles::assign(conn, user_id, role_ids, expires, actor).await?;
    record_user_roles(conn, actor, user_id, &before).await
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn unassign(nexus: &Nexus, actor: &Actor, user_id: &str, role_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    lock_user(&mut tx, user_id).await?;
    let before = roles::assigned(&mut tx, user_id).await?;
    if !roles::unassign(&mut tx, user_id, role_id).await? {
        return Err(ServiceError::not_found("role assignment", role_id));
    }
    record_user_roles(&mut tx, actor, user_id, &before).await?;
    commit(tx).await?;
    Ok(())
}

/// Maps an IdP group to the role: a role of Nexus's audience only with
/// permissions the caller holds.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn create_map(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    role_id: &str,
    body: ConnectionMapBody,
) -> Result<ConnectionMap> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let role = require_role(&mut tx, role_id).await?;
    grants::require_roles_held(nexus, authority, [&role])?;
    let map = roles::insert_map(&mut tx, role_id, &new, actor).await?;
    let id = audited_map_id(role_id, map.id);
    audit::record(
        &mut tx,
        actor,
        resource_type::CONNECTION_MAP,
        &id,
        None,
        Some(&map),
    )
    .await?;
    commit(tx).await?;
    Ok(map)
}

#[tracing::instrument(skip(nexus))]
pub async fn get_map(nexus: &Nexus, role_id: &str, map_id: &str) -> Result<ConnectionMap> {
    let id = numeric_id(MAP, map_id)?;
    let mut tx = nexus.store().begin_read().await?;
    require_role(&mut tx, role_id).await?;
    roles::get_map(&mut tx, role_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MAP, map_id))
}

#[tracing::instrument(skip(nexus, params))]
pub async fn list_maps(
    nexus: &Nexus,
    role_id: &str,
    params: &ListParams,
) -> Result<Page<ConnectionMap>> {
    let mut tx = nexus.store().begin_read().await?;
    require_role(&mut tx, role_id).await?;
    Ok(roles::list_maps(&mut tx, role_id, params).await?)
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn delete_map(nexus: &Nexus, actor: &Actor, role_id: &str, map_id: &str) -> Result<()> {
    let id = numeric_id(MAP, map_id)?;
    let mut tx = nexus.store().begin().await?;
    require_role(&mut tx, role_id).await?;
    let before = roles::get_map_for_update(&mut tx, role_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MAP, map_id))?;
    roles::delete_map(&mut tx, role_id, id).await?;
    let audited = audited_map_id(role_id, id);
    audit::record(
        &mut tx,
        actor,
        resource_type::CONNECTION_MAP,
        &audited,
        Some(&before),
        None,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

pub use nexus_store::roles::RoleSource;

/// Why the user holds each of its roles (role id, source, expiry), for the
/// console.
pub async fn sources_of(
    nexus: &Nexus,
    user_id: &str,
) -> Result<Vec<(String, RoleSource, Option<nexus_core::Timestamp>)>> {
    let mut conn = nexus.store().read_one().await?;
    Ok(roles::sources_of(&mut conn, user_id).await?)
}
