use nexus_core::sync::{SyncBody, SyncRequest, UserInfo};
use nexus_store::{commit, sync, users, Conn};

use crate::{Nexus, Result, ServiceError};

/// SyncUserIdentity (seed 002), on every login: make the identity's groups
/// exactly the asserted ones, upsert the asserted attributes, and answer with
/// the user's roles for the audience and the UPN for the client. A login that
/// asserts what is stored already writes nothing: it is answered from a read
/// transaction, and only a change takes the write path.
#[tracing::instrument(skip(nexus, body))]
pub async fn sync(nexus: &Nexus, user_id: &str, body: SyncBody) -> Result<UserInfo> {
    let request = body.into_request()?;
    {
        let mut tx = nexus.store().begin_read().await?;
        let identity = find_identity(&mut tx, user_id, &request, false).await?;
        let plan = sync::plan(
            &mut tx,
            user_id,
            identity,
            &request.groups,
            &request.attributes,
        )
        .await?;
        if plan.is_empty() {
            return user_info(&mut tx, user_id, &request).await;
        }
    }
    let mut tx = nexus.store().begin().await?;
    // Planned again under the lock: a concurrent sync may have changed things.
    let identity = find_identity(&mut tx, user_id, &request, true).await?;
    let plan = sync::plan(
        &mut tx,
        user_id,
        identity,
        &request.groups,
        &request.attributes,
    )
    .await?;
    sync::apply(&mut tx, user_id, identity, &plan).await?;
    let info = user_info(&mut tx, user_id, &request).await?;
    commit(tx).await?;
    Ok(info)
}

async fn find_identity(
    conn: &mut Conn,
    user_id: &str,
    request: &SyncRequest,
    lock: bool,
) -> Result<i32> {
    if let Some(identity) =
        sync::identity_on_connection(conn, user_id, &request.connection_id, lock).await?
    {
        return Ok(identity);
    }
    // Only a failed login pays for telling the two 404s apart.
    if !users::exists(conn, user_id).await? {
        return Err(ServiceError::not_found("user", user_id));
    }
    Err(ServiceError::not_found(
        "identity",
        format!("{user_id} on connection {}", request.connection_id),
    ))
}

async fn user_info(conn: &mut Conn, user_id: &str, request: &SyncRequest) -> Result<UserInfo> {
    let (user, roles) = users::get_with_roles_for(conn, user_id, &request.audience)
        .await?
        .ok_or_else(|| ServiceError::not_found("user", user_id))?;
    let upn = request.client_upn_key.as_ref().and_then(|key| {
        user.custom_upns
            .iter()
            .find(|u| u.client_upn_key.as_deref() == Some(key.as_str()))
            .map(|u| u.custom_upn_value.clone())
    });
    Ok(UserInfo {
        roles,
        user_id: user.id.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        display_name: user.display_name.clone(),
        is_authenticated: user.is_active,
        upn,
        user,
    })
}
