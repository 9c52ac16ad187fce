//! Group commit of login writes on SQLite. Its one writer runs transactions
//! one after the other, each ending in an fsync (`synchronous = FULL`); logins
//! that queued up while a commit was on its way to disk are written together
//! in the next transaction, and every one of them is answered after that
//! commit, so a 2xx still means the change is on disk.

use tokio::sync::{mpsc, oneshot};

use super::{write_login, LoginWrite};
use crate::{StoreError, Writer};

/// Most logins in one transaction: bounds how long other writers wait.
const MAX_GROUP: usize = 64;
const QUEUE: usize = 1024;

/// Whether the login was written (`write_login`).
type Outcome = Result<bool, StoreError>;

struct Job {
    write: LoginWrite,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Debug, Clone)]
pub(crate) struct LoginWrites {
    queue: mpsc::Sender<Job>,
}

impl LoginWrites {
    /// Starts the task that writes the queued logins; it ends when the last
    /// `LoginWrites` is dropped.
    pub(crate) fn start(writer: Writer) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, jobs));
        LoginWrites { queue }
    }

    pub(crate) async fn write(&self, write: LoginWrite) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { write, reply })
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?
    }
}

async fn run(writer: Writer, mut jobs: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        match together(&writer, &group).await {
            Ok(outcomes) => {
                for (job, outcome) in group.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            // Nothing of the group was committed: each login again on its
            // own, so that one bad write cannot fail the others.
            Err(_) => {
                for job in group.drain(..) {
                    let outcome = alone(&writer, &job.write).await;
                    let _ = job.reply.send(outcome);
                }
            }
        }
    }
}

async fn together(writer: &Writer, group: &[Job]) -> Result<Vec<bool>, StoreError> {
    let mut tx = writer.begin().await?;
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        outcomes.push(write_login(&mut tx, &job.write).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// One login in a transaction of its own.
pub(crate) async fn alone(writer: &Writer, write: &LoginWrite) -> Outcome {
    let mut tx = writer.begin().await?;
    let outcome = write_login(&mut tx, write).await?;
    tx.commit().await?;
    Ok(outcome)
}
