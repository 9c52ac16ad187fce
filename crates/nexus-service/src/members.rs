use nexus_core::audit::resource_type;
use nexus_core::auth::Authority;
use nexus_core::organization::{
    AddMemberBody, Membership, NewMember, UpdateMemberBody, MEMBERSHIP_ROLES,
};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, memberships, organizations, users, Conn, ListParams, Page, StoreError};

use crate::{audit, grants, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::memberships::LIST;

const ORGANIZATION: &str = "organization";
const MEMBER: &str = "member";

/// Records a change of the membership, named `organizationId/userId` in the
/// audit trail.
async fn record(
    conn: &mut Conn,
    actor: &Actor,
    (organization_id, user_id): (i32, &str),
    before: Option<&Membership>,
    after: Option<&Membership>,
) -> Result<()> {
    let id = format!("{organization_id}/{user_id}");
    audit::record(conn, actor, resource_type::MEMBER, &id, before, after).await
}

/// The membership, locked until the transaction ends; 404 without one.
async fn lock_membership(
    conn: &mut Conn,
    organization_id: i32,
    user_id: &str,
) -> Result<Membership> {
    let not_found = || ServiceError::not_found(MEMBER, user_id);
    if !memberships::lock(conn, organization_id, user_id).await? {
        return Err(not_found());
    }
    memberships::get(conn, organization_id, user_id)
        .await?
        .ok_or_else(not_found)
}

async fn require_organization(conn: &mut Conn, id: &str) -> Result<i32> {
    let numeric = numeric_id(ORGANIZATION, id)?;
    match organizations::get(conn, numeric).await? {
        Some(organization) => Ok(organization.id),
        None => Err(ServiceError::not_found(ORGANIZATION, id)),
    }
}

/// AddOrganizationMember. A membership role gives the member the role of
/// Nexus's audience with the same name, so making an administrator needs
/// that role's permissions.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn add(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    organization: &str,
    body: AddMemberBody,
) -> Result<Membership> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    if new.make_admin {
        grants::require_admin_role_held(nexus, &mut tx, authority).await?;
    }
    let organization_id = require_organization(&mut tx, organization).await?;
    if !users::exists(&mut tx, &new.user_id).await? {
        return Err(ServiceError::Inapplicable(ValidationErrors::single(
            "userId",
            format!("no user has the id '{}'", new.user_id),
        )));
    }
    if let Err(error) = memberships::insert(&mut tx, organization_id, &new, actor).await {
        return Err(match error {
            // The organization or the user was deleted since it was read.
            StoreError::MissingReference => gone(nexus, organization, &new.user_id).await?,
            other => other.into(),
        });
    }
    let membership = memberships::get(&mut tx, organization_id, &new.user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MEMBER, &new.user_id))?;
    let member = (organization_id, new.user_id.as_str());
    record(&mut tx, actor, member, None, Some(&membership)).await?;
    commit(tx).await?;
    Ok(membership)
}

/// Makes the user a plain member (no role, not a guest) in the caller's
/// transaction, and audits it.
pub(crate) async fn insert_plain(
    conn: &mut Conn,
    actor: &Actor,
    organization_id: i32,
    user_id: &str,
) -> Result<Membership> {
    let member = NewMember {
        user_id: user_id.to_owned(),
        is_mfa_required: false,
        is_guest: false,
        make_admin: false,
    };
    memberships::insert(conn, organization_id, &member, actor).await?;
    let membership = memberships::get(conn, organization_id, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MEMBER, user_id))?;
    record(
        conn,
        actor,
        (organization_id, user_id),
        None,
        Some(&membership),
    )
    .await?;
    Ok(membership)
}

/// Which of the organization and the user is gone.
async fn gone(nexus: &Nexus, organization: &str, user_id: &str) -> Result<ServiceError> {
    let mut conn = nexus.store().read_one().await?;
    if let Err(missing) = require_organization(&mut conn, organization).await {
        return Ok(missing);
    }
    Ok(ServiceError::Inapplicable(ValidationErrors::single(
        "userId",
        format!("no user has the id '{user_id}'"),
    )))
}

/// GetOrganizationMembers; with `with_users`, each member embedded.
#[tracing::instrument(skip(nexus, params))]
pub async fn list(
    nexus: &Nexus,
    organization: &str,
    params: &ListParams,
    with_users: bool,
) -> Result<Page<Membership>> {
    let mut tx = nexus.store().begin_read().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    let mut page = memberships::list(&mut tx, organization_id, params).await?;
    if with_users {
        let ids: Vec<String> = page.items.iter().map(|m| m.user_id.clone()).collect();
        let mut users = users::get_many(&mut tx, &ids).await?;
        for membership in &mut page.items {
            membership.user = users.remove(&membership.user_id).map(Box::new);
        }
    }
    Ok(page)
}

/// GetOrganizationMember: the membership with the full user embedded.
#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, organization: &str, user_id: &str) -> Result<Membership> {
    let mut tx = nexus.store().begin_read().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    let mut membership = memberships::get(&mut tx, organization_id, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MEMBER, user_id))?;
    membership.user = users::get(&mut tx, user_id).await?.map(Box::new);
    Ok(membership)
}

/// UpdateOrganizationMember: the membership's MFA and guest flags. A
/// request that changes nothing writes nothing.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    user_id: &str,
    body: UpdateMemberBody,
) -> Result<Membership> {
    let mut tx = nexus.store().begin().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    let before = lock_membership(&mut tx, organization_id, user_id).await?;
    let mfa = body
        .is_mfa_required
        .filter(|v| *v != before.is_membership_mfa_required);
    let guest = body.is_guest.filter(|v| *v != before.is_guest);
    if mfa.is_none() && guest.is_none() {
        return Ok(before);
    }
    memberships::update_flags(&mut tx, &before.id, mfa, guest, actor).await?;
    let after = record_change(&mut tx, actor, &before).await?;
    commit(tx).await?;
    Ok(after)
}

/// Reads the membership `before` became and records the change.
async fn record_change(conn: &mut Conn, actor: &Actor, before: &Membership) -> Result<Membership> {
    let (organization_id, user_id) = (before.organization_id, before.user_id.as_str());
    let after = memberships::get(conn, organization_id, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(MEMBER, user_id))?;
    record(
        conn,
        actor,
        (organization_id, user_id),
        Some(before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn remove(nexus: &Nexus, actor: &Actor, organization: &str, user_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    let before = lock_membership(&mut tx, organization_id, user_id).await?;
    memberships::delete(&mut tx, organization_id, user_id).await?;
    record(
        &mut tx,
        actor,
        (organization_id, user_id),
        Some(&before),
        None,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// RemoveOrganizationMemberRole: removes the named membership roles, or all
/// of them when none is named.
#[tracing::instrument(skip(nexus, actor))]
pub async fn remove_roles(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    user_id: &str,
    roles: &[String],
) -> Result<()> {
    let unknown: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| !MEMBERSHIP_ROLES.contains(r))
        .collect();
    if !unknown.is_empty() {
        return Err(ValidationErrors::single(
            "roles",
            format!(
                "unsupported membership role {}; supported: {}",
                unknown.join(", "),
                MEMBERSHIP_ROLES.join(", ")
            ),
        )
        .into());
    }
    let mut tx = nexus.store().begin().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    let before = lock_membership(&mut tx, organization_id, user_id).await?;
    memberships::remove_roles(&mut tx, &before.id, roles).await?;
    record_change(&mut tx, actor, &before).await?;
    commit(tx).await?;
    Ok(())
}
