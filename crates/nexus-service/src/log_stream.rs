//! Auth0's events in: a tenant's log stream (a custom webhook) posts the
//! tenant's log events, authenticated by the tenant's log-stream token. Each
//! event is handled once, by its `log_id`, in the delivery's transaction:
//! what it changes and that it was received commit together, so a delivery
//! Auth0 repeats after a failure, or an event it sends twice, changes
//! nothing twice.

use nexus_core::audit::resource_type::{IDENTITY, USER};
use nexus_core::audit::{Change, Changes};
use nexus_core::idp_tenant::{hash_token, IdpTenant};
use nexus_core::log_stream::{parse_payload, Effect, LogEvent, LogStreamReceipt};
use nexus_core::mfa_enrollment::ENROLLED;
use nexus_core::user::UserChanges;
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, identities, idp_tenants, log_stream, users as user_store, Conn};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::{audit, users, Nexus, Result, ServiceError};

/// Who the audit trail names as making the changes of a log stream's events.
pub const ACTOR_ID: &str = "auth0-log-stream";

/// Receives one delivery: authenticates it by the tenant's log-stream token
/// (`token`, from `Authorization: Bearer <token>`), reads the events in any
/// of the stream's formats and applies those not received before.
#[tracing::instrument(skip_all, fields(tenant = %tenant))]
pub async fn receive(
    nexus: &Nexus,
    actor: &Actor,
    tenant: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<LogStreamReceipt> {
    let tenant = {
        let mut tx = nexus.store().begin_read().await?;
        let found = idp_tenants::resolve(&mut tx, tenant).await?;
        let stored = match &found {
            Some(found) => idp_tenants::log_stream_token_hash(&mut tx, found.id).await?,
            None => None,
        };
        authenticate(tenant, found, stored.as_deref(), token)?
    };
    let events = parse_payload(body).map_err(|e| ValidationErrors::single("$", e))?;
    let actor = Actor {
        id: ACTOR_ID.to_owned(),
        kind: nexus_core::audit::ActorType::System,
        tenant_id: Some(tenant.id),
        ..actor.clone()
    };
    let mut receipt = LogStreamReceipt {
        received: events.len() as u32,
        ..LogStreamReceipt::default()
    };
    let mut tx = nexus.store().begin().await?;
    for event in &events {
        if !log_stream::mark_received(&mut tx, tenant.id, &event.log_id, &event.code).await? {
            receipt.duplicates += 1;
            continue;
        }
        let applied = apply(&mut tx, &actor, &tenant, event).await?;
        let outcome = if applied { "applied" } else { "ignored" };
        log_stream::set_outcome(&mut tx, tenant.id, &event.log_id, outcome).await?;
        if applied {
            receipt.applied += 1;
        } else {
            receipt.ignored += 1;
        }
    }
    commit(tx).await?;
    tracing::info!(
        received = receipt.received,
        applied = receipt.applied,
        duplicates = receipt.duplicates,
        ignored = receipt.ignored,
        "log stream delivery"
    );
    Ok(receipt)
}

/// The presented token against the stored hash, in constant time.
/// The tenant whose log-stream token `token` is. An unknown tenant, one
/// without a token and a wrong token are refused alike, so that a caller
/// without the token learns nothing of which tenants exist; the log says
/// which it was.
fn authenticate(
    reference: &str,
    tenant: Option<IdpTenant>,
    stored: Option<&str>,
    token: Option<&str>,
) -> Result<IdpTenant> {
    let Some(token) = token else {
        return Err(ServiceError::Unauthenticated(
            "the log-stream token is required: Authorization: Bearer <token>".to_owned(),
        ));
    };
    let refused = |why: &str| {
        tracing::info!(tenant = %reference, why, "log-stream delivery refused");
        Err(ServiceError::Unauthenticated(format!(
            "the log-stream token is not the token of IdP tenant '{reference}'"
        )))
    };
    let Some(tenant) = tenant else {
        return refused("no such tenant");
    };
    let Some(stored) = stored else {
        return refused("the tenant has no log-stream token");
    };
    let presented = hash_token(token);
    if bool::from(presented.as_bytes().ct_eq(stored.as_bytes())) {
        Ok(tenant)
    } else {
        refused("a wrong token")
    }
}

/// Applies one new event; whether it changed anything.
async fn apply(
    conn: &mut Conn,
    actor: &Actor,
    tenant: &IdpTenant,
    event: &LogEvent,
) -> Result<bool> {
    let Some(effect) = Effect::of(&event.code) else {
        return Ok(false);
    };
    let Some(azo_user_id) = event.user_id.as_deref() else {
        return Ok(false);
    };
    let Some(user_id) = identities::owner_in_tenant(conn, tenant.id, azo_user_id).await? else {
        return Ok(false);
    };
    // What an identity's events change is written under the user's lock.
    let Some(record) = user_store::get_record_for_update(conn, &user_id).await? else {
        return Ok(false);
    };
    let actor = Actor {
        operation: effect.operation().to_owned(),
        ..actor.clone()
    };
    let mut recorded = Changes::new();
    recorded.insert("auth0Log".to_owned(), logged(event));
    match effect {
        Effect::EmailVerified => {
            // Auth0 verified the account's address (its user name): the
            // user's is verified only if it is that address still.
            let same = event.user_name.as_deref().is_some_and(|name| {
                user_store::same_address(record.email_address.as_deref(), Some(name))
            });
            if record.email_verified || !same {
                return Ok(false);
            }
            let changes = UserChanges {
                email_verified: Some(true),
                ..UserChanges::default()
            };
            users::apply_in(conn, &actor, &user_id, &changes, recorded).await?;
        }
        Effect::MfaEnrolled => {
            if record.mfa_enrollment_status.as_deref() == Some(ENROLLED) {
                return Ok(false);
            }
            let changes = UserChanges {
                mfa_enrollment_status: Some(ENROLLED.to_owned()),
                ..UserChanges::default()
            };
            users::apply_in(conn, &actor, &user_id, &changes, recorded).await?;
        }
        Effect::UserDeleted => {
            let Some(identity) = identities::get(conn, &user_id, tenant.id).await? else {
                return Ok(false);
            };
            // The Auth0 account is gone: nothing is pushed to it; the Nexus
            // user stays.
            identities::delete(conn, &user_id, tenant.id).await?;
            let mut changes = audit::changes(Some(&identity), None);
            changes.extend(recorded);
            let id = crate::identities::audited_id(&user_id, tenant.id);
            audit::record_changes(conn, &actor, IDENTITY, &id, changes).await?;
        }
        Effect::PasswordChanged => {
            recorded.insert("password".to_owned(), Change::redacted());
            audit::record_changes(conn, &actor, USER, &user_id, recorded).await?;
        }
        Effect::LoginBlocked => {
            audit::record_changes(conn, &actor, USER, &user_id, recorded).await?;
        }
    }
    Ok(true)
}

/// The event as the audit trail records it.
fn logged(event: &LogEvent) -> Change {
    Change {
        before: Value::Null,
        after: json!({
            "logId": event.log_id,
            "type": event.code,
            "azoUserId": event.user_id,
            "date": event.date,
            "description": event.description,
            "ip": event.ip,
        }),
    }
}
