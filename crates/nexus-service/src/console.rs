//! The administration console's sessions: signing in with an API key or as
//! a user (through Auth0, `console_auth0`), finding the live session a
//! request's cookie names, signing out.

use std::net::IpAddr;

use nexus_core::audit::resource_type::CONSOLE_SESSION;
use nexus_core::audit::ActorType;
use nexus_core::auth::{ApiKey, Authority, Permissions};
use nexus_core::console::{ConsoleSession, SessionKind};
use nexus_core::user::User;
use nexus_core::{Actor, Timestamp};
use nexus_store::{api_keys, commit, console_sessions, identities};

use crate::auth::{random_token, secret_hash, AuthError, Credentials, FailureKey, Principal};
use crate::{audit, Nexus, Result, ServiceError};

/// The operation ids the audit trail records for console sign-ins and
/// sign-outs (they are not API operations).
pub const SIGN_IN: &str = "ConsoleSignIn";
pub const SIGN_OUT: &str = "ConsoleSignOut";

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failed authentications with this key id from this address
    /// (the API's own throttle): the seconds to wait.
    #[error("too many failed sign-ins; retry in {0} s")]
    Throttled(u64),
    /// The key is unknown, its secret wrong, or it is revoked or expired;
    /// which one is not told.
    #[error("the API key id or secret is wrong, or the key is revoked or expired")]
    Rejected,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A new session and the token its cookie carries (shown only now).
pub struct SignedIn {
    pub token: String,
    pub session: ConsoleSession,
}

/// Who a live session acts as.
pub enum SignedInAs {
    /// An API key (signed in with its secret).
    ApiKey(ApiKey),
    /// A Nexus user, signed in through the Auth0 tenant of IdP tenant
    /// `tenant_id`.
    User { user: Box<User>, tenant_id: i32 },
}

/// A live session, with who it acts as and what that holds now.
pub struct ActiveSession {
    pub session: ConsoleSession,
    pub who: SignedInAs,
    pub permissions: Permissions,
}

impl ActiveSession {
    /// What requests of this session may do.
    pub fn authority(&self) -> Authority {
        Authority::Grants(vec![self.permissions.clone()])
    }

    /// Who the session's requests to the API are made as: the key, or the
    /// user as its Bearer tokens would make them.
    pub fn principal(&self) -> Principal {
        let (id, kind, tenant_id) = self.identity();
        Principal {
            id,
            kind,
            tenant_id,
            authority: self.authority(),
        }
    }

    /// The session's own doings (signing out) in the audit trail.
    pub fn actor(&self, operation: &str, request_id: Option<String>, address: IpAddr) -> Actor {
        let (id, kind, tenant_id) = self.identity();
        Actor {
            id,
            kind,
            tenant_id,
            operation: operation.to_owned(),
            request_id,
            client_address: Some(address.to_string()),
        }
    }

    /// The name every page shows: the user's display name, or the key's
    /// description (its id without one).
    pub fn display_name(&self) -> String {
        match &self.who {
            SignedInAs::ApiKey(key) => key.description.clone().unwrap_or_else(|| key.id.clone()),
            SignedInAs::User { user, .. } => user.display_name.clone(),
        }
    }

    fn identity(&self) -> (String, ActorType, Option<i32>) {
        match &self.who {
            SignedInAs::ApiKey(key) => (key.id.clone(), ActorType::ApiKey, None),
            SignedInAs::User { user, tenant_id } => {
                (user.id.clone(), ActorType::User, Some(*tenant_id))
            }
        }
    }
}

/// Checks the key exactly as the API's Basic authentication does (a failure
/// counts towards the same throttle) and opens a session for it.
#[tracing::instrument(skip_all, fields(key_id))]
pub async fn sign_in(
    nexus: &Nexus,
    key_id: &str,
    secret: &str,
    address: IpAddr,
    request_id: Option<String>,
) -> std::result::Result<SignedIn, SignInError> {
    tracing::Span::current().record("key_id", key_id);
    let authenticator = nexus.authenticator();
    let failure_key = FailureKey {
        address,
        key_id: Some(key_id.to_owned()),
    };
    if let Some(retry_after) = authenticator.throttled(&failure_key) {
        nexus.metrics().observe_auth_failure("throttled");
        return Err(SignInError::Throttled(retry_after));
    }
    let credentials = Credentials::Basic {
        key_id: key_id.to_owned(),
        secret: secret.to_owned(),
    };
    match authenticator.authenticate(credentials).await {
        Ok(_) => {}
        Err(AuthError::Rejected { reason, .. }) => {
            authenticator.record_failure(failure_key);
            nexus.metrics().observe_auth_failure(reason.as_str());
            return Err(SignInError::Rejected);
        }
        Err(AuthError::Store(error)) => return Err(ServiceError::from(error).into()),
    }
    let session = ConsoleSession::for_api_key(
        uuid::Uuid::now_v7().to_string(),
        key_id.to_owned(),
        random_token(32),
        Timestamp::now(),
    );
    let actor = Actor {
        id: key_id.to_owned(),
        kind: ActorType::ApiKey,
        tenant_id: None,
        operation: SIGN_IN.to_owned(),
        request_id,
        client_address: Some(address.to_string()),
    };
    Ok(open(nexus, &actor, session).await?)
}

/// Why a person who signed in through Auth0 gets no session.
#[derive(Debug, thiserror::Error)]
pub enum UserSignInError {
    /// No Nexus user holds the Auth0 account in that tenant.
    #[error("the Auth0 account is not linked to a Nexus user")]
    NotLinked,
    /// The Nexus user is blocked (not active).
    #[error("the Nexus user is not active")]
    Inactive { display_name: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Opens a session for the Nexus user that holds the Auth0 account
/// `subject` in IdP tenant `tenant_id` (an ID token of that tenant's Auth0
/// said so): the user must be active. The session, and the user's display
/// name.
#[tracing::instrument(skip_all, fields(tenant_id, user_id))]
pub async fn sign_in_user(
    nexus: &Nexus,
    tenant_id: i32,
    subject: &str,
    address: IpAddr,
    request_id: Option<String>,
) -> std::result::Result<(SignedIn, String), UserSignInError> {
    tracing::Span::current().record("tenant_id", tenant_id);
    let (user, _) = {
        let mut tx = nexus
            .store()
            .begin_read()
            .await
            .map_err(ServiceError::from)?;
        let Some(user_id) = identities::owner_in_tenant(&mut tx, tenant_id, subject)
            .await
            .map_err(ServiceError::from)?
        else {
            return Err(UserSignInError::NotLinked);
        };
        nexus
            .authenticator()
            .user_permissions(&mut tx, &user_id)
            .await
            .map_err(ServiceError::from)?
            .ok_or(UserSignInError::NotLinked)?
    };
    tracing::Span::current().record("user_id", &user.id);
    if !user.is_active {
        return Err(UserSignInError::Inactive {
            display_name: user.display_name,
        });
    }
    let session = ConsoleSession::for_user(
        uuid::Uuid::now_v7().to_string(),
        (user.id.clone(), tenant_id, subject.to_owned()),
        random_token(32),
        Timestamp::now(),
    );
    let actor = Actor {
        id: user.id,
        kind: ActorType::User,
        tenant_id: Some(tenant_id),
        operation: SIGN_IN.to_owned(),
        request_id,
        client_address: Some(address.to_string()),
    };
    Ok((open(nexus, &actor, session).await?, user.display_name))
}

/// Stores a new session (sweeping the expired ones) and audits it.
async fn open(nexus: &Nexus, actor: &Actor, session: ConsoleSession) -> Result<SignedIn> {
    let token = random_token(32);
    let mut tx = nexus.store().begin().await?;
    console_sessions::delete_expired(&mut tx, session.created).await?;
    console_sessions::insert(&mut tx, &session, &secret_hash(&token)).await?;
    audit::record(
        &mut tx,
        actor,
        CONSOLE_SESSION,
        &session.id,
        None,
        Some(&session),
    )
    .await?;
    commit(tx).await?;
    Ok(SignedIn { token, session })
}

/// The live session whose token this is. A session that has expired, or
/// whose key is gone, revoked or expired, or whose user is gone, not
/// active or no longer holds the Auth0 account it signed in with, is deleted and not answered. What it holds is read anew: a
/// changed role applies at once.
#[tracing::instrument(skip_all)]
pub async fn active(nexus: &Nexus, token: &str) -> Result<Option<ActiveSession>> {
    let now = Timestamp::now();
    let (session, found) = {
        let mut tx = nexus.store().begin_read().await?;
        let Some(session) = console_sessions::by_token_hash(&mut tx, &secret_hash(token)).await?
        else {
            return Ok(None);
        };
        let found = match (session.kind, &session.api_key_id, &session.user_id) {
            (SessionKind::ApiKey, Some(key_id), _) => match api_keys::get(&mut tx, key_id).await? {
                Some(key) if key.revoked_at.is_none() && key.expires_at > now => nexus
                    .authenticator()
                    .key_permissions(&mut tx, &key)
                    .await?
                    .map(|permissions| (SignedInAs::ApiKey(key), permissions)),
                _ => None,
            },
            (SessionKind::User, _, Some(user_id)) => {
                // The account signed in with must still be the user's.
                let linked = match (session.idp_tenant_id, &session.azo_user_id) {
                    (Some(tenant_id), Some(account)) => {
                        identities::owner_in_tenant(&mut tx, tenant_id, account).await?
                            == Some(user_id.clone())
                    }
                    _ => false,
                };
                match (
                    session.idp_tenant_id.filter(|_| linked),
                    nexus
                        .authenticator()
                        .user_permissions(&mut tx, user_id)
                        .await?,
                ) {
                    (Some(tenant_id), Some((user, permissions))) if user.is_active => Some((
                        SignedInAs::User {
                            user: Box::new(user),
                            tenant_id,
                        },
                        permissions,
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
        (session, found)
    };
    let Some((who, permissions)) = found.filter(|_| session.is_live(now)) else {
        let mut tx = nexus.store().begin().await?;
        console_sessions::delete(&mut tx, &session.id).await?;
        commit(tx).await?;
        return Ok(None);
    };
    if session.needs_touch(now) {
        let mut tx = nexus.store().begin().await?;
        console_sessions::touch(&mut tx, &session.id, now).await?;
        commit(tx).await?;
    }
    Ok(Some(ActiveSession {
        session,
        who,
        permissions,
    }))
}

/// Ends the session (a second sign-out of it finds nothing to do).
#[tracing::instrument(skip_all)]
pub async fn sign_out(nexus: &Nexus, actor: &Actor, session_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    if let Some(ended) = console_sessions::delete(&mut tx, session_id).await? {
        audit::record(
            &mut tx,
            actor,
            CONSOLE_SESSION,
            session_id,
            Some(&ended),
            None,
        )
        .await?;
    }
    commit(tx).await?;
    Ok(())
}
