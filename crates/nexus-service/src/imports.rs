//! Importing an Auth0 tenant's users. A request records the job; a worker
//! in every `nexus serve` runs it: it has Auth0 export every user of the
//! tenant (`jobs/users-exports`: `GET /users` stops at 1,000 per query),
//! downloads the file, and matches each Auth0 user to Nexus, a batch per
//! transaction with the job's checkpoint, so a crash or a restart goes on
//! where the last batch ended and no user is handled twice.
//!
//! Matching, in order: `app_metadata.nexus_user_id` naming a Nexus user →
//! that user; an identity of the tenant with that Auth0 id → linked already;
//! a Nexus user whose address is the Auth0 user's *verified* address →
//! that user; otherwise a new user. An unverified address equal to a Nexus
//! user's is a conflict, never a link: linking on it would hand that user's
//! account to whoever typed the address into Auth0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use auth0::{ExportLine, ExportedUser, ManagementClient};
use nexus_core::identity::NewIdentity;
use nexus_core::import::{ImportConflict, ImportJob, ImportState, Outcome, StartImportBody};
use nexus_core::user::{CreateUserBody, IdpMetadata};
use nexus_core::values::AuthenticationMethod;
use nexus_core::{new_text_id, Actor};
use nexus_store::imports::{self, ClaimedImport, NewImport};
use nexus_store::{commit, identities, idp_tenants, push, users, Conn};
use tokio::sync::{mpsc, watch};

use crate::auth0::Use;
use crate::identities::audited_id;
use crate::users::{find_organization, insert_new, learn_verified_address, NewAccount};
use crate::{audit, Nexus, Result, ServiceError};

const RESOURCE: &str = "import";

/// How the import worker paces itself.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// Between looks for work when there is none.
    pub idle_poll: Duration,
    /// How long a claim holds unless renewed (after every batch and every
    /// poll of the export): the longest a job whose worker died waits.
    pub lease: Duration,
    /// Auth0 users per transaction and checkpoint.
    pub batch: usize,
    /// Between two looks at Auth0's export job.
    pub export_poll: Duration,
    /// Where export files are downloaded to while they are read.
    pub work_dir: PathBuf,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            idle_poll: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            batch: 500,
            export_poll: Duration::from_millis(500),
            work_dir: std::env::temp_dir(),
        }
    }
}

/// StartImport: records an import of the tenant's users; the worker runs
/// it. One import per tenant at a time.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn start(
    nexus: &Nexus,
    actor: &Actor,
    tenant: &str,
    body: StartImportBody,
    dry_run: bool,
) -> Result<ImportJob> {
    let organization = body.into_organization()?;
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
    let reference = nexus_core::user::OrganizationRef::id_or_name(organization);
    let Some(organization) = find_organization(&mut tx, &reference).await? else {
        let mut check = nexus_core::validation::Check::new();
        check.fail("organization", "no such organization");
        return Err(ServiceError::Inapplicable(
            check.finish().expect_err("a failure"),
        ));
    };
    if let Some(running) = imports::JOBS.unfinished(&mut tx, tenant.id).await? {
        return Err(ServiceError::Conflict(format!(
            "import '{running}' of IdP tenant '{}' has not ended yet",
            tenant.name
        )));
    }
    let id = new_text_id();
    let new = NewImport {
        id: &id,
        tenant_id: tenant.id,
        dry_run,
        organization_id: organization.id,
    };
    imports::insert(&mut tx, &new, actor).await?;
    let job = get_in(&mut tx, tenant.id, &id).await?;
    audit::record(&mut tx, actor, RESOURCE, &id, None, Some(&job)).await?;
    commit(tx).await?;
    Ok(job)
}

/// GetImport.
#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, tenant: &str, id: &str) -> Result<ImportJob> {
    let mut tx = nexus.store().begin_read().await?;
    let tenant = crate::idp_tenants::resolve(&mut tx, tenant).await?;
    get_in(&mut tx, tenant.id, id).await
}

async fn get_in(conn: &mut Conn, tenant_id: i32, id: &str) -> Result<ImportJob> {
    imports::get(conn, tenant_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Runs imports until `stop` turns true.
pub async fn run(nexus: Nexus, config: ImportConfig, mut stop: watch::Receiver<bool>) {
    let owner = format!("import-{}", new_text_id());
    crate::job_claims::take_over(&nexus, imports::JOBS, "import").await;
    loop {
        if *stop.borrow() {
            return;
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
                    tracing::warn!(import = %id, %error, "the import stopped; it goes on from its checkpoint");
                    crate::job_claims::release(&nexus, imports::JOBS, "import", &id, &owner).await;
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

async fn claim(nexus: &Nexus, config: &ImportConfig, owner: &str) -> Option<ClaimedImport> {
    let claimed = async {
        let mut read = nexus.store().read_one().await?;
        if !imports::JOBS.claimable(&mut read).await? {
            return Ok(None);
        }
        drop(read);
        let mut tx = nexus.store().begin().await?;
        let job = imports::claim(&mut tx, owner, config.lease).await?;
        commit(tx).await?;
        Ok::<_, nexus_store::StoreError>(job)
    }
    .await;
    claimed.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming an import failed");
        None
    })
}

/// Why a run stopped before the job ended.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("the server is stopping")]
    Stopping,
    #[error("another worker holds the import")]
    Lost,
    #[error("Auth0 is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] nexus_store::StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Stopped {
    /// Whether the run must stop here rather than try the batch's users one
    /// by one: the job went to another worker, or the database cannot be
    /// reached (each user would fail alike, and be skipped for nothing; the
    /// job goes on from its checkpoint instead).
    fn is_final(&self) -> bool {
        match self {
            Stopped::Lost => true,
            Stopped::Store(error) | Stopped::Service(ServiceError::Store(error)) => {
                error.is_unavailable()
            }
            _ => false,
        }
    }
}

struct Runner<'a> {
    nexus: &'a Nexus,
    config: &'a ImportConfig,
    owner: &'a str,
    stop: watch::Receiver<bool>,
}

/// The connections of the tenant, by name, as the export names them.
/// Auth0's connections by name (`None`: Auth0 does not list it).
pub(crate) type Connections = HashMap<String, Option<auth0::Connection>>;

/// Where an Auth0 user lands: its tenant, and the organization a user
/// created for it joins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Destination {
    pub tenant_id: i32,
    pub organization_id: i32,
}

impl From<&ClaimedImport> for Destination {
    fn from(job: &ClaimedImport) -> Self {
        Destination {
            tenant_id: job.tenant_id,
            organization_id: job.organization_id,
        }
    }
}

impl Runner<'_> {
    async fn run(&self, mut job: ClaimedImport) -> std::result::Result<(), Stopped> {
        let (tenant, credentials) = {
            let mut tx = self.nexus.store().begin_read().await?;
            let tenant = idp_tenants::get(&mut tx, job.tenant_id).await?;
            let credentials = idp_tenants::credentials(&mut tx, job.tenant_id).await?;
            (tenant, credentials)
        };
        let (Some(tenant), Some(credentials)) = (tenant, credentials) else {
            return self
                .finish(
                    &mut job,
                    ImportState::Failed,
                    Some("the IdP tenant has no Management credentials"),
                )
                .await;
        };
        let client = match self
            .nexus
            .auth0()
            .client(&tenant, &credentials, Use::Background)
        {
            Ok(client) => client,
            Err(error) => {
                let message = format!("the tenant's client secret cannot be opened: {error}");
                return self
                    .finish(&mut job, ImportState::Failed, Some(&message))
                    .await;
            }
        };
        tracing::info!(import = %job.id, tenant = %tenant.name, from_line = job.lines_done, "importing");
        let file = self
            .config
            .work_dir
            .join(format!("nexus-import-{}.json.gz", job.id));
        let outcome = self.read_export(&client, &mut job, &file).await;
        let _ = std::fs::remove_file(&file);
        match outcome {
            Ok(()) => self.finish(&mut job, ImportState::Completed, None).await,
            Err(Failure::Stopped(stopped)) => Err(stopped),
            Err(Failure::Auth0(error)) if error.is_transient() => {
                Err(Stopped::Unavailable(error.to_string()))
            }
            Err(Failure::Auth0(error)) => {
                let message = format!("Auth0: {error}");
                self.finish(&mut job, ImportState::Failed, Some(&message))
                    .await
            }
        }
    }

    /// Downloads the export (asking Auth0 for one first if the job has
    /// none, or a new one if its file is gone) and imports its users from
    /// the checkpoint on.
    async fn read_export(
        &self,
        client: &ManagementClient,
        job: &mut ClaimedImport,
        file: &std::path::Path,
    ) -> std::result::Result<(), Failure> {
        let mut fresh = false;
        loop {
            let location = self.export_location(client, job).await?;
            match client.download_export(&location, file).await {
                Ok(()) => break,
                // The link expired: a new export, read from its start.
                Err(error) if !fresh && !error.is_transient() => {
                    tracing::info!(import = %job.id, %error, "the export's file is gone; exporting again");
                    job.export_job_id = None;
                    job.location = None;
                    job.lines_done = 0;
                    fresh = true;
                }
                Err(error) => return Err(Failure::Auth0(error)),
            }
        }
        let mut connections = Connections::new();
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
            self.learn_connections(client, &batch, &mut connections)
                .await
                .map_err(Failure::Auth0)?;
            self.import_batch(job, batch, &connections).await?;
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
        job: &mut ClaimedImport,
    ) -> std::result::Result<String, Failure> {
        if let Some(location) = &job.location {
            return Ok(location.clone());
        }
        let export = match &job.export_job_id {
            Some(id) => id.clone(),
            None => {
                let started = client.start_users_export().await.map_err(Failure::Auth0)?;
                job.export_job_id = Some(started.id.clone());
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

    async fn save_export(&self, job: &ClaimedImport) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !imports::set_export(&mut tx, job, self.owner).await? {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    async fn renew(&self, job: &ClaimedImport) -> std::result::Result<(), Stopped> {
        if *self.stop.borrow() {
            return Err(Stopped::Stopping);
        }
        let mut tx = self.nexus.store().begin().await?;
        if !imports::JOBS
            .renew(&mut tx, &job.id, self.owner, self.config.lease)
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    /// Looks up the connections of the batch not seen yet (outside any
    /// transaction: Auth0 answers while no database lock is held).
    async fn learn_connections(
        &self,
        client: &ManagementClient,
        batch: &[ExportLine],
        connections: &mut Connections,
    ) -> std::result::Result<(), auth0::Error> {
        for user in batch.iter().flatten() {
            let Some(name) = &user.connection else {
                continue;
            };
            if !connections.contains_key(name) {
                let found = client.connection_by_name(name).await?;
                connections.insert(name.clone(), found);
            }
        }
        Ok(())
    }

    /// Imports a batch and records the checkpoint, in one transaction (a
    /// dry run's changes are rolled back, and its checkpoint recorded
    /// alone). If the batch fails as a whole, each user is tried in a
    /// transaction of its own, and one that still fails is skipped.
    async fn import_batch(
        &self,
        job: &mut ClaimedImport,
        batch: Vec<ExportLine>,
        connections: &Connections,
    ) -> std::result::Result<(), Failure> {
        let actor = Actor {
            request_id: Some(job.id.clone()),
            ..Actor::internal("import-worker", "ImportUsers")
        };
        let together = self.apply(job, &batch, connections, &actor).await;
        let outcomes = match together {
            Ok(outcomes) => outcomes,
            Err(stopped) if stopped.is_final() => return Err(Failure::Stopped(stopped)),
            Err(_) => {
                let mut outcomes = Vec::with_capacity(batch.len());
                for line in &batch {
                    let one = std::slice::from_ref(line);
                    match self.apply(job, one, connections, &actor).await {
                        Ok(mut outcome) => outcomes.append(&mut outcome),
                        Err(stopped) if stopped.is_final() => {
                            return Err(Failure::Stopped(stopped))
                        }
                        Err(error) => outcomes.push(Outcome::Skipped(conflict_of(
                            line,
                            format!("could not be stored: {error}"),
                        ))),
                    }
                }
                outcomes
            }
        };
        let mut next = job.clone();
        for outcome in &outcomes {
            next.progress.add(outcome);
        }
        next.lines_done += batch.len() as i64;
        let mut tx = self.nexus.store().begin().await.map_err(Stopped::from)?;
        if !imports::checkpoint(&mut tx, &next, self.owner)
            .await
            .map_err(Stopped::from)?
        {
            return Err(Failure::Stopped(Stopped::Lost));
        }
        imports::JOBS
            .renew(&mut tx, &next.id, self.owner, self.config.lease)
            .await
            .map_err(Stopped::from)?;
        commit(tx).await.map_err(Stopped::from)?;
        *job = next;
        Ok(())
    }

    /// Decides and (unless a dry run) stores each user of `lines` in one
    /// transaction; what became of each.
    async fn apply(
        &self,
        job: &ClaimedImport,
        lines: &[ExportLine],
        connections: &Connections,
        actor: &Actor,
    ) -> std::result::Result<Vec<Outcome>, Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        let mut outcomes = Vec::with_capacity(lines.len());
        for line in lines {
            let outcome = match line {
                Err(error) => Outcome::Skipped(ImportConflict {
                    azo_user_id: None,
                    email: None,
                    reason: format!("not a user: {error}"),
                }),
                Ok(user) => import_user(&mut tx, job.into(), user, connections, actor).await?,
            };
            outcomes.push(outcome);
        }
        if !job.dry_run {
            commit(tx).await?;
        }
        Ok(outcomes)
    }

    async fn finish(
        &self,
        job: &mut ClaimedImport,
        state: ImportState,
        error: Option<&str>,
    ) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !imports::finish(&mut tx, job, self.owner, state, error).await? {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        tracing::info!(import = %job.id, state = state.as_str(), ?error, read = job.progress.read,
            created = job.progress.created, linked = job.progress.linked, "import ended");
        Ok(())
    }
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

fn conflict_of(line: &ExportLine, reason: String) -> ImportConflict {
    let user = line.as_ref().ok();
    ImportConflict {
        azo_user_id: user.and_then(|u| u.user_id.clone()),
        email: user.and_then(|u| u.email.clone()),
        reason,
    }
}

/// Matches one Auth0 user to Nexus and stores what that decides.
pub(crate) async fn import_user(
    conn: &mut Conn,
    to: Destination,
    user: &ExportedUser,
    connections: &Connections,
    actor: &Actor,
) -> Result<Outcome> {
    let tenant_id = to.tenant_id;
    let conflict = |reason: String| ImportConflict {
        azo_user_id: user.user_id.clone(),
        email: user.email.clone(),
        reason,
    };
    let Some(azo_user_id) = user.user_id.as_deref() else {
        return Ok(Outcome::Skipped(conflict(
            "the Auth0 user has no user_id".to_owned(),
        )));
    };
    let Some(name) = user.connection.as_deref() else {
        return Ok(Outcome::Skipped(conflict(
            "the Auth0 user has no identity".to_owned(),
        )));
    };
    let Some(Some(connection)) = connections.get(name) else {
        return Ok(Outcome::Skipped(conflict(format!(
            "Auth0 does not list the user's connection '{name}'"
        ))));
    };
    let strategy = connection.strategy.clone().unwrap_or_default();
    let identity = NewIdentity {
        strategy: strategy.clone(),
        azo_user_id: azo_user_id.to_owned(),
        azo_connection_id: connection.id.clone().unwrap_or_else(|| name.to_owned()),
        azo_connection_name: Some(name.to_owned()),
    };

    // 1. Linked already: its app_metadata is pushed again if it is not
    //    Nexus's.
    if let Some(owner) = identities::owner_in_tenant(conn, tenant_id, azo_user_id).await? {
        if user.nexus_user_id.as_deref() != Some(owner.as_str()) {
            push::enqueue(conn, tenant_id, azo_user_id).await?;
        }
        return Ok(Outcome::Unchanged);
    }
    // 2. The Nexus user its app_metadata names.
    if let Some(named) = user.nexus_user_id.as_deref() {
        if users::exists(conn, named).await? {
            return link(conn, tenant_id, named, &identity, None, actor, conflict).await;
        }
    }
    // 3. The Nexus user with its verified address; never an unverified one.
    if let Some(email) = user.email.as_deref() {
        if let Some(holder) = users::id_by_email(conn, email).await? {
            if user.email_verified != Some(true) {
                return Ok(Outcome::Conflict(conflict(format!(
                    "the address is user '{holder}''s, but Auth0 has not verified it: not linked"
                ))));
            }
            return link(
                conn,
                tenant_id,
                &holder,
                &identity,
                Some(email),
                actor,
                conflict,
            )
            .await;
        }
    }
    // 4. A new user.
    let new = match new_user(to, &strategy, user, &identity) {
        Ok(new) => new,
        Err(reason) => return Ok(Outcome::Skipped(conflict(reason))),
    };
    let account = NewAccount {
        tenant_id,
        identity: &identity,
        provisioned: false,
    };
    insert_new(
        conn,
        actor,
        &new_text_id(),
        &new,
        to.organization_id,
        Some(account),
    )
    .await?;
    Ok(Outcome::Created)
}

/// Links the Nexus user to the Auth0 account, unless it has another
/// account in the tenant; `verified`: the Auth0 address that matched it.
async fn link(
    conn: &mut Conn,
    tenant_id: i32,
    user_id: &str,
    identity: &NewIdentity,
    verified: Option<&str>,
    actor: &Actor,
    conflict: impl Fn(String) -> ImportConflict,
) -> Result<Outcome> {
    crate::users::lock_user(conn, user_id).await?;
    if let Some(other) = identities::get(conn, user_id, tenant_id).await? {
        return Ok(Outcome::Conflict(conflict(format!(
            "user '{user_id}' is linked to another account of the tenant, '{}'",
            other.azo_user_id
        ))));
    }
    let linked = identities::upsert(conn, user_id, tenant_id, identity, actor).await?;
    push::enqueue(conn, tenant_id, &identity.azo_user_id).await?;
    let id = audited_id(user_id, tenant_id);
    audit::record(
        conn,
        actor,
        nexus_core::audit::resource_type::IDENTITY,
        &id,
        None,
        Some(&linked),
    )
    .await?;
    if let Some(address) = verified {
        learn_verified_address(conn, actor, user_id, address).await?;
    }
    Ok(Outcome::Linked)
}

/// The Nexus user an Auth0 user becomes: CreateUser's checks apply; a
/// field they refuse is left out (the name cut to its limit), and a user
/// still refused is skipped with the reason.
fn new_user(
    to: Destination,
    strategy: &str,
    user: &ExportedUser,
    identity: &NewIdentity,
) -> std::result::Result<nexus_core::user::NewUser, String> {
    let display_name: String = user
        .name
        .clone()
        .or_else(|| user.email.clone())
        .unwrap_or_else(|| identity.azo_user_id.clone())
        .chars()
        .take(250)
        .collect();
    let body = |full: bool| CreateUserBody {
        authentication_method: Some(
            AuthenticationMethod::from_strategy(strategy)
                .as_str()
                .to_owned(),
        ),
        display_name: Some(display_name.clone()),
        idp_tenant_id: Some(to.tenant_id.to_string()),
        organization: Some(to.organization_id.to_string()),
        organization_id_type: Some("Id".to_owned()),
        email_address: user.email.clone(),
        email_verified: user.email_verified,
        given_name: user.given_name.clone().filter(|_| full),
        family_name: user.family_name.clone().filter(|_| full),
        nickname: user.nickname.clone().filter(|_| full),
        idp_metadata: Some(IdpMetadata {
            azo_user_id: Some(identity.azo_user_id.clone()),
            azo_connection_id: Some(identity.azo_connection_id.clone()),
        }),
        ..CreateUserBody::default()
    };
    if let Ok(new) = body(true).into_new() {
        return Ok(new);
    }
    let mut plain = body(false);
    let email_refused = plain
        .email_address
        .as_deref()
        .is_some_and(|e| nexus_core::values::EmailAddress::parse(e).is_err());
    if email_refused {
        plain.email_address = None;
        plain.email_verified = None;
    }
    plain
        .into_new()
        .map_err(|errors| format!("Nexus refuses the user: {errors}"))
}
