//! The push worker (DESIGN §4): takes recorded work, computes what Nexus
//! wants the Auth0 user to hold *now*, and PATCHes it — so many changes to one
//! user become one call, and a retry is always safe.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth0::{Error as Auth0Error, UpdateUserRequestContent};
use nexus_core::Timestamp;
use nexus_store::push::{self, DesiredState, PushItem};
use nexus_store::{commit, idp_tenants, Backend};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::auth0::Use;
use crate::metrics::PushOutcome;
use crate::Nexus;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Sleep between polls when there is nothing to do.
    pub idle_poll: Duration,
    /// Items claimed at once.
    pub batch: i64,
    /// How long a claim holds unless renewed: the longest a replica that
    /// died mid-batch keeps its work from the others. A live worker renews
    /// its claims every third of it while it pushes.
    pub lease: Duration,
    /// The longest wait between retries of a failing item.
    pub max_retry_delay: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            idle_poll: Duration::from_millis(250),
            batch: 20,
            lease: Duration::from_secs(30),
            max_retry_delay: Duration::from_secs(300),
        }
    }
}

/// Runs the worker until `stop` turns true.
pub async fn run(nexus: Nexus, config: PushConfig, mut stop: watch::Receiver<bool>) {
    // Claims are recorded under a token of this run, so that the worker
    // renews and releases only its own.
    let owner = nexus_core::new_text_id();
    if nexus.store().backend() == Backend::Sqlite {
        take_over_claims(&nexus).await;
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = claim(&nexus, &config, &owner).await;
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(config.idle_poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let heartbeat = Heartbeat::start(nexus.clone(), owner.clone(), config.lease);
        for item in claimed {
            if *stop.borrow() {
                break;
            }
            if !heartbeat.holds() {
                tracing::warn!("push claims could not be renewed; leaving the rest of the batch to the next claim");
                break;
            }
            if let Err(error) = push_one(&nexus, &config, &item).await {
                tracing::warn!(%error, item = item.id, "push bookkeeping failed; the item is retried when its lease ends");
            }
        }
        heartbeat.end(&nexus, &owner).await;
    }
}

/// On SQLite only this process pushes, so a claim found at start was left by
/// a run that ended without releasing it (a crash, kill -9): its work is
/// taken up at once instead of when the lease would have ended.
async fn take_over_claims(nexus: &Nexus) {
    let result = async {
        let mut tx = nexus.store().begin().await?;
        let released = push::release_all(&mut tx).await?;
        commit(tx).await?;
        Ok::<_, nexus_store::StoreError>(released)
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "took over push work claimed by an earlier run"),
        Err(error) => {
            tracing::warn!(%error, "releasing the push claims of an earlier run failed; they end with their lease")
        }
    }
}

async fn claim(nexus: &Nexus, config: &PushConfig, owner: &str) -> Vec<PushItem> {
    let result = async {
        let mut tx = nexus.store().begin().await?;
        let items = push::claim(&mut tx, owner, config.batch, config.lease).await?;
        commit(tx).await?;
        Ok::<_, nexus_store::StoreError>(items)
    }
    .await;
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming push work failed");
        Vec::new()
    })
}

/// Keeps a worker's claims alive while it pushes a batch — however slowly
/// Auth0 answers — by renewing them every third of the lease, and tells
/// whether they are still surely held.
struct Heartbeat {
    done: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    held_until: Arc<Mutex<Instant>>,
    lease: Duration,
}

impl Heartbeat {
    fn start(nexus: Nexus, owner: String, lease: Duration) -> Heartbeat {
        let held_until = Arc::new(Mutex::new(Instant::now() + lease));
        let (done, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let held = held_until.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(lease / 3) => {}
                }
                // The new lease runs from no earlier than this instant.
                let asked = Instant::now();
                match renew(&nexus, &owner, lease).await {
                    Ok(_) => *held.lock().expect("lease") = asked + lease,
                    Err(error) => tracing::warn!(%error, "renewing push claims failed"),
                }
            }
        });
        Heartbeat {
            done,
            task,
            held_until,
            lease,
        }
    }

    /// Whether at least a third of the lease is left to push one more item in.
    fn holds(&self) -> bool {
        Instant::now() + self.lease / 3 < *self.held_until.lock().expect("lease")
    }

    /// Stops renewing and releases what the batch did not get to.
    async fn end(self, nexus: &Nexus, owner: &str) {
        let _ = self.done.send(());
        let _ = self.task.await;
        let released = async {
            let mut tx = nexus.store().begin().await?;
            let released = push::release_owned(&mut tx, owner).await?;
            commit(tx).await?;
            Ok::<_, nexus_store::StoreError>(released)
        }
        .await;
        if let Err(error) = released {
            tracing::warn!(%error, "releasing push claims failed; they end with their lease");
        }
    }
}

async fn renew(
    nexus: &Nexus,
    owner: &str,
    lease: Duration,
) -> Result<u64, nexus_store::StoreError> {
    let mut tx = nexus.store().begin().await?;
    let renewed = push::renew(&mut tx, owner, lease).await?;
    commit(tx).await?;
    Ok(renewed)
}

// A trace of its own for each item: the push runs after the requests that
// asked for it, and one push may serve many of them.
#[tracing::instrument(level = "debug", name = "push", skip_all,
    fields(item = item.id, idp_tenant_id = item.idp_tenant_id, azo_user_id = %item.azo_user_id))]
async fn push_one(
    nexus: &Nexus,
    config: &PushConfig,
    item: &PushItem,
) -> Result<(), nexus_store::StoreError> {
    let (tenant, credentials, desired) = {
        let mut tx = nexus.store().begin_read().await?;
        let tenant = idp_tenants::get(&mut tx, item.idp_tenant_id).await?;
        let credentials = idp_tenants::credentials(&mut tx, item.idp_tenant_id).await?;
        let desired = push::desired_state(&mut tx, item.idp_tenant_id, &item.azo_user_id).await?;
        (tenant, credentials, desired)
    };
    let (Some(tenant), Some(credentials)) = (tenant, credentials) else {
        // Nothing to push to: the tenant has no Management credentials.
        let mut tx = nexus.store().begin().await?;
        push::complete(&mut tx, item).await?;
        return commit(tx).await;
    };
    let client = match nexus.auth0().client(&tenant, &credentials, Use::Background) {
        Ok(client) => client,
        Err(error) => {
            // Start-up refuses keys that cannot open the stored secrets, so
            // only a change behind Nexus's back leads here; the item waits.
            tracing::error!(tenant = %tenant.name, %error, "the tenant's client secret cannot be opened");
            return Ok(());
        }
    };
    // No transaction is open while Auth0 answers: SQLite has one writer.
    let mut verification_to = None;
    let (outcome, refusal) = match (&desired.user, item.actions.delete_account) {
        // Nexus created the account for a user it no longer has, and nobody
        // linked it since.
        (None, true) => (delete_account(&client, &item.azo_user_id).await, None),
        _ => {
            let mut request = request_for(&desired);
            if item.actions.send_email {
                verification_to = readdress(&mut request, &desired);
            }
            let (mut outcome, refusal) = send(&client, &item.azo_user_id, request).await;
            let unblocked = desired.user.as_ref().is_some_and(|user| user.is_active);
            if outcome.is_ok() && item.actions.lift_login_blocks && unblocked {
                if let Err(error) = client.unblock_user(&item.azo_user_id).await {
                    outcome = Err(error);
                }
            }
            (outcome.map(|_| ()), refusal)
        }
    };
    // Nothing below is audited but a verification e-mail's sending: the
    // worker changes no other Nexus resource, only its own outbox (the item,
    // its refusal) and the Auth0 user, to the state of changes whose own
    // events are in the audit trail already.
    let mut tx = nexus.store().begin().await?;
    match &refusal {
        Some(refusal) => {
            tracing::warn!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, field = ?refusal.field,
                reason = %refusal.reason, "Auth0 refused the profile; app_metadata is pushed without it");
            push::record_refusal(&mut tx, item, refusal.field.as_deref(), &refusal.reason).await?;
        }
        None if outcome.is_ok() => push::clear_refusal(&mut tx, item).await?,
        None => {}
    }
    match outcome {
        Ok(_) => {
            tracing::info!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, "pushed to Auth0");
            nexus.metrics().observe_push(PushOutcome::Pushed);
            if let (Some(address), Some(user), None) = (&verification_to, &desired.user, &refusal) {
                verification_sent(&mut tx, &user.id, address).await?;
            }
            push::complete(&mut tx, item).await?;
        }
        Err(error) if !is_permanent(&error) => {
            nexus.metrics().observe_push(PushOutcome::Retried);
            let delay = retry_delay(config, item.attempts);
            tracing::warn!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, %error, ?delay, "push failed; retrying later");
            push::retry_later(
                &mut tx,
                item,
                Timestamp::now().plus_seconds(delay.as_secs().max(1) as i64),
                &error.to_string(),
            )
            .await?;
        }
        Err(error) => {
            tracing::error!(tenant = %tenant.name, azo_user_id = %item.azo_user_id, %error, "push failed for good");
            nexus.metrics().observe_push(PushOutcome::Failed);
            push::fail(&mut tx, item, &error.to_string()).await?;
        }
    }
    commit(tx).await
}

/// Adds the user's address to the request for a database account whose
/// address changed, with Auth0's verification e-mail unless Nexus holds it
/// verified; returns the address a verification e-mail goes to.
fn readdress(request: &mut UpdateUserRequestContent, desired: &DesiredState) -> Option<String> {
    let user = desired
        .user
        .as_ref()
        .filter(|_| desired.database_identity)?;
    let address = user.email_address.clone()?;
    request.email = Some(Some(address.clone()));
    request.connection = desired.connection.clone();
    if user.email_verified {
        request.email_verified = Some(true);
        return None;
    }
    request.verify_email = Some(true);
    Some(address)
}

/// Auth0 e-mailed `address` a verification link: the user's status becomes
/// `Pending`, if the address is still theirs and unverified. The one change
/// the worker makes to a Nexus resource, so the one it audits.
async fn verification_sent(
    conn: &mut nexus_store::Conn,
    user_id: &str,
    address: &str,
) -> Result<(), nexus_store::StoreError> {
    let before = nexus_store::users::get(conn, user_id).await?;
    if !nexus_store::users::mark_verification_sent_to(conn, user_id, address, Timestamp::now())
        .await?
    {
        return Ok(());
    }
    let after = nexus_store::users::get(conn, user_id).await?;
    let actor = nexus_core::Actor::internal("push-worker", "SendEmailVerification");
    let event = nexus_core::audit::NewAuditEvent::success("user", user_id)
        .with_changes(crate::audit::changes(before.as_ref(), after.as_ref()));
    nexus_store::audit::record(conn, &actor, &event).await
}

/// Deletes the Auth0 account; one already gone is deleted.
async fn delete_account(
    client: &auth0::ManagementClient,
    azo_user_id: &str,
) -> Result<(), Auth0Error> {
    match client.delete_user(azo_user_id).await {
        Err(error) if error.status() == Some(404) => Ok(()),
        deleted => deleted,
    }
}

/// What Auth0 refused of a push's profile fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub field: Option<String>,
    pub reason: String,
}

/// PATCHes the request; when Auth0 (or its schema, checked before sending)
/// refuses the profile fields, PATCHes `app_metadata` alone, so that one bad
/// field cannot hold back the keys applications depend on.
async fn send(
    client: &auth0::ManagementClient,
    azo_user_id: &str,
    request: UpdateUserRequestContent,
) -> (Result<auth0::User, Auth0Error>, Option<Refusal>) {
    let outcome = client.update_user(azo_user_id, &request).await;
    let refusal = match &outcome {
        Err(error) if has_profile(&request) => refusal(error),
        _ => None,
    };
    if refusal.is_none() {
        return (outcome, None);
    }
    (
        client
            .update_user(azo_user_id, &without_profile(&request))
            .await,
        refusal,
    )
}

/// What every identity gets whatever its profile: `app_metadata` and the
/// block.
fn without_profile(request: &UpdateUserRequestContent) -> UpdateUserRequestContent {
    UpdateUserRequestContent {
        app_metadata: request.app_metadata.clone(),
        blocked: request.blocked,
        ..UpdateUserRequestContent::default()
    }
}

fn has_profile(request: &UpdateUserRequestContent) -> bool {
    *request != without_profile(request)
}

/// A refusal of the request's content (not of the user, the credentials or
/// the moment): the schema's own check, or a 400 from Auth0.
pub fn refusal(error: &Auth0Error) -> Option<Refusal> {
    match error {
        Auth0Error::Invalid(invalid) => Some(Refusal {
            field: Some(invalid.field.to_owned()),
            reason: invalid.to_string(),
        }),
        Auth0Error::Api {
            status: 400,
            message,
            ..
        } => Some(Refusal {
            field: named_property(message),
            reason: error.to_string(),
        }),
        _ => None,
    }
}

/// The field of Auth0's "Payload validation error: '…' on property X." message.
fn named_property(message: &str) -> Option<String> {
    let (_, rest) = message.rsplit_once(" on property ")?;
    let field: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!field.is_empty()).then_some(field)
}

/// The full Nexus-owned state: `nexus_user_id` and `custom_upns` (the whole
/// object, or null when empty — Auth0 merges app_metadata only at the top
/// level), both null once unlinked; `blocked` (a user not active in Nexus
/// cannot sign in to any of its accounts); profile fields for database
/// identities.
pub fn request_for(desired: &DesiredState) -> UpdateUserRequestContent {
    let mut request = UpdateUserRequestContent::default();
    let Some(user) = &desired.user else {
        request.app_metadata = Some(json!({"nexus_user_id": null, "custom_upns": null}));
        return request;
    };
    let upns: Map<String, Value> = desired
        .custom_upns
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let upns = if upns.is_empty() {
        Value::Null
    } else {
        Value::Object(upns)
    };
    request.app_metadata = Some(json!({"nexus_user_id": user.id, "custom_upns": upns}));
    request.blocked = Some(!user.is_active);
    if desired.database_identity {
        request.name = Some(Some(user.display_name.clone()));
        request.given_name = user.given_name.clone().map(Some);
        request.family_name = user.family_name.clone().map(Some);
        request.nickname = user.nickname.clone().map(Some);
        request.picture = user.picture.clone().map(Some);
    }
    request
}

fn retry_delay(config: &PushConfig, attempts: i32) -> Duration {
    let exponential =
        Duration::from_secs(1).saturating_mul(2u32.saturating_pow(attempts.clamp(0, 16) as u32));
    let capped = exponential.min(config.max_retry_delay);
    capped.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// Whether an Auth0 error means the same push can never succeed as is.
pub fn is_permanent(error: &Auth0Error) -> bool {
    !error.is_transient()
        && !error
            .status()
            .is_some_and(|s| s >= 500 || s == 429 || s == 408)
}

/// The push as operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub pending: i64,
    pub failed: i64,
    pub failures: Vec<push::FailedPush>,
    pub refusals: Vec<push::PushRefusal>,
}

pub async fn status(nexus: &Nexus) -> crate::Result<Status> {
    let mut tx = nexus.store().begin_read().await?;
    let (pending, failed) = push::backlog(&mut tx).await?;
    Ok(Status {
        pending,
        failed,
        failures: push::failed(&mut tx).await?,
        refusals: push::refusals(&mut tx).await?,
    })
}

pub use nexus_store::push::AccountPush;

/// Where the push of each of these Auth0 users (tenant id, Auth0 user id)
/// stands; `None` for one that is pushed.
pub async fn of_accounts(
    nexus: &Nexus,
    accounts: &[(i32, String)],
) -> crate::Result<Vec<Option<push::AccountPush>>> {
    let mut tx = nexus.store().begin_read().await?;
    let mut states = Vec::with_capacity(accounts.len());
    for (tenant_id, azo_user_id) in accounts {
        states.push(push::of_account(&mut tx, *tenant_id, azo_user_id).await?);
    }
    Ok(states)
}

/// The operation id the audit trail records for a retry (the console's;
/// not an API operation).
pub const RETRY: &str = "RetryPush";

/// How a push stands, as a retry records it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PushState<'a> {
    status: &'a str,
    last_error: Option<&'a str>,
}

/// Retries the push of an Auth0 user that failed for good: it is pending
/// again, due now, its attempts counted afresh. `false` when that push is
/// not failed (pushed meanwhile, or never failed).
pub async fn retry(
    nexus: &Nexus,
    actor: &nexus_core::Actor,
    tenant_id: i32,
    azo_user_id: &str,
) -> crate::Result<bool> {
    let mut tx = nexus.store().begin().await?;
    let failed = push::lock_failed(&mut tx, tenant_id, azo_user_id).await?;
    let Some(failed) = failed else {
        return Ok(false);
    };
    push::enqueue(&mut tx, tenant_id, azo_user_id).await?;
    let before = PushState {
        status: "failed",
        last_error: failed.last_error.as_deref(),
    };
    let after = PushState {
        status: "pending",
        last_error: None,
    };
    crate::audit::record(
        &mut tx,
        actor,
        nexus_core::audit::resource_type::PUSH,
        &format!("{tenant_id}/{azo_user_id}"),
        Some(&before),
        Some(&after),
    )
    .await?;
    nexus_store::commit(tx).await?;
    Ok(true)
}

/// (pending, failed) counts alone, for metrics.
pub async fn backlog(nexus: &Nexus) -> crate::Result<(i64, i64)> {
    let mut conn = nexus.store().read_one().await?;
    Ok(push::backlog(&mut conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_field_is_read_from_auth0s_message() {
        let refused = Auth0Error::Api {
            status: 400,
            error: "Bad Request".into(),
            message: "Payload validation error: 'String is too short (0 chars), minimum 1' on property given_name (Given name/first name/forename of this user).".into(),
            error_code: "invalid_body".into(),
        };
        let found = refusal(&refused).expect("a refusal");
        assert_eq!(found.field.as_deref(), Some("given_name"));
        assert!(found.reason.contains("minimum 1"), "{}", found.reason);
        let gone = Auth0Error::Api {
            status: 404,
            error: "Not Found".into(),
            message: "The user does not exist.".into(),
            error_code: "inexistent_user".into(),
        };
        assert_eq!(refusal(&gone), None);
        assert_eq!(named_property("Payload validation error: 'x'"), None);
    }
}
