use nexus_core::identity::NewIdentity;
use nexus_core::organization::{NewMember, Organization};
use nexus_core::user::{CreateUserBody, OrganizationRef, PatchUserBody, User};
use nexus_core::validation::Check;
use nexus_core::{new_text_id, Actor};
use nexus_store::{
    commit, identities, idp_tenants, memberships, organizations, push, users, Conn, ListParams,
    Page,
};

use crate::{Nexus, Result, ServiceError};

const RESOURCE: &str = "user";

/// 404 unless the user exists.
pub(crate) async fn require_user(conn: &mut Conn, user_id: &str) -> Result<()> {
    if users::exists(conn, user_id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found(RESOURCE, user_id))
    }
}

/// CreateUser: the user, its membership of its organization and, with
/// `idpMetadata`, its identity in the tenant, in one transaction.
#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: CreateUserBody) -> Result<User> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;

    // References in the body: all checked, all reported together.
    let mut check = Check::new();
    let tenant = idp_tenants::resolve(&mut tx, &new.idp_tenant).await?;
    if tenant.is_none() {
        check.fail(
            "idpTenantId",
            format!(
                "no IdP tenant has the id, name, azoTenantName or loginDomain '{}'",
                new.idp_tenant
            ),
        );
    }
    let organization = find_organization(&mut tx, &new.organization).await?;
    if organization.is_none() {
        check.fail("organization", "no such organization");
    }
    if let Some(owner) = &new.owner_id {
        if !users::exists(&mut tx, owner).await? {
            check.fail("ownerId", format!("no user has the id '{owner}'"));
        }
    }
    check.finish()?;
    let (tenant, organization) = (tenant.expect("checked"), organization.expect("checked"));

    let id = new_text_id();
    users::insert(&mut tx, &id, &new, organization.id, actor).await?;
    let member = NewMember {
        user_id: id.clone(),
        is_mfa_required: false,
        is_guest: false,
        make_admin: new.make_admin,
    };
    memberships::insert(&mut tx, organization.id, &member, actor).await?;
    if let Some((azo_user_id, azo_connection_id)) = &new.link {
        let identity = NewIdentity {
            strategy: new.authentication_method.default_strategy().to_owned(),
            azo_user_id: azo_user_id.clone(),
            azo_connection_id: azo_connection_id.clone(),
        };
        identities::upsert(&mut tx, &id, tenant.id, &identity, actor).await?;
        push::enqueue(&mut tx, tenant.id, azo_user_id).await?;
    }
    let user = users::get(&mut tx, &id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, &id))?;
    commit(tx).await?;
    Ok(user)
}

async fn find_organization(
    conn: &mut Conn,
    reference: &OrganizationRef,
) -> Result<Option<Organization>> {
    Ok(match reference {
        OrganizationRef::Id(id) => organizations::get(conn, *id).await?,
        OrganizationRef::Name(name) => organizations::get_by_name(conn, name).await?,
        OrganizationRef::IdOrName(id, name) => match organizations::get(conn, *id).await? {
            Some(found) => Some(found),
            None => organizations::get_by_name(conn, name).await?,
        },
    })
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, user_id: &str) -> Result<User> {
    let mut tx = nexus.store().begin_read().await?;
    users::get(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<User>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(users::list(&mut tx, params).await?)
}

/// PatchUser: absent or null fields are left as they are.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    body: PatchUserBody,
) -> Result<User> {
    let changes = body.into_changes()?;
    let mut tx = nexus.store().begin().await?;
    let current = users::get_record(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))?;
    let updated = users::update(&mut tx, &current, &changes, actor).await?;
    if updated != current {
        // Profile fields are Nexus's to keep only on database identities.
        push::enqueue_user(&mut tx, user_id, true).await?;
    }
    let user = users::get(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))?;
    commit(tx).await?;
    Ok(user)
}

#[tracing::instrument(skip(nexus))]
pub async fn delete(nexus: &Nexus, user_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    push::enqueue_user(&mut tx, user_id, false).await?;
    if !users::delete(&mut tx, user_id).await? {
        return Err(ServiceError::not_found(RESOURCE, user_id));
    }
    commit(tx).await?;
    Ok(())
}

/// FindUserByConnection: the user holding the Auth0 account `azo_user_id` on
/// the connection. The same connection name can exist in several tenants; if
/// it matches accounts of different users the lookup is ambiguous (409).
#[tracing::instrument(skip(nexus))]
pub async fn find_by_connection(
    nexus: &Nexus,
    connection: &str,
    azo_user_id: &str,
) -> Result<User> {
    let mut tx = nexus.store().begin_read().await?;
    let found = identities::users_by_connection(&mut tx, connection, azo_user_id).await?;
    let not_found = || {
        ServiceError::not_found(
            RESOURCE,
            format!("azoConnectionId='{connection}',azoUserId='{azo_user_id}'"),
        )
    };
    match found.as_slice() {
        [] => Err(not_found()),
        [user_id] => users::get(&mut tx, user_id).await?.ok_or_else(not_found),
        _ => Err(ServiceError::Conflict(format!(
            "azoUserId '{azo_user_id}' on connection '{connection}' is linked to {} users in different IdP tenants",
            found.len()
        ))),
    }
}
