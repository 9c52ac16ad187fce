//! Nexus storage. One `Store` over SQLite or PostgreSQL, chosen by the URL
//! scheme; one module of SQL per aggregate. Query texts use `$n` placeholders,
//! which both backends accept through sqlx's `Any` driver, so a query is
//! written once unless the dialects really differ.

mod backend;
mod batch;
mod error;
mod list;
mod rows;
mod sqlite_memory;
mod transaction;

pub mod api_keys;
pub mod application_deployments;
pub mod applications;
pub mod audit;
pub mod console_sessions;
pub mod custom_upns;
pub mod identities;
pub mod idp_tenants;
pub mod imports;
pub mod jobs;
pub mod log_stream;
pub mod login;
pub mod member_imports;
pub mod memberships;
pub mod organization_aliases;
pub mod organization_domains;
pub mod organizations;
pub mod products;
pub mod push;
pub mod reconciliations;
pub mod roles;
pub mod sts_clients;
pub mod subscription_logs;
pub mod subscriptions;
pub mod upsell;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

pub use backend::Backend;
pub(crate) use backend::{for_update, Lock, PerBackend};
pub use error::StoreError;
pub use list::{ListParams, Page};
pub use transaction::{ReadConn, Tx};

/// A connection to run queries on: a pooled connection or an open transaction.
pub type Conn = AnyConnection;

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// A pooled connection idle for this long is pinged before it is
    /// handed out: the server or a proxy may have closed it meanwhile.
    pub ping_after_idle: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            ping_after_idle: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    writer: Writer,
    /// SQLite only: the queue of login writes committed in groups.
    logins: Option<login::group_commit::LoginWrites>,
    /// SQLite files only: readers that run on the calling thread.
    sqlite_reads: Option<Arc<login::sqlite_reads::SqliteReaders>>,
}

/// Where write transactions begin.
#[derive(Debug, Clone)]
struct Writer {
    pool: AnyPool,
    backend: Backend,
    transactions: Arc<AtomicU64>,
}

impl Writer {
    fn new(pool: AnyPool, backend: Backend) -> Self {
        Writer {
            pool,
            backend,
            transactions: Arc::default(),
        }
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        Ok(match self.backend {
            // IMMEDIATE takes the write lock at once: a transaction that reads
            // and then writes cannot find the database changed under it by
            // another process (which a plain BEGIN answers with SQLITE_BUSY
            // at the first write); another writer waits (busy_timeout).
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// One direct connection before the pool: the pool retries a failing
/// connection until its acquire timeout and then reports only that it timed
/// out, where this reports the cause at once (connection refused, unknown
/// host, authentication failed, no such database).
async fn probe_postgres(url: &str, timeout: Duration) -> Result<(), StoreError> {
    let connection = tokio::time::timeout(timeout, AnyConnection::connect(url))
        .await
        .map_err(|_| {
            StoreError::Config(format!(
                "the database server did not answer within {} s",
                timeout.as_secs()
            ))
        })??;
    connection.close().await?;
    Ok(())
}

impl Store {
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        match backend {
            Backend::Sqlite => {
                sqlite_memory::install();
                let url = sqlite_url(url);
                let connect = AnyConnectOptions::from_str(&url)?;
                let file = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                    .get_filename()
                    .to_owned();
                // SQLite has one writer at a time: funnel writes through one
                // connection so they queue in the pool instead of failing with
                // SQLITE_BUSY when two transactions race to upgrade their locks.
                let write = sqlite_pool(1, &options)
                    .connect_with(connect.clone())
                    .await?;
                // Each SQLite connection runs on a thread of its own; more
                // readers than cores only adds thread switches (profiled).
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
                let read = sqlite_pool(options.max_connections.min(2 * cores), &options)
                    .connect_with(connect)
                    .await?;
                let writer = Writer::new(write, backend);
                let in_memory = file.as_os_str() == ":memory:" || url.contains("mode=memory");
                Ok(Store {
                    backend,
                    read,
                    logins: Some(login::group_commit::LoginWrites::start(writer.clone())),
                    writer,
                    sqlite_reads: (!in_memory).then(|| {
                        Arc::new(login::sqlite_reads::SqliteReaders::new(
                            file,
                            2 * cores as usize,
                        ))
                    }),
                })
            }
            Backend::Postgres => {
                probe_postgres(url, options.acquire_timeout).await?;
                let pool = pool_options(options.max_connections, &options)
                    .connect(url)
                    .await?;
                Ok(Store {
                    backend,
                    read: pool.clone(),
                    writer: Writer::new(pool, backend),
                    logins: None,
                    sqlite_reads: None,
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// (pool, open connections, idle connections) of the read and write pools.
    pub fn pool_usage(&self) -> [(&'static str, u32, usize); 2] {
        [
            ("read", self.read.size(), self.read.num_idle()),
            (
                "write",
                self.writer.pool.size(),
                self.writer.pool.num_idle(),
            ),
        ]
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.writer.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `file` (a new
    /// file), while the server goes on writing: `VACUUM INTO` reads one
    /// snapshot. PostgreSQL's backups are `pg_dump`'s.
    pub async fn backup_to(&self, file: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config(
                "nexus backup copies SQLite databases; back PostgreSQL up with pg_dump".to_owned(),
            ));
        }
        if file.exists() {
            return Err(StoreError::Config(format!(
                "{} exists already: a backup is written to a new file",
                file.display()
            )));
        }
        let path = file
            .to_str()
            .ok_or_else(|| StoreError::Config(format!("{} is not UTF-8", file.display())))?;
        let mut conn = self.read.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.read.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// A transaction for a change. Commit it; dropping it rolls back.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let span = transaction::span(self.backend, "write transaction");
        Ok(Tx::new(self.writer.begin().await?, span))
    }

    /// How many write transactions have begun since the store was opened.
    pub fn write_transactions(&self) -> u64 {
        self.writer.transactions.load(Ordering::Relaxed)
    }

    /// Writes a login that changes something (`login::LoginWrite`) in a
    /// transaction of its own — or, on SQLite, in one shared with the logins
    /// queued behind the single writer, so that one commit (one fsync) serves
    /// them all. Answers only once the change is committed, with the user
    /// read after the commit (on SQLite on the calling thread, not on the
    /// writer); `None` when the user has no identity on the connection.
    pub async fn write_login(
        &self,
        write: login::LoginWrite,
    ) -> Result<Option<login::LoginView>, StoreError> {
        let (user_id, audience, connection, client) = (
            write.user_id.clone(),
            write.audience.clone(),
            write.connection.clone(),
            write.client.clone(),
        );
        let written = {
            let _span = transaction::span(self.backend, "login write");
            match &self.logins {
                Some(logins) => logins.write(write).await?,
                None => login::group_commit::alone(&self.writer, &write).await?,
            }
        };
        if !written {
            return Ok(None);
        }
        login::read(self, &user_id, &audience, &connection, client.as_deref()).await
    }

    /// A transaction that only reads, so that what it reads is consistent.
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        let span = transaction::span(self.backend, "read transaction");
        Ok(Tx::new(self.read.begin().await?, span))
    }

    /// A connection for a read that is one statement (consistent by
    /// itself), without the two round trips of a transaction.
    pub async fn read_one(&self) -> Result<ReadConn, StoreError> {
        let span = transaction::span(self.backend, "read");
        Ok(ReadConn::new(self.read.acquire().await?, span))
    }

    pub(crate) fn sqlite_reads(&self) -> Option<&login::sqlite_reads::SqliteReaders> {
        self.sqlite_reads.as_deref()
    }

    pub async fn close(&self) {
        self.writer.pool.close().await;
        self.read.close().await;
    }
}

/// Commits a change.
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Options of every pool. sqlx pings every connection it hands out by
/// default, one more round trip (or hand-off to SQLite's thread) per
/// transaction and per read; a connection used moments ago is alive, so
/// only one idle for `ping_after_idle` is pinged (one that fails is closed
/// and another handed out).
fn pool_options(max_connections: u32, options: &StoreOptions) -> AnyPoolOptions {
    let ping_after_idle = options.ping_after_idle;
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= ping_after_idle {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

fn sqlite_pool(max_connections: u32, options: &StoreOptions) -> AnyPoolOptions {
    pool_options(max_connections, options).after_connect(|conn, _meta| {
        Box::pin(async move {
            // FULL: a commit is on disk before Nexus answers 2xx (DESIGN §5).
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .await?;
            Ok(())
        })
    })
}

/// `sqlite://nexus.db` creates the file when it is absent, unless the URL
/// names its own `mode`.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_created() {
        assert_eq!(
            sqlite_url("sqlite://nexus.db"),
            "sqlite://nexus.db?mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro"), "sqlite://x.db?mode=ro");
    }
}
