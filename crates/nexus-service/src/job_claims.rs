//! What every background job's worker does with its claims (imports,
//! member imports, reconciliations): give one up, and take over those a
//! killed process held.

use nexus_store::jobs::Jobs;
use nexus_store::{commit, Backend};

use crate::Nexus;

/// Gives up `owner`'s claim on the job (`what` names the kind in logs):
/// the next worker goes on from where it stopped at once.
pub(crate) async fn release(nexus: &Nexus, jobs: Jobs, what: &str, id: &str, owner: &str) {
    let released = async {
        let mut tx = nexus.store().begin().await?;
        jobs.release(&mut tx, id, owner).await?;
        commit(tx).await
    }
    .await;
    if let Err(error) = released {
        tracing::warn!(%error, "releasing a {what} failed; it ends with its lease");
    }
}

/// On SQLite only this process works: the claims a killed process held
/// are ended at start, so that its jobs go on at once.
pub(crate) async fn take_over(nexus: &Nexus, jobs: Jobs, what: &str) {
    if nexus.store().backend() != Backend::Sqlite {
        return;
    }
    let released = async {
        let mut tx = nexus.store().begin().await?;
        jobs.release_all(&mut tx).await?;
        commit(tx).await
    }
    .await;
    if let Err(error) = released {
        tracing::warn!(%error, "taking over {what} claims failed; they end with their lease");
    }
}
