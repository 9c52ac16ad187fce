//! The administration console's sessions: signing in with an API key,
//! finding the live session a request's cookie names, signing out.

use std::net::IpAddr;

use nexus_core::audit::resource_type::CONSOLE_SESSION;
use nexus_core::audit::ActorType;
use nexus_core::auth::{ApiKey, Authority, Permissions};
use nexus_core::console::ConsoleSession;
use nexus_core::{Actor, Timestamp};
use nexus_store::{api_keys, commit, console_sessions};

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

/// A live session, with the key it acts as and what that key holds now.
pub struct ActiveSession {
    pub session: ConsoleSession,
    pub key: ApiKey,
    pub permissions: Permissions,
}

impl ActiveSession {
    /// What requests of this session may do.
    pub fn authority(&self) -> Authority {
        Authority::Grants(vec![self.permissions.clone()])
    }

    /// Who the session's requests to the API are made as.
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.key.id.clone(),
            kind: ActorType::ApiKey,
            tenant_id: None,
            authority: self.authority(),
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
    let token = random_token(32);
    let now = Timestamp::now();
    let session = ConsoleSession::for_api_key(
        uuid::Uuid::now_v7().to_string(),
        key_id.to_owned(),
        random_token(32),
        now,
    );
    let actor = Actor {
        id: key_id.to_owned(),
        kind: ActorType::ApiKey,
        tenant_id: None,
        operation: SIGN_IN.to_owned(),
        request_id,
        client_address: Some(address.to_string()),
    };
    let mut tx = nexus.store().begin().await.map_err(ServiceError::from)?;
    console_sessions::delete_expired(&mut tx, now)
        .await
        .map_err(ServiceError::from)?;
    console_sessions::insert(&mut tx, &session, &secret_hash(&token))
        .await
        .map_err(ServiceError::from)?;
    audit::record(
        &mut tx,
        &actor,
        CONSOLE_SESSION,
        &session.id,
        None,
        Some(&session),
    )
    .await?;
    commit(tx).await.map_err(ServiceError::from)?;
    Ok(SignedIn { token, session })
}

/// The live session whose token this is. A session that has expired, or
/// whose key is gone, revoked or expired, is deleted and not answered.
#[tracing::instrument(skip_all)]
pub async fn active(nexus: &Nexus, token: &str) -> Result<Option<ActiveSession>> {
    let now = Timestamp::now();
    let (session, key) = {
        let mut tx = nexus.store().begin_read().await?;
        let Some(session) = console_sessions::by_token_hash(&mut tx, &secret_hash(token)).await?
        else {
            return Ok(None);
        };
        let key = match &session.api_key_id {
            Some(key_id) => match api_keys::get(&mut tx, key_id).await? {
                Some(key) => nexus
                    .authenticator()
                    .key_permissions(&mut tx, &key)
                    .await?
                    .map(|permissions| (key, permissions)),
                None => None,
            },
            None => None,
        };
        (session, key)
    };
    let usable = key.filter(|(key, _)| key.revoked_at.is_none() && key.expires_at > now);
    let Some((key, permissions)) = usable.filter(|_| session.is_live(now)) else {
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
        key,
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
