use nexus_core::application_deployment::choose;
use nexus_core::auth::Authority;
use nexus_core::identity::{Identity, NewIdentity};
use nexus_core::idp_tenant::IdpTenant;
use nexus_core::organization::{NewMember, Organization};
use nexus_core::user::{
    CreateUserBody, NewUser, OrganizationRef, PatchUserBody, User, UserChanges,
};
use nexus_core::validation::Check;
use nexus_core::values::AuthenticationMethod;
use nexus_core::{new_text_id, Actor, Timestamp};
use nexus_store::{
    application_deployments, commit, identities, idp_tenants, memberships, organizations, push,
    push::PushTo, users, Conn, ListParams, Page,
};

use crate::auth0::{self, Use};
use crate::{audit, grants, products, Nexus, Result, ServiceError};

pub use nexus_store::users::LIST;

const RESOURCE: &str = "user";

/// 404 unless the user exists.
pub(crate) async fn require_user(conn: &mut Conn, user_id: &str) -> Result<()> {
    if users::exists(conn, user_id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found(RESOURCE, user_id))
    }
}

/// `require_user`, locking the user until the transaction ends.
pub(crate) async fn lock_user(conn: &mut Conn, user_id: &str) -> Result<()> {
    if users::lock(conn, user_id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found(RESOURCE, user_id))
    }
}

/// CreateUser: the user, its membership of its organization and its identity
/// in the tenant, in one transaction. With `idpMetadata` the identity is the
/// given Auth0 account (checked first when the tenant has Management
/// credentials); without it, a Database user of such a tenant gets a new
/// Auth0 account, deleted again if the Nexus user cannot be stored.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    body: CreateUserBody,
) -> Result<User> {
    let mut new = body.into_new()?;
    if new.account.send_mfa_enrollment_email && new.mfa_enrollment_status.is_none() {
        new.mfa_enrollment_status = Some(nexus_core::mfa_enrollment::PENDING.to_owned());
    }
    let id = new_text_id();
    let asks = [
        (!new.roles.is_empty(), products::ROLE_WRITE),
        (!new.applications.is_empty(), DEPLOYMENT_USER_WRITE),
    ];
    for (asked, permission) in asks {
        if asked && !authority.allows(permission) {
            audit::record_denial(nexus, actor, RESOURCE, &id).await?;
            return Err(ServiceError::Lacks(permission));
        }
    }
    let (tenant, credentials) = {
        let mut tx = nexus.store().begin_read().await?;
        // Checked before any call to Auth0, and again when storing.
        let (tenant, organization) = check_references(&mut tx, &new).await?;
        check_assignments(nexus, &mut tx, authority, &new, organization.id).await?;
        if new.make_admin {
            grants::require_admin_role_held(nexus, &mut tx, authority).await?;
        }
        let credentials = idp_tenants::credentials(&mut tx, tenant.id).await?;
        (tenant, credentials)
    };
    let given = new
        .link
        .as_ref()
        .map(|(azo_user_id, azo_connection_id)| NewIdentity {
            strategy: new.authentication_method.default_strategy().to_owned(),
            azo_user_id: azo_user_id.clone(),
            azo_connection_id: azo_connection_id.clone(),
            azo_connection_name: None,
        });
    let Some(credentials) = credentials else {
        return store_new_user(nexus, actor, authority, &id, &new, given, false).await;
    };
    let client = nexus.auth0().client(&tenant, &credentials, Use::Request)?;
    match given {
        Some(given) => {
            let checked = auth0::verify_link(&client, &tenant, &given).await?;
            // Auth0 has verified the address the user is created with.
            let address = new.email_address.as_ref().map(|e| e.as_str());
            if checked.verified_email.is_some()
                && users::same_address(checked.verified_email.as_deref(), address)
            {
                new.email_verified = true;
            }
            let identity = Some(checked.identity);
            store_new_user(nexus, actor, authority, &id, &new, identity, false).await
        }
        None if new.authentication_method == AuthenticationMethod::Database => {
            with_new_account(&client, &tenant, &id, &new, |identity| {
                store_new_user(nexus, actor, authority, &id, &new, Some(identity), true)
            })
            .await
        }
        None => store_new_user(nexus, actor, authority, &id, &new, None, false).await,
    }
}

/// Creates the new user's Auth0 database account, has Auth0 send the
/// e-mails `new` asks for, and stores the user with `store`; the account is
/// deleted again if the e-mails or the store fail, so that a refusal
/// leaves nothing behind.
pub(crate) async fn with_new_account<T, F, Fut>(
    client: &::auth0::ManagementClient,
    tenant: &IdpTenant,
    id: &str,
    new: &NewUser,
    store: F,
) -> Result<T>
where
    F: FnOnce(NewIdentity) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let identity = auth0::provision(client, tenant, id, new).await?;
    let azo_user_id = identity.azo_user_id.clone();
    if let Err(error) = invite(client, tenant, new, &identity).await {
        auth0::deprovision(client, tenant, &azo_user_id).await;
        return Err(error);
    }
    let stored = store(identity).await;
    if stored.is_err() {
        auth0::deprovision(client, tenant, &azo_user_id).await;
    }
    stored
}

/// `sendForgotPasswordEmail` and `sendMfaEnrollmentEmail`: Auth0 e-mails
/// the new account a link to set its password, and one to enrol a second
/// factor, before the user is stored, so that a refusal creates nothing.
async fn invite(
    client: &::auth0::ManagementClient,
    tenant: &IdpTenant,
    new: &NewUser,
    identity: &NewIdentity,
) -> Result<()> {
    if new.account.send_mfa_enrollment_email {
        auth0::send_enrollment_email(client, tenant, &identity.azo_user_id).await?;
    }
    let (Some(app), Some(email)) = (&new.account.forgot_password_client, &new.email_address) else {
        return Ok(());
    };
    let connection = identity
        .azo_connection_name
        .as_deref()
        .unwrap_or(&identity.azo_connection_id);
    auth0::request_reset(client, tenant, &email.to_string(), connection, app).await
}

/// What CreateUser's `applications` assign besides `application.write`.
pub const DEPLOYMENT_USER_WRITE: &str = "application.deployment.user.write";

/// The roles CreateUser's `roles` name exist, and the caller holds what
/// those of Nexus's audience give; each of `applications` names one live
/// deployment in the organization. Answers those deployments' ids, each
/// once; every unknown role and application reported together.
async fn check_assignments(
    nexus: &Nexus,
    conn: &mut Conn,
    authority: &Authority,
    new: &NewUser,
    organization_id: i32,
) -> Result<Vec<i32>> {
    let mut check = Check::new();
    let found = crate::roles::find_all(conn, &mut check, "roles", &new.roles).await?;
    let mut chosen = Vec::new();
    if !new.applications.is_empty() {
        let offered = application_deployments::offered_to(conn, organization_id).await?;
        let now = Timestamp::now();
        for (i, reference) in new.applications.iter().enumerate() {
            match choose(&offered, reference, now) {
                Ok(id) if !chosen.contains(&id) => chosen.push(id),
                Ok(_) => {}
                Err(message) => check.fail(&format!("applications[{i}]"), message),
            }
        }
    }
    check.finish().map_err(ServiceError::Inapplicable)?;
    grants::require_roles_held(nexus, authority, &found)?;
    Ok(chosen)
}

/// The tenant and organization the body names, and its owner; every
/// missing reference reported together.
async fn check_references(conn: &mut Conn, new: &NewUser) -> Result<(IdpTenant, Organization)> {
    let mut check = Check::new();
    let tenant = idp_tenants::resolve(conn, &new.idp_tenant).await?;
    if tenant.is_none() {
        check.fail(
            "idpTenantId",
            format!(
                "no IdP tenant has the id, name, azoTenantName or loginDomain '{}'",
                new.idp_tenant
            ),
        );
    }
    let organization = find_organization(conn, &new.organization).await?;
    if organization.is_none() {
        check.fail("organization", "no such organization");
    }
    if let Some(owner) = &new.owner_id {
        if !users::exists(conn, owner).await? {
            check.fail("ownerId", format!("no user has the id '{owner}'"));
        }
    }
    check.finish().map_err(ServiceError::Inapplicable)?;
    Ok((tenant.expect("checked"), organization.expect("checked")))
}

async fn store_new_user(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    id: &str,
    new: &NewUser,
    identity: Option<NewIdentity>,
    provisioned: bool,
) -> Result<User> {
    let mut tx = nexus.store().begin().await?;
    // Checked again: the first check ran before the calls to Auth0.
    let (tenant, organization) = check_references(&mut tx, new).await?;
    let deployments = check_assignments(nexus, &mut tx, authority, new, organization.id).await?;
    if new.make_admin {
        grants::require_admin_role_held(nexus, &mut tx, authority).await?;
    }
    let account = identity.as_ref().map(|identity| NewAccount {
        tenant_id: tenant.id,
        identity,
        provisioned,
    });
    let mut user = insert_new(&mut tx, actor, id, new, organization.id, account).await?;
    if !new.roles.is_empty() {
        crate::roles::assign_in(&mut tx, actor, id, &new.roles, None).await?;
    }
    for deployment in &deployments {
        crate::application_deployments::assign_new_member(&mut tx, actor, *deployment, id).await?;
    }
    if !new.roles.is_empty() || !deployments.is_empty() {
        user = get_in(&mut tx, id).await?;
    }
    commit(tx).await?;
    Ok(user)
}

/// The Auth0 account a new user is created with.
pub(crate) struct NewAccount<'a> {
    pub tenant_id: i32,
    pub identity: &'a NewIdentity,
    /// Nexus created the account.
    pub provisioned: bool,
}

/// Inserts a checked new user with its membership of `organization_id` and
/// its account (linked, and pushed), and audits it, in the caller's
/// transaction.
pub(crate) async fn insert_new(
    conn: &mut Conn,
    actor: &Actor,
    id: &str,
    new: &NewUser,
    organization_id: i32,
    account: Option<NewAccount<'_>>,
) -> Result<User> {
    users::insert(conn, id, new, organization_id, actor).await?;
    let member = NewMember {
        user_id: id.to_owned(),
        is_mfa_required: false,
        is_guest: false,
        make_admin: new.make_admin,
    };
    memberships::insert(conn, organization_id, &member, actor).await?;
    if let Some(account) = account {
        let tenant_id = account.tenant_id;
        identities::upsert(conn, id, tenant_id, account.identity, actor).await?;
        if account.provisioned {
            identities::mark_provisioned(conn, id, tenant_id).await?;
            // Auth0 sent the verification e-mail as it created the account.
            if new.account.send_email_verification {
                users::mark_verification_sent(conn, id, Timestamp::now()).await?;
            }
        }
        push::enqueue(conn, tenant_id, &account.identity.azo_user_id).await?;
    }
    let user = get_in(conn, id).await?;
    audit::record(conn, actor, RESOURCE, id, None, Some(&user)).await?;
    Ok(user)
}

pub(crate) async fn find_organization(
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
    // One statement (two when the user has an owner): no transaction needed.
    users::read(nexus.store(), user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<User>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(users::list(&mut tx, params).await?)
}

/// The permission a password change needs besides `user.write`; `write`
/// does not imply it.
pub const PASSWORD_PERMISSION: &str = "user.password";

/// PatchUser: absent or null fields are left as they are. A `password` is
/// set on the user's Auth0 database account first — if Auth0 refuses it or
/// cannot be reached, nothing is changed — and is never stored.
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    user_id: &str,
    body: PatchUserBody,
) -> Result<User> {
    let password = body.password.clone();
    // The body is checked first: which permission it needs depends on it.
    let changes = body.into_changes()?;
    if password.is_some() && !authority.allows(PASSWORD_PERMISSION) {
        audit::record_denial(nexus, actor, RESOURCE, user_id).await?;
        return Err(ServiceError::Lacks(PASSWORD_PERMISSION));
    }
    if let Some(password) = &password {
        let (_, identity) = database_account(nexus, user_id).await?;
        auth0::set_password(nexus, &identity, password).await?;
    }
    apply(nexus, actor, user_id, changes, password.is_some()).await
}

/// SendUserPasswordReset: Auth0 e-mails the user a link to set a new
/// password of their database account, returning to the application
/// `client_id`. Nothing changes in Nexus; the request is audited.
#[tracing::instrument(skip(nexus, actor))]
pub async fn send_password_reset(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    client_id: Option<String>,
) -> Result<()> {
    let mut check = Check::new();
    let client_id = check.required_text("clientId", client_id, CLIENT_ID);
    check.finish()?;
    let client_id = client_id.expect("checked");
    let (_, identity) = database_account(nexus, user_id).await?;
    auth0::send_password_reset(nexus, &identity, &client_id).await?;
    let mut tx = nexus.store().begin().await?;
    let mut changes = nexus_core::audit::Changes::new();
    changes.insert(
        "passwordResetSentFor".to_owned(),
        nexus_core::audit::Change {
            before: serde_json::Value::Null,
            after: serde_json::Value::String(client_id),
        },
    );
    audit::record_changes(&mut tx, actor, RESOURCE, user_id, changes).await?;
    commit(tx).await?;
    Ok(())
}

/// SendUserEmailVerification: Auth0 e-mails the user's database account a
/// link that verifies its address, and the user's
/// `email-verify-sent-date` becomes now (its status `Pending`). A verified
/// address is not verified again (409).
#[tracing::instrument(skip(nexus, actor))]
pub async fn send_email_verification(nexus: &Nexus, actor: &Actor, user_id: &str) -> Result<()> {
    let (user, identity) = database_account(nexus, user_id).await?;
    if user.email_verified {
        return Err(ServiceError::Conflict(format!(
            "user '{user_id}' has verified their e-mail address already"
        )));
    }
    auth0::send_verification_email(nexus, &identity).await?;
    let sent = UserChanges {
        email_verify_sent_date: Some(Timestamp::now()),
        ..UserChanges::default()
    };
    apply(nexus, actor, user_id, sent, false).await?;
    Ok(())
}

/// An Auth0 application's client id, as the reset names it.
const CLIENT_ID: nexus_core::validation::Len = nexus_core::validation::Len::between(1, 100);

/// The user and their Auth0 database account (`auth0` strategy), whose
/// password and address Nexus can manage; 404 without the user, 409
/// without such an account.
async fn database_account(nexus: &Nexus, user_id: &str) -> Result<(User, Identity)> {
    let user = get(nexus, user_id).await?;
    let identity = user
        .identities
        .iter()
        .find(|identity| identity.strategy == "auth0")
        .cloned()
        .ok_or_else(|| {
            ServiceError::Conflict(format!(
                "user '{user_id}' has no Auth0 database account: its password is its IdP's"
            ))
        })?;
    Ok((user, identity))
}

/// Writes checked changes to a user, locked while it is read and written,
/// with their push to Auth0 and their audit event: PatchUser's write, and
/// UpdateMeProfile's. `password_set`: the event says the password changed
/// (it was set in Auth0 just before), never what it is.
pub(crate) async fn apply(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    changes: UserChanges,
    password_set: bool,
) -> Result<User> {
    let mut tx = nexus.store().begin().await?;
    let mut recorded = nexus_core::audit::Changes::new();
    if password_set {
        recorded.insert("password".to_owned(), nexus_core::audit::Change::redacted());
    }
    let user = apply_in(&mut tx, actor, user_id, &changes, recorded).await?;
    commit(tx).await?;
    Ok(user)
}

/// `apply` in the caller's transaction; `recorded` adds to what the audit
/// event records besides the user's changed fields.
pub(crate) async fn apply_in(
    tx: &mut Conn,
    actor: &Actor,
    user_id: &str,
    changes: &UserChanges,
    recorded: nexus_core::audit::Changes,
) -> Result<User> {
    let current = users::get_record_for_update(tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))?;
    let before = get_in(tx, user_id).await?;
    let updated = users::update(tx, &current, changes, actor).await?;
    if updated != current {
        // The block is Nexus's on every identity, profile fields and the
        // address only on database identities.
        let to = match (current.is_active, updated.is_active) {
            (false, true) => PushTo::AllIdentitiesUnblocked,
            (true, false) => PushTo::AllIdentities,
            _ => PushTo::DatabaseIdentities,
        };
        let readdressed = updated.email_address != current.email_address;
        push::enqueue_user_readdressed(tx, user_id, to, readdressed).await?;
    }
    let user = get_in(tx, user_id).await?;
    let mut changes = audit::changes(Some(&before), Some(&user));
    changes.extend(recorded);
    audit::record_changes(tx, actor, RESOURCE, user_id, changes).await?;
    Ok(user)
}

/// Auth0 holds `address` verified for an account being linked to the user:
/// if it is the user's address, the user's is verified too (audited as the
/// user's change).
pub(crate) async fn learn_verified_address(
    conn: &mut Conn,
    actor: &Actor,
    user_id: &str,
    address: &str,
) -> Result<()> {
    let before = get_in(conn, user_id).await?;
    if users::mark_email_verified(conn, user_id, address).await? {
        let after = get_in(conn, user_id).await?;
        audit::record(conn, actor, RESOURCE, user_id, Some(&before), Some(&after)).await?;
    }
    Ok(())
}

/// The user as the API shows it, read in the transaction.
async fn get_in(conn: &mut Conn, user_id: &str) -> Result<User> {
    users::get(conn, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, user_id))
}

/// Deletes the user; the Auth0 accounts Nexus created for it are deleted
/// too (through the outbox) unless `keep_auth0_accounts`, and the others
/// lose Nexus's `app_metadata` keys.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(
    nexus: &Nexus,
    actor: &Actor,
    user_id: &str,
    keep_auth0_accounts: bool,
) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    lock_user(&mut tx, user_id).await?;
    let before = get_in(&mut tx, user_id).await?;
    let to = PushTo::AllIdentitiesDeleted {
        keep_accounts: keep_auth0_accounts,
    };
    push::enqueue_user(&mut tx, user_id, to).await?;
    application_deployments::lock_of_user(&mut tx, user_id).await?;
    users::delete(&mut tx, user_id).await?;
    audit::record(&mut tx, actor, RESOURCE, user_id, Some(&before), None).await?;
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
