use nexus_core::sync::{SyncBody, SyncRequest, UserInfo};
use nexus_core::{login, mfa, Actor, Timestamp};
use nexus_store::login::{LoginView, LoginWrite};
use nexus_store::users;

use crate::{Nexus, Result, ServiceError};

/// SyncUserIdentity (seed 002), on every login: make the identity's groups
/// exactly the asserted ones, upsert the asserted attributes, and answer with
/// the user's roles for the audience and the UPN for the client. A login that
/// asserts what is stored already writes nothing: it is answered from one
/// read statement, and only a change takes the write path
/// (`Store::write_login`, which commits queued logins together on SQLite),
/// which records what the login changed in the audit trail.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn sync(nexus: &Nexus, actor: Actor, user_id: &str, body: SyncBody) -> Result<UserInfo> {
    sync_request(nexus, actor, user_id, body.into_request()?).await
}

/// `sync` of a checked request.
pub(crate) async fn sync_request(
    nexus: &Nexus,
    actor: Actor,
    user_id: &str,
    request: SyncRequest,
) -> Result<UserInfo> {
    // One statement reads everything an unchanged login needs.
    let view = nexus_store::login::read(
        nexus.store(),
        user_id,
        &request.audience,
        &request.connection_id,
        request.client_id.as_ref().map(|c| c.as_str()),
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("user", user_id))?;
    let identity = view
        .identity()
        .ok_or_else(|| no_identity(user_id, &request))?;
    if !login::changes(identity, &view.user.attributes, &request).any() {
        return Ok(user_info(view, &request));
    }
    let write = LoginWrite {
        user_id: user_id.to_owned(),
        connection: request.connection_id.clone(),
        audience: request.audience.clone(),
        groups: request.groups.clone(),
        attributes: request.attributes.clone(),
        actor,
        client: request.client_id.as_ref().map(|c| c.as_str().to_owned()),
    };
    match nexus.store().write_login(write).await? {
        Some(view) => Ok(user_info(view, &request)),
        // The identity went away since the read above.
        None => Err(not_found(nexus, user_id, &request).await?),
    }
}

fn no_identity(user_id: &str, request: &SyncRequest) -> ServiceError {
    ServiceError::not_found(
        "identity",
        format!("{user_id} on connection {}", request.connection_id),
    )
}

/// Only a failed login pays for telling the two 404s apart.
async fn not_found(nexus: &Nexus, user_id: &str, request: &SyncRequest) -> Result<ServiceError> {
    let mut conn = nexus.store().read_one().await?;
    if !users::exists(&mut conn, user_id).await? {
        return Ok(ServiceError::not_found("user", user_id));
    }
    Ok(no_identity(user_id, request))
}

fn user_info(view: LoginView, request: &SyncRequest) -> UserInfo {
    let is_entitled = view.is_entitled(Timestamp::now());
    let user = view.user;
    let upn = request.client_upn_key.as_ref().and_then(|key| {
        user.custom_upns
            .iter()
            .find(|u| u.client_upn_key.as_deref() == Some(key.as_str()))
            .map(|u| u.custom_upn_value.clone())
    });
    UserInfo {
        roles: view.roles,
        user_id: user.id.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        display_name: user.display_name.clone(),
        is_authenticated: user.is_active,
        mfa_required: mfa::required(&user),
        upn,
        is_entitled,
        user,
    }
}
