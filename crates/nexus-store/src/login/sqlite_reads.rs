//! SQLite reads on the calling thread. sqlx runs every SQLite connection on
//! a thread of its own and hands each statement and row across to it; on the
//! login path those thread switches cost more than the read itself (README,
//! Performance). The hottest reads — one statement each, answered from the
//! page cache in microseconds — run here instead, on plain connections opened
//! read-only on the same file. WAL gives each statement a consistent snapshot
//! that includes every committed write.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

#[derive(Debug)]
pub(crate) struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections kept for reuse; more are opened while all are in use.
    keep: usize,
}

impl SqliteReaders {
    pub(crate) fn new(path: PathBuf, keep: usize) -> Self {
        SqliteReaders {
            path,
            idle: Mutex::new(Vec::with_capacity(keep)),
            keep,
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().expect("reader pool lock").pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        let mut idle = self.idle.lock().expect("reader pool lock");
        if idle.len() < self.keep {
            idle.push(connection);
        }
        result
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.set_prepared_statement_cache_capacity(16);
        Ok(connection)
    }
}
