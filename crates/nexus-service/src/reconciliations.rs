//! Reconciling an Auth0 tenant with Nexus (drift). A request, or the
//! schedule, records the job; a worker in every `nexus serve` runs it: it has
//! Auth0 export every user of the tenant with the fields Nexus pushes
//! (`jobs/users-exports`), and compares each linked Auth0 user with what the
//! push would send it now (`push::request_for`). A user that differs gets a
//! push recorded in the batch's transaction — the push worker repairs it —
//! and its differences are reported. Identities of the tenant whose Auth0
//! user is not in the export are marked (`vanished_at`), never deleted; the
//! mark is cleared when a later reconciliation finds the user again.

use std::path::Path;
use std::time::{Duration, Instant};

use auth0::{ExportLine, ExportedUser, ManagementClient, UpdateUserRequestContent};
use nexus_core::import::ImportState;
use nexus_core::reconciliation::{Difference, ReconciliationJob, VanishedIdentity};
use nexus_core::{new_text_id, Actor, Timestamp};
use nexus_store::reconciliations::{self, ClaimedReconciliation};
use nexus_store::{commit, idp_tenants, push, Conn, StoreError};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::auth0::Use;
use crate::identities::audited_id;
use crate::{audit, Nexus, Result, ServiceError};

const RESOURCE: &str = "reconciliation";

/// Who starts the reconciliations of the schedule.
pub const SCHEDULE_ACTOR: &str = "reconcile-schedule";

/// How the reconciliation worker paces itself, and the schedule.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// Start a reconciliation of every tenant with Management credentials
    /// whose last one started longer ago than this; `None`: no schedule.
    pub interval: Option<Duration>,
    /// Between looks for work when there is none (and for due tenants).
    pub idle_poll: Duration,
    /// How long a claim holds unless renewed (after every batch and every
    /// poll of the export).
    pub lease: Duration,
    /// Auth0 users per transaction and checkpoint.
    pub batch: usize,
    /// Between two looks at Auth0's export job.
    pub export_poll: Duration,
    /// Where export files are downloaded to while they are read.
    pub work_dir: std::path::PathBuf,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            interval: None,
            idle_poll: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            batch: 500,
            export_poll: Duration::from_millis(500),
            work_dir: std::env::temp_dir(),
        }
    }
}

/// StartReconciliation: records a reconciliation of the tenant; the worker
/// runs it. One per tenant at a time.
#[tracing::instrument(skip(nexus, actor))]
pub async fn start(nexus: &Nexus, actor: &Actor, tenant: &str) -> Result<ReconciliationJob> {
    let mut tx = nexus.store().begin().await?;
    let tenant = crate::idp_tenants::resolve(&mut tx, tenant).await?;
    if idp_tenants::credentials(&mut tx, tenant.id)
        .await?
        .is_none()
    {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' has no Management credentials: Nexus cannot read its users",
            tenant.name
        )));
    }
    if let Some(running) = reconciliations::JOBS.unfinished(&mut tx, tenant.id).await? {
        return Err(ServiceError::Conflict(format!(
            "reconciliation '{running}' of IdP tenant '{}' has not ended yet",
            tenant.name
        )));
    }
    let job = record(&mut tx, actor, tenant.id).await?;
    commit(tx).await?;
    Ok(job)
}

async fn record(conn: &mut Conn, actor: &Actor, tenant_id: i32) -> Result<ReconciliationJob> {
    let id = new_text_id();
    reconciliations::insert(conn, &id, tenant_id, actor).await?;
    let job = get_in(conn, tenant_id, &id).await?;
    audit::record(conn, actor, RESOURCE, &id, None, Some(&job)).await?;
    Ok(job)
}

/// GetReconciliation.
#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, tenant: &str, id: &str) -> Result<ReconciliationJob> {
    let mut tx = nexus.store().begin_read().await?;
    let tenant = crate::idp_tenants::resolve(&mut tx, tenant).await?;
    get_in(&mut tx, tenant.id, id).await
}

async fn get_in(conn: &mut Conn, tenant_id: i32, id: &str) -> Result<ReconciliationJob> {
    reconciliations::get(conn, tenant_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Starts a reconciliation of every tenant with Management credentials
/// whose last one started more than `interval` ago. Replicas may do this at
/// once: the second start of a tenant's reconciliation is refused by the
/// database and skipped.
pub async fn start_due(
    nexus: &Nexus,
    interval: Duration,
) -> std::result::Result<usize, StoreError> {
    let since = Timestamp::now().plus_seconds(-(interval.as_secs().max(1) as i64));
    let due = {
        let mut read = nexus.store().read_one().await?;
        reconciliations::due_tenants(&mut read, since).await?
    };
    let actor = Actor::internal(SCHEDULE_ACTOR, "StartReconciliation");
    let mut started = 0;
    for tenant_id in due {
        let mut tx = nexus.store().begin().await?;
        match record(&mut tx, &actor, tenant_id).await {
            Ok(job) => {
                commit(tx).await?;
                tracing::info!(reconciliation = %job.id, tenant = %job.idp_tenant_id, "scheduled reconciliation started");
                started += 1;
            }
            Err(ServiceError::Conflict(_)) => {}
            Err(ServiceError::Store(error)) => return Err(error),
            Err(error) => {
                tracing::warn!(%error, tenant_id, "starting a scheduled reconciliation failed")
            }
        }
    }
    Ok(started)
}

/// Runs reconciliations (and the schedule) until `stop` turns true.
pub async fn run(nexus: Nexus, config: ReconcileConfig, mut stop: watch::Receiver<bool>) {
    let owner = format!("reconcile-{}", new_text_id());
    crate::job_claims::take_over(&nexus, reconciliations::JOBS, "reconciliation").await;
    let mut schedule_looked: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if let Some(interval) = config.interval {
            // Due tenants are looked for at most once a minute (sooner
            // for shorter intervals).
            let every = interval.min(Duration::from_secs(60));
            if schedule_looked.is_none_or(|at| at.elapsed() >= every) {
                schedule_looked = Some(Instant::now());
                if let Err(error) = start_due(&nexus, interval).await {
                    tracing::warn!(%error, "starting scheduled reconciliations failed");
                }
            }
        }
        match claim(&nexus, &config, &owner).await {
            Some(job) => {
                let id = job.id.clone();
                let runner = Runner {
                    nexus: &nexus,
                    config: &config,
                    owner: &owner,
                    stop: stop.clone(),
                };
                if let Err(error) = runner.run(job).await {
                    tracing::warn!(reconciliation = %id, %error, "the reconciliation stopped; it goes on from its checkpoint");
                    crate::job_claims::release(
                        &nexus,
                        reconciliations::JOBS,
                        "reconciliation",
                        &id,
                        &owner,
                    )
                    .await;
                    tokio::select! {
                        _ = tokio::time::sleep(config.idle_poll) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(config.idle_poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

async fn claim(
    nexus: &Nexus,
    config: &ReconcileConfig,
    owner: &str,
) -> Option<ClaimedReconciliation> {
    let claimed = async {
        let mut read = nexus.store().read_one().await?;
        if !reconciliations::JOBS.claimable(&mut read).await? {
            return Ok(None);
        }
        drop(read);
        let mut tx = nexus.store().begin().await?;
        let job = reconciliations::claim(&mut tx, owner, config.lease).await?;
        commit(tx).await?;
        Ok::<_, StoreError>(job)
    }
    .await;
    claimed.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming a reconciliation failed");
        None
    })
}

/// Why a run stopped before the job ended.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("the server is stopping")]
    Stopping,
    #[error("another worker holds the reconciliation")]
    Lost,
    #[error("Auth0 is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// How a run failed: stopped (it goes on later), or Auth0 failed it.
enum Failure {
    Stopped(Stopped),
    Auth0(auth0::Error),
}

impl From<Stopped> for Failure {
    fn from(stopped: Stopped) -> Self {
        Failure::Stopped(stopped)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Stopped(Stopped::Store(error))
    }
}

struct Runner<'a> {
    nexus: &'a Nexus,
    config: &'a ReconcileConfig,
    owner: &'a str,
    stop: watch::Receiver<bool>,
}

impl Runner<'_> {
    async fn run(&self, mut job: ClaimedReconciliation) -> std::result::Result<(), Stopped> {
        let (tenant, credentials) = {
            let mut tx = self.nexus.store().begin_read().await?;
            let tenant = idp_tenants::get(&mut tx, job.tenant_id).await?;
            let credentials = idp_tenants::credentials(&mut tx, job.tenant_id).await?;
            (tenant, credentials)
        };
        let (Some(tenant), Some(credentials)) = (tenant, credentials) else {
            let message = "the IdP tenant has no Management credentials";
            return self.fail(&mut job, message).await;
        };
        let client = match self
            .nexus
            .auth0()
            .client(&tenant, &credentials, Use::Background)
        {
            Ok(client) => client,
            Err(error) => {
                let message = format!("the tenant's client secret cannot be opened: {error}");
                return self.fail(&mut job, &message).await;
            }
        };
        tracing::info!(reconciliation = %job.id, tenant = %tenant.name, from_line = job.lines_done, "reconciling");
        let file = self
            .config
            .work_dir
            .join(format!("nexus-reconcile-{}.json.gz", job.id));
        let outcome = self.read_export(&client, &mut job, &file).await;
        let _ = std::fs::remove_file(&file);
        match outcome {
            Ok(()) => self.complete(&mut job).await,
            Err(Failure::Stopped(stopped)) => Err(stopped),
            Err(Failure::Auth0(error)) if error.is_transient() => {
                Err(Stopped::Unavailable(error.to_string()))
            }
            Err(Failure::Auth0(error)) => self.fail(&mut job, &format!("Auth0: {error}")).await,
        }
    }

    /// Downloads the export (asking Auth0 for one first if the job has
    /// none, or a new one if its file is gone, then from its start) and
    /// compares its users from the checkpoint on.
    async fn read_export(
        &self,
        client: &ManagementClient,
        job: &mut ClaimedReconciliation,
        file: &Path,
    ) -> std::result::Result<(), Failure> {
        let mut fresh = false;
        loop {
            let location = self.export_location(client, job).await?;
            match client.download_export(&location, file).await {
                Ok(()) => break,
                Err(error) if !fresh && !error.is_transient() => {
                    tracing::info!(reconciliation = %job.id, %error, "the export's file is gone; exporting again");
                    job.export_job_id = None;
                    job.location = None;
                    job.export_started = None;
                    job.lines_done = 0;
                    job.report = Default::default();
                    fresh = true;
                }
                Err(error) => return Err(Failure::Auth0(error)),
            }
        }
        let (sender, mut batches) = mpsc::channel::<Vec<ExportLine>>(2);
        let path = file.to_owned();
        let skip = usize::try_from(job.lines_done).unwrap_or(0);
        let size = self.config.batch;
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut lines = auth0::read_export(&path)?.skip(skip);
            loop {
                let batch: Vec<ExportLine> = lines.by_ref().take(size).collect();
                if batch.is_empty() || sender.blocking_send(batch).is_err() {
                    return Ok(());
                }
            }
        });
        while let Some(batch) = batches.recv().await {
            if *self.stop.borrow() {
                return Err(Failure::Stopped(Stopped::Stopping));
            }
            self.reconcile_batch(job, &batch).await?;
        }
        match reader.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure::Auth0(auth0::Error::Unavailable(format!(
                "the export's file cannot be read: {error}"
            )))),
            Err(error) => Err(Failure::Auth0(auth0::Error::Unavailable(error.to_string()))),
        }
    }

    /// The location of the job's export file, starting the export and
    /// waiting for it as needed; recorded with the job.
    async fn export_location(
        &self,
        client: &ManagementClient,
        job: &mut ClaimedReconciliation,
    ) -> std::result::Result<String, Failure> {
        if let Some(location) = &job.location {
            return Ok(location.clone());
        }
        let export = match &job.export_job_id {
            Some(id) => id.clone(),
            None => {
                // Taken before Auth0 is asked: an identity linked later may
                // be missing from the export without having vanished.
                let asked = Timestamp::now();
                let started = client
                    .start_users_export_of(auth0::RECONCILE_FIELDS)
                    .await
                    .map_err(Failure::Auth0)?;
                job.export_job_id = Some(started.id.clone());
                job.export_started = Some(asked);
                self.save_export(job).await?;
                started.id
            }
        };
        loop {
            let polled = client.get_job(&export).await.map_err(Failure::Auth0)?;
            if polled.has_failed() {
                return Err(Failure::Auth0(auth0::Error::Unavailable(format!(
                    "Auth0's export job {export} failed"
                ))));
            }
            if let (true, Some(location)) = (polled.is_completed(), polled.location) {
                job.location = Some(location.clone());
                self.save_export(job).await?;
                return Ok(location);
            }
            self.renew(job).await?;
            tokio::time::sleep(self.config.export_poll).await;
        }
    }

    async fn save_export(&self, job: &ClaimedReconciliation) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !reconciliations::set_export(&mut tx, job, self.owner).await? {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    async fn renew(&self, job: &ClaimedReconciliation) -> std::result::Result<(), Stopped> {
        if *self.stop.borrow() {
            return Err(Stopped::Stopping);
        }
        let mut tx = self.nexus.store().begin().await?;
        if !reconciliations::JOBS
            .renew(&mut tx, &job.id, self.owner, self.config.lease)
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    /// Compares a batch of Auth0 users with Nexus, records the pushes and
    /// marks, and the checkpoint, in one transaction.
    async fn reconcile_batch(
        &self,
        job: &mut ClaimedReconciliation,
        batch: &[ExportLine],
    ) -> std::result::Result<(), Failure> {
        let actor = worker_actor(job);
        let mut next = job.clone();
        let mut tx = self.nexus.store().begin().await?;
        for line in batch {
            next.report.read += 1;
            let user = match line {
                Ok(user) if user.user_id.is_some() => user,
                _ => {
                    next.report.unreadable += 1;
                    continue;
                }
            };
            reconcile_user(&mut tx, &mut next, user, &actor).await?;
        }
        next.lines_done += batch.len() as i64;
        if !reconciliations::checkpoint(&mut tx, &next, self.owner, self.config.lease).await? {
            return Err(Failure::Stopped(Stopped::Lost));
        }
        commit(tx).await?;
        *job = next;
        Ok(())
    }

    /// The export is read: the identities it did not hold are marked
    /// missing, and the job ends, in one transaction.
    async fn complete(&self, job: &mut ClaimedReconciliation) -> std::result::Result<(), Stopped> {
        let actor = worker_actor(job);
        let mut next = job.clone();
        let mut tx = self.nexus.store().begin().await?;
        if let Some(export_started) = next.export_started {
            let now = Timestamp::now();
            let missing =
                reconciliations::missing(&mut tx, next.tenant_id, &next.id, export_started).await?;
            for identity in missing {
                let since = match identity.vanished_at {
                    Some(since) => since,
                    None => {
                        mark(
                            &mut tx,
                            next.tenant_id,
                            &identity.user_id,
                            &identity.azo_user_id,
                            Some(now),
                            &actor,
                        )
                        .await?;
                        now
                    }
                };
                next.report.vanished(VanishedIdentity {
                    user_id: identity.user_id,
                    azo_user_id: identity.azo_user_id,
                    missing_in_auth0_since: since,
                });
            }
        }
        if !reconciliations::finish(&mut tx, &next, self.owner, ImportState::Completed, None)
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        *job = next;
        let report = &job.report;
        tracing::info!(reconciliation = %job.id, checked = report.checked, drifted = report.drifted,
            vanished = report.vanished, "reconciliation ended");
        Ok(())
    }

    async fn fail(
        &self,
        job: &mut ClaimedReconciliation,
        error: &str,
    ) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !reconciliations::finish(&mut tx, job, self.owner, ImportState::Failed, Some(error))
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        tracing::warn!(reconciliation = %job.id, error, "reconciliation failed");
        Ok(())
    }
}

/// The worker's marks are audited as the job's: its id is their request id.
fn worker_actor(job: &ClaimedReconciliation) -> Actor {
    Actor {
        request_id: Some(job.id.clone()),
        ..Actor::internal("reconcile-worker", "ReconcileTenant")
    }
}

/// Compares one exported Auth0 user with Nexus: nothing if no identity of
/// the tenant is linked to it; otherwise counted, its differences reported
/// and a push recorded if there are any, its missing mark cleared.
async fn reconcile_user(
    conn: &mut Conn,
    job: &mut ClaimedReconciliation,
    user: &ExportedUser,
    actor: &Actor,
) -> std::result::Result<(), Stopped> {
    let azo_user_id = user.user_id.as_deref().expect("checked");
    let Some(identity) = reconciliations::seen(conn, job.tenant_id, azo_user_id, &job.id).await?
    else {
        return Ok(());
    };
    if identity.vanished_at.is_some() {
        mark(
            conn,
            job.tenant_id,
            &identity.user_id,
            azo_user_id,
            None,
            actor,
        )
        .await?;
        job.report.reappeared += 1;
    }
    let desired = push::desired_state(conn, job.tenant_id, azo_user_id).await?;
    if desired.user.is_none() {
        return Ok(());
    }
    let found = differences(&crate::push::request_for(&desired), user);
    if !found.is_empty() {
        push::enqueue(conn, job.tenant_id, azo_user_id).await?;
    }
    job.report.checked(
        found
            .into_iter()
            .map(|(field, auth0, nexus)| Difference {
                user_id: identity.user_id.clone(),
                azo_user_id: azo_user_id.to_owned(),
                field: field.to_owned(),
                auth0,
                nexus,
            })
            .collect(),
    );
    Ok(())
}

/// Sets (`Some`) or clears (`None`) the identity's missing mark, audited as
/// a change of the identity.
async fn mark(
    conn: &mut Conn,
    tenant_id: i32,
    user_id: &str,
    azo_user_id: &str,
    at: Option<Timestamp>,
    actor: &Actor,
) -> std::result::Result<(), Stopped> {
    let before = nexus_store::identities::get(conn, user_id, tenant_id).await?;
    let changed = match at {
        Some(at) => reconciliations::mark_vanished(conn, tenant_id, azo_user_id, at).await?,
        None => reconciliations::clear_vanished(conn, tenant_id, azo_user_id).await?,
    };
    if !changed {
        return Ok(());
    }
    let after = nexus_store::identities::get(conn, user_id, tenant_id).await?;
    audit::record(
        conn,
        actor,
        nexus_core::audit::resource_type::IDENTITY,
        &audited_id(user_id, tenant_id),
        before.as_ref(),
        after.as_ref(),
    )
    .await?;
    Ok(())
}

/// The fields of the exported Auth0 user that are not what the push sends:
/// (Auth0 field, what Auth0 holds, what Nexus sends). A field the push does
/// not send is not compared; absent, null and (for `custom_upns`) an empty
/// object are the same nothing.
pub fn differences(
    request: &UpdateUserRequestContent,
    user: &ExportedUser,
) -> Vec<(&'static str, Value, Value)> {
    let mut found = Vec::new();
    if let Some(metadata) = &request.app_metadata {
        let nexus_id = metadata
            .get("nexus_user_id")
            .cloned()
            .unwrap_or(Value::Null);
        let auth0_id = json!(user.nexus_user_id);
        if nexus_id != auth0_id {
            found.push(("app_metadata.nexus_user_id", auth0_id, nexus_id));
        }
        let nothing = |v: Option<&Value>| match v {
            None | Some(Value::Null) => Value::Null,
            Some(Value::Object(o)) if o.is_empty() => Value::Null,
            Some(other) => other.clone(),
        };
        let nexus_upns = nothing(metadata.get("custom_upns"));
        let auth0_upns = nothing(user.custom_upns.as_ref());
        if nexus_upns != auth0_upns {
            found.push(("app_metadata.custom_upns", auth0_upns, nexus_upns));
        }
    }
    if let Some(blocked) = request.blocked {
        let held = user.blocked.unwrap_or(false);
        if held != blocked {
            found.push(("blocked", json!(held), json!(blocked)));
        }
    }
    let profile = [
        ("name", &request.name, &user.name),
        ("given_name", &request.given_name, &user.given_name),
        ("family_name", &request.family_name, &user.family_name),
        ("nickname", &request.nickname, &user.nickname),
        ("picture", &request.picture, &user.picture),
    ];
    for (field, sent, held) in profile {
        if let Some(sent) = sent {
            if sent != held {
                found.push((field, json!(held), json!(sent)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> UpdateUserRequestContent {
        UpdateUserRequestContent {
            app_metadata: Some(
                json!({"nexus_user_id": "u1", "custom_upns": {"rdp": "a@corp.example"}}),
            ),
            blocked: Some(false),
            name: Some(Some("Ada".to_owned())),
            nickname: Some(Some("ada".to_owned())),
            ..UpdateUserRequestContent::default()
        }
    }

    fn in_sync() -> ExportedUser {
        ExportedUser {
            user_id: Some("auth0|1".to_owned()),
            nexus_user_id: Some("u1".to_owned()),
            custom_upns: Some(json!({"rdp": "a@corp.example"})),
            name: Some("Ada".to_owned()),
            nickname: Some("ada".to_owned()),
            // Not pushed, so not compared.
            given_name: Some("Someone".to_owned()),
            picture: Some("https://gravatar.example/x.png".to_owned()),
            ..ExportedUser::default()
        }
    }

    fn fields(found: &[(&'static str, Value, Value)]) -> Vec<&'static str> {
        found.iter().map(|(field, _, _)| *field).collect()
    }

    #[test]
    fn a_user_holding_what_is_pushed_has_no_differences() {
        assert_eq!(differences(&request(), &in_sync()), Vec::new());
        // No custom UPNs: absent, null and {} in Auth0 are all nothing.
        let mut none = request();
        none.app_metadata = Some(json!({"nexus_user_id": "u1", "custom_upns": null}));
        for held in [None, Some(Value::Null), Some(json!({}))] {
            let user = ExportedUser {
                custom_upns: held,
                ..in_sync()
            };
            assert_eq!(differences(&none, &user), Vec::new());
        }
    }

    #[test]
    fn each_drifted_field_is_reported_with_both_values() {
        let user = ExportedUser {
            nexus_user_id: Some("someone-else".to_owned()),
            custom_upns: None,
            blocked: Some(true),
            name: None,
            nickname: Some("changed".to_owned()),
            ..in_sync()
        };
        let found = differences(&request(), &user);
        assert_eq!(
            fields(&found),
            [
                "app_metadata.nexus_user_id",
                "app_metadata.custom_upns",
                "blocked",
                "name",
                "nickname"
            ]
        );
        assert_eq!(found[0].1, json!("someone-else"));
        assert_eq!(found[0].2, json!("u1"));
        assert_eq!(found[1].1, Value::Null);
        assert_eq!(found[2], ("blocked", json!(true), json!(false)));
        assert_eq!(found[3], ("name", Value::Null, json!("Ada")));
    }

    #[test]
    fn blocked_absent_in_auth0_is_unblocked() {
        let blocked = UpdateUserRequestContent {
            blocked: Some(true),
            ..request()
        };
        let found = differences(&blocked, &in_sync());
        assert_eq!(found, vec![("blocked", json!(false), json!(true))]);
    }
}
