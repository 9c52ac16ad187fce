//! InviteOrganizationMember, and each row of an import of members (the
//! same function): the user with the address becomes a member, or a user is
//! created with it, a member of the organization.
//!
//! A new user is created in the invitation's IdP tenant, else the
//! organization's default one; where that tenant has Management
//! credentials it is a Database user with an Auth0 account that Auth0
//! e-mails a link to set its password (CreateUser's machinery), otherwise a
//! Nexus user only. An organization that requires domain verification
//! (the default) admits new users only with an address of one of its
//! verified domains; existing users are added whatever their address.
//!
//! The organization is locked while an invitation is decided and stored,
//! so that two invitations of one new address create one user; the unique
//! index on addresses turns a race across organizations into a retry that
//! finds the user.

use nexus_core::audit::resource_type;
use nexus_core::auth::Authority;
use nexus_core::idp_tenant::{IdpTenant, ManagementCredentials};
use nexus_core::invitation::{Invitation, InviteMemberBody, InviteResult};
use nexus_core::organization::{Membership, NewMember, Organization};
use nexus_core::user::{AccountOptions, NewUser, OrganizationRef};
use nexus_core::values::AuthenticationMethod;
use nexus_core::{new_text_id, Actor, ValidationErrors};
use nexus_store::{
    commit, idp_tenants, member_imports, memberships, organization_domains, organizations, users,
    Conn,
};

use crate::auth0::Use;
use crate::users::{insert_new, with_new_account, NewAccount};
use crate::{audit, grants, numeric_id, Nexus, Result, ServiceError};

const ORGANIZATION: &str = "organization";

/// What an invitation came to, and the membership (with its user).
#[derive(Debug, Clone)]
pub struct Invited {
    pub result: InviteResult,
    pub membership: Membership,
}

/// InviteOrganizationMember.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn invite(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    organization: &str,
    body: InviteMemberBody,
) -> Result<Invited> {
    let invitation = body.into_invitation()?;
    let organization_id = numeric_id(ORGANIZATION, organization)?;
    if invitation.make_admin {
        let mut conn = nexus.store().read_one().await?;
        grants::require_admin_role_held(nexus, &mut conn, authority).await?;
    }
    admit(nexus, actor, organization_id, &invitation, Record::Nothing).await
}

/// Where the result of an invitation is recorded besides its effect, in
/// the same transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record<'a> {
    Nothing,
    /// A row of a member import `owner` holds.
    ImportRow {
        job: &'a str,
        owner: &'a str,
        position: i64,
    },
}

impl Record<'_> {
    /// Records the result; false if the import is no longer `owner`'s.
    pub(crate) async fn write(
        &self,
        conn: &mut Conn,
        result: InviteResult,
        detail: Option<&str>,
    ) -> Result<bool> {
        match *self {
            Record::Nothing => Ok(true),
            Record::ImportRow {
                job,
                owner,
                position,
            } => Ok(member_imports::record_row(conn, job, owner, position, result, detail).await?),
        }
    }

    fn purpose(&self) -> Use {
        match self {
            Record::Nothing => Use::Request,
            Record::ImportRow { .. } => Use::Background,
        }
    }
}

/// An import's worker lost its job while applying a row.
pub(crate) const LOST: &str = "the import is held by another worker";

/// Applies an invitation in transactions of its own (and, for a new user
/// of a tenant with Management credentials, Auth0's account first). A
/// race with another creation of the same address is tried once more: it
/// then finds the user.
pub(crate) async fn admit(
    nexus: &Nexus,
    actor: &Actor,
    organization_id: i32,
    invitation: &Invitation,
    record: Record<'_>,
) -> Result<Invited> {
    let mut tried = false;
    loop {
        match admit_once(nexus, actor, organization_id, invitation, record).await {
            Err(ServiceError::Conflict(_)) if !tried => tried = true,
            outcome => return outcome,
        }
    }
}

async fn admit_once(
    nexus: &Nexus,
    actor: &Actor,
    organization_id: i32,
    invitation: &Invitation,
    record: Record<'_>,
) -> Result<Invited> {
    let mut tx = nexus.store().begin().await?;
    let organization = lock_organization(&mut tx, organization_id).await?;
    let (tenant, credentials) = match apply(&mut tx, actor, &organization, invitation, None).await?
    {
        Applied::Done(invited) => {
            finish(tx, &record, invited.result).await?;
            return Ok(invited);
        }
        Applied::NeedsAccount(tenant, credentials) => (tenant, credentials),
    };
    // No lock is held while Auth0 answers.
    drop(tx);
    let client = nexus
        .auth0()
        .client(&tenant, &credentials, record.purpose())?;
    let id = new_text_id();
    let client_id = invitation
        .client_id
        .clone()
        .unwrap_or_else(|| credentials.client_id.clone());
    let new = new_user(invitation, &tenant, organization_id, Some(client_id));
    let (user_id, tenant_id) = (id.as_str(), tenant.id);
    with_new_account(&client, &tenant, &id, &new, |identity| async move {
        let mut tx = nexus.store().begin().await?;
        let organization = lock_organization(&mut tx, organization_id).await?;
        let account = NewAccount {
            tenant_id,
            identity: &identity,
            provisioned: true,
        };
        match apply(
            &mut tx,
            actor,
            &organization,
            invitation,
            Some((user_id, account)),
        )
        .await?
        {
            Applied::Done(invited) => {
                finish(tx, &record, invited.result).await?;
                Ok(invited)
            }
            Applied::NeedsAccount(..) => Err(changed_meanwhile()),
        }
    })
    .await
}

async fn finish(tx: nexus_store::Tx, record: &Record<'_>, result: InviteResult) -> Result<()> {
    let mut tx = tx;
    if !record.write(&mut tx, result, None).await? {
        return Err(ServiceError::Upstream(LOST.to_owned()));
    }
    commit(tx).await?;
    Ok(())
}

fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict(
        "a user with this emailAddress was created meanwhile; nothing was changed".to_owned(),
    )
}

async fn lock_organization(conn: &mut Conn, id: i32) -> Result<Organization> {
    organizations::get_for_update(conn, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(ORGANIZATION, id.to_string()))
}

/// What applying an invitation came to.
pub(crate) enum Applied {
    Done(Invited),
    /// A new user whose tenant has Management credentials: its Auth0
    /// account must be made first (outside the transaction).
    NeedsAccount(IdpTenant, ManagementCredentials),
}

/// Decides and stores an invitation in the caller's transaction, the
/// organization locked. `account`: the id and Auth0 account made for a new
/// user; if the address has found a user meanwhile, that is a conflict
/// (the caller deletes the account and tries again).
pub(crate) async fn apply(
    conn: &mut Conn,
    actor: &Actor,
    organization: &Organization,
    invitation: &Invitation,
    account: Option<(&str, NewAccount<'_>)>,
) -> Result<Applied> {
    let email = invitation.email_address.as_str();
    if let Some(user_id) = users::id_by_email(conn, email).await? {
        if account.is_some() {
            return Err(changed_meanwhile());
        }
        return add_existing(
            conn,
            actor,
            organization.id,
            &user_id,
            invitation.make_admin,
        )
        .await
        .map(Applied::Done);
    }
    let tenant = destination(conn, organization, invitation).await?;
    if organization.is_domain_verification_required {
        let domain = invitation.domain();
        if !organization_domains::is_verified(conn, organization.id, &domain).await? {
            return Err(ServiceError::Inapplicable(ValidationErrors::single(
                "emailAddress",
                format!(
                    "'{domain}' is not a verified domain of organization '{}', which admits new users only with an address of a verified domain (isDomainVerificationRequired)",
                    organization.name
                ),
            )));
        }
    }
    let (id, account) = match account {
        Some((id, account)) => (id.to_owned(), Some(account)),
        None => match idp_tenants::credentials(conn, tenant.id).await? {
            Some(credentials) => return Ok(Applied::NeedsAccount(tenant, credentials)),
            None => (new_text_id(), None),
        },
    };
    let new = new_user(invitation, &tenant, organization.id, None);
    let user = insert_new(conn, actor, &id, &new, organization.id, account).await?;
    let mut membership = memberships::get(conn, organization.id, &id)
        .await?
        .ok_or_else(|| ServiceError::not_found("member", &id))?;
    membership.user = Some(Box::new(user));
    Ok(Applied::Done(Invited {
        result: InviteResult::Created,
        membership,
    }))
}

/// The tenant a new user is created in: the invitation's, else the
/// organization's default; 400 when neither names one, 422 when the
/// invitation's names none.
async fn destination(
    conn: &mut Conn,
    organization: &Organization,
    invitation: &Invitation,
) -> Result<IdpTenant> {
    if let Some(reference) = &invitation.idp_tenant {
        return idp_tenants::resolve(conn, reference).await?.ok_or_else(|| {
            ServiceError::Inapplicable(ValidationErrors::single(
                "idpTenantId",
                format!(
                    "no IdP tenant has the id, name, azoTenantName or loginDomain '{reference}'"
                ),
            ))
        });
    }
    let default = match organization.default_idp_tenant_id {
        Some(id) => idp_tenants::get(conn, id).await?,
        None => None,
    };
    default.ok_or_else(|| {
        ServiceError::Inapplicable(ValidationErrors::single(
            "idpTenantId",
            format!(
                "is required to create a user: no user has this emailAddress and organization '{}' has no defaultIdpTenantId",
                organization.name
            ),
        ))
    })
}

/// The existing user becomes a member (`Added`), or is one already
/// (`AlreadyMember`: `makeAdmin` then adds the admin role if it is
/// missing, and nothing else changes).
async fn add_existing(
    conn: &mut Conn,
    actor: &Actor,
    organization_id: i32,
    user_id: &str,
    make_admin: bool,
) -> Result<Invited> {
    let audited = format!("{organization_id}/{user_id}");
    if memberships::lock(conn, organization_id, user_id).await? {
        let before = with_user(conn, organization_id, user_id).await?;
        let admin = memberships::ORGANIZATION_ADMIN;
        if !make_admin || before.roles.iter().any(|r| r == admin) {
            return Ok(Invited {
                result: InviteResult::AlreadyMember,
                membership: before,
            });
        }
        memberships::add_role(conn, &before.id, admin, actor).await?;
        let after = with_user(conn, organization_id, user_id).await?;
        audit::record(
            conn,
            actor,
            resource_type::MEMBER,
            &audited,
            Some(&without_user(&before)),
            Some(&without_user(&after)),
        )
        .await?;
        return Ok(Invited {
            result: InviteResult::AlreadyMember,
            membership: after,
        });
    }
    let member = NewMember {
        user_id: user_id.to_owned(),
        is_mfa_required: false,
        is_guest: false,
        make_admin,
    };
    memberships::insert(conn, organization_id, &member, actor).await?;
    let membership = with_user(conn, organization_id, user_id).await?;
    audit::record(
        conn,
        actor,
        resource_type::MEMBER,
        &audited,
        None,
        Some(&without_user(&membership)),
    )
    .await?;
    Ok(Invited {
        result: InviteResult::Added,
        membership,
    })
}

/// The membership with its user embedded.
async fn with_user(conn: &mut Conn, organization_id: i32, user_id: &str) -> Result<Membership> {
    let mut membership = memberships::get(conn, organization_id, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("member", user_id))?;
    membership.user = users::get(conn, user_id).await?.map(Box::new);
    Ok(membership)
}

/// The membership as AddOrganizationMember audits it (without its user).
fn without_user(membership: &Membership) -> Membership {
    Membership {
        user: None,
        ..membership.clone()
    }
}

/// The user an invitation creates: a Database user of `tenant`, a member of
/// the organization, whose Auth0 account (when Nexus makes one) gets a
/// set-your-password e-mail returning to `client_id`.
fn new_user(
    invitation: &Invitation,
    tenant: &IdpTenant,
    organization_id: i32,
    client_id: Option<String>,
) -> NewUser {
    NewUser {
        authentication_method: AuthenticationMethod::Database,
        display_name: invitation.display_name(),
        idp_tenant: tenant.id.to_string(),
        organization: OrganizationRef::Id(organization_id),
        make_admin: invitation.make_admin,
        link: None,
        user_type: None,
        owner_id: None,
        picture: None,
        language: None,
        nickname: None,
        username: None,
        given_name: invitation.given_name.clone(),
        family_name: invitation.family_name.clone(),
        phone_number: None,
        phone_verified: false,
        email_address: Some(invitation.email_address.clone()),
        email_verified: false,
        is_mfa_disabled: invitation.is_mfa_disabled,
        mfa_enrollment_status: None,
        recovery_email_address: invitation.recovery_email_address.clone(),
        account: AccountOptions {
            forgot_password_client: client_id,
            ..AccountOptions::default()
        },
        roles: Vec::new(),
        applications: Vec::new(),
    }
}
