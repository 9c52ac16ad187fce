//! ImportOrganizationMembers: a request records the job and its rows; a
//! worker in every `nexus serve` claims it (a lease, renewed as it goes)
//! and invites each row as InviteOrganizationMember does (the same
//! function), writing each row's result in the transaction that applies
//! it. Rows go a batch per transaction; a batch that fails as a whole is
//! tried again one row at a time, and a row that still fails is refused
//! with the reason. A restart or a crash goes on from the first row
//! without a result: none is applied twice.

use nexus_core::audit::ActorType;
use nexus_core::auth::Authority;
use nexus_core::import::ImportState;
use nexus_core::invitation::{ImportMembersBody, InviteResult, MemberImport};
use nexus_core::{new_text_id, Actor, ValidationErrors};
use nexus_store::member_imports::{self, ClaimedMemberImport, PendingRow};
use nexus_store::{commit, idp_tenants, organizations, Conn, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::imports::ImportConfig;
use crate::invitations::{self, Applied, Record, LOST};
use crate::{audit, grants, numeric_id, Nexus, Result, ServiceError};

const RESOURCE: &str = "memberImport";
const ORGANIZATION: &str = "organization";
/// The operation the rows' changes are audited as.
const OPERATION: &str = "ImportOrganizationMembers";

/// The actor that asked for an import, kept with the job: its rows are
/// audited as its changes.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredActor {
    id: String,
    kind: ActorType,
    tenant_id: Option<i32>,
    request_id: Option<String>,
    client_address: Option<String>,
}

impl StoredActor {
    fn of(actor: &Actor) -> Self {
        StoredActor {
            id: actor.id.clone(),
            kind: actor.kind,
            tenant_id: actor.tenant_id,
            request_id: actor.request_id.clone(),
            client_address: actor.client_address.clone(),
        }
    }

    fn into_actor(self) -> Actor {
        Actor {
            id: self.id,
            kind: self.kind,
            tenant_id: self.tenant_id,
            operation: OPERATION.to_owned(),
            request_id: self.request_id,
            client_address: self.client_address,
        }
    }
}

/// ImportOrganizationMembers: the job, queued, or the one with the same id
/// asked for before (for the same organization; another's is a conflict).
#[tracing::instrument(skip(nexus, actor, authority, body))]
pub async fn start(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    organization: &str,
    body: ImportMembersBody,
) -> Result<MemberImport> {
    let organization_id = numeric_id(ORGANIZATION, organization)?;
    let new = body.into_new()?;
    if new.organization_id != organization_id {
        return Err(ServiceError::Inapplicable(ValidationErrors::single(
            "organizationId",
            format!("must be the organization of the path, {organization_id}"),
        )));
    }
    if new.rows.iter().any(|row| row.make_admin == Some(true)) {
        let mut conn = nexus.store().read_one().await?;
        grants::require_admin_role_held(nexus, &mut conn, authority).await?;
    }
    let stored = serde_json::to_string(&StoredActor::of(actor)).expect("JSON");
    let mut tried = false;
    loop {
        let mut tx = nexus.store().begin().await?;
        if organizations::get(&mut tx, organization_id)
            .await?
            .is_none()
        {
            return Err(ServiceError::not_found(ORGANIZATION, organization));
        }
        match member_imports::organization_of(&mut tx, &new.id).await? {
            Some(found) if found == organization_id => {
                return get_in(&mut tx, organization_id, &new.id).await
            }
            Some(_) => {
                return Err(ServiceError::Conflict(format!(
                    "an import with the id '{}' exists for another organization",
                    new.id
                )))
            }
            None => {}
        }
        match member_imports::insert(&mut tx, organization_id, &new, &stored, actor).await {
            // Another request with the same id won the race: answer its job.
            Err(StoreError::Conflict(_)) if !tried => {
                tried = true;
                continue;
            }
            other => other?,
        }
        let job = get_in(&mut tx, organization_id, &new.id).await?;
        let audited = MemberImport {
            rows: Vec::new(),
            ..job.clone()
        };
        audit::record(&mut tx, actor, RESOURCE, &new.id, None, Some(&audited)).await?;
        commit(tx).await?;
        return Ok(job);
    }
}

/// GetOrganizationMemberImport.
#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, organization: &str, id: &str) -> Result<MemberImport> {
    let organization_id = numeric_id(ORGANIZATION, organization)?;
    let mut tx = nexus.store().begin_read().await?;
    if organizations::get(&mut tx, organization_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::not_found(ORGANIZATION, organization));
    }
    get_in(&mut tx, organization_id, id).await
}

async fn get_in(conn: &mut Conn, organization_id: i32, id: &str) -> Result<MemberImport> {
    member_imports::get(conn, organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Runs member imports until `stop` turns true; paced as tenant imports are.
pub async fn run(nexus: Nexus, config: ImportConfig, mut stop: watch::Receiver<bool>) {
    let owner = format!("member-import-{}", new_text_id());
    crate::job_claims::take_over(&nexus, member_imports::JOBS, "member import").await;
    loop {
        if *stop.borrow() {
            return;
        }
        if let Some(job) = claim(&nexus, &config, &owner).await {
            let id = job.id.clone();
            let runner = Runner {
                nexus: &nexus,
                config: &config,
                owner: &owner,
                stop: stop.clone(),
            };
            match runner.run(job).await {
                Ok(()) => continue,
                Err(error) => {
                    tracing::warn!(import = %id, %error, "the member import stopped; it goes on from its first row not done");
                    crate::job_claims::release(
                        &nexus,
                        member_imports::JOBS,
                        "member import",
                        &id,
                        &owner,
                    )
                    .await;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.idle_poll) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn claim(nexus: &Nexus, config: &ImportConfig, owner: &str) -> Option<ClaimedMemberImport> {
    let claimed = async {
        let mut read = nexus.store().read_one().await?;
        if !member_imports::JOBS.claimable(&mut read).await? {
            return Ok(None);
        }
        drop(read);
        let mut tx = nexus.store().begin().await?;
        let job = member_imports::claim(&mut tx, owner, config.lease).await?;
        commit(tx).await?;
        Ok::<_, StoreError>(job)
    }
    .await;
    claimed.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming a member import failed");
        None
    })
}

/// Why a run stopped before the job ended; it goes on later.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("the server is stopping")]
    Stopping,
    #[error("another worker holds the import")]
    Lost,
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ServiceError> for Stopped {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Upstream(message) if message == LOST => Stopped::Lost,
            ServiceError::Store(error) => Stopped::Store(error),
            other => Stopped::Unavailable(other.to_string()),
        }
    }
}

/// Whether an invitation's failure is the row's (refused, with the reason)
/// rather than the run's: Auth0 or the database not answering, or the job
/// lost, stop the run, and the row is tried again later.
fn refusal(error: &ServiceError) -> Option<String> {
    match error {
        ServiceError::Upstream(_) => None,
        ServiceError::Store(error) if error.is_unavailable() => None,
        ServiceError::Validation(errors) | ServiceError::Inapplicable(errors) => {
            Some(errors.to_string())
        }
        other => Some(other.to_string()),
    }
}

struct Runner<'a> {
    nexus: &'a Nexus,
    config: &'a ImportConfig,
    owner: &'a str,
    stop: watch::Receiver<bool>,
}

impl Runner<'_> {
    async fn run(&self, job: ClaimedMemberImport) -> std::result::Result<(), Stopped> {
        let actor = serde_json::from_str::<StoredActor>(&job.actor)
            .map_err(|e| Stopped::Store(StoreError::Corrupt(format!("import actor: {e}"))))?
            .into_actor();
        tracing::info!(import = %job.id, organization = job.organization_id, "importing members");
        loop {
            if *self.stop.borrow() {
                return Err(Stopped::Stopping);
            }
            let (rows, through_auth0) = {
                let mut conn = self.nexus.store().read_one().await?;
                let rows = member_imports::pending(&mut conn, &job.id, self.config.batch).await?;
                (
                    rows,
                    self.creates_accounts(&mut conn, job.organization_id)
                        .await?,
                )
            };
            if rows.is_empty() {
                return self.finish(&job, ImportState::Completed, None).await;
            }
            self.renew(&job).await?;
            // Auth0 answers while no transaction is open: such rows go one by one.
            if through_auth0 || self.apply_batch(&job, &actor, &rows).await.is_err() {
                for row in rows {
                    self.apply_one(&job, &actor, row).await?;
                }
            }
        }
    }

    /// Whether new users of the organization get Auth0 accounts (its
    /// default tenant has Management credentials).
    async fn creates_accounts(&self, conn: &mut Conn, organization_id: i32) -> Result<bool> {
        let tenant = organizations::get(conn, organization_id)
            .await?
            .and_then(|o| o.default_idp_tenant_id);
        Ok(match tenant {
            Some(id) => idp_tenants::credentials(conn, id).await?.is_some(),
            None => false,
        })
    }

    /// The rows in one transaction; refused rows are decided before
    /// anything is written for them. Any other failure rolls the batch back.
    async fn apply_batch(
        &self,
        job: &ClaimedMemberImport,
        actor: &Actor,
        rows: &[PendingRow],
    ) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        let Some(organization) =
            organizations::get_for_update(&mut tx, job.organization_id).await?
        else {
            return Err(Stopped::Unavailable("the organization is gone".to_owned()));
        };
        for row in rows {
            let record = self.record(job, row);
            let (result, detail) = match row.member.clone().into_invitation() {
                Err(errors) => (InviteResult::Refused, Some(errors.to_string())),
                Ok(invitation) => {
                    match invitations::apply(&mut tx, actor, &organization, &invitation, None).await
                    {
                        Ok(Applied::Done(invited)) => (invited.result, None),
                        Ok(Applied::NeedsAccount(..)) => {
                            return Err(Stopped::Unavailable("a row needs an Auth0 account".into()))
                        }
                        Err(
                            error @ (ServiceError::Validation(_) | ServiceError::Inapplicable(_)),
                        ) => (InviteResult::Refused, refusal(&error)),
                        Err(error) => return Err(error.into()),
                    }
                }
            };
            if !record.write(&mut tx, result, detail.as_deref()).await? {
                return Err(Stopped::Lost);
            }
        }
        commit(tx).await?;
        Ok(())
    }

    /// One row in transactions of its own (through Auth0 when it creates
    /// an account there); a failure of the row's own is its refusal.
    async fn apply_one(
        &self,
        job: &ClaimedMemberImport,
        actor: &Actor,
        row: PendingRow,
    ) -> std::result::Result<(), Stopped> {
        let record = self.record(job, &row);
        let refused = match row.member.clone().into_invitation() {
            Err(errors) => errors.to_string(),
            Ok(invitation) => {
                let admitted =
                    invitations::admit(self.nexus, actor, job.organization_id, &invitation, record)
                        .await;
                match admitted {
                    Ok(_) => return Ok(()),
                    Err(error) => match refusal(&error) {
                        Some(reason) => reason,
                        None => return Err(error.into()),
                    },
                }
            }
        };
        let mut tx = self.nexus.store().begin().await?;
        if !record
            .write(&mut tx, InviteResult::Refused, Some(&refused))
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    fn record<'r>(&'r self, job: &'r ClaimedMemberImport, row: &PendingRow) -> Record<'r> {
        Record::ImportRow {
            job: &job.id,
            owner: self.owner,
            position: row.position,
        }
    }

    async fn renew(&self, job: &ClaimedMemberImport) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !member_imports::JOBS
            .renew(&mut tx, &job.id, self.owner, self.config.lease)
            .await?
        {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        Ok(())
    }

    async fn finish(
        &self,
        job: &ClaimedMemberImport,
        state: ImportState,
        error: Option<&str>,
    ) -> std::result::Result<(), Stopped> {
        let mut tx = self.nexus.store().begin().await?;
        if !member_imports::finish(&mut tx, &job.id, self.owner, state, error).await? {
            return Err(Stopped::Lost);
        }
        commit(tx).await?;
        tracing::info!(import = %job.id, state = state.as_str(), "member import ended");
        Ok(())
    }
}
