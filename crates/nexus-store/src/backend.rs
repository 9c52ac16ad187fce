//! The two SQL dialects: which one a store or a connection speaks, and the
//! few query texts that differ between them.

use std::sync::OnceLock;

use crate::{Conn, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::Config(format!(
                "unsupported database URL scheme '{scheme}': use sqlite://PATH or postgres://…"
            ))),
        }
    }

    /// The database's name in traces (OpenTelemetry's `db.system.name`).
    pub fn system_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// The backend a connection (or a transaction) talks to.
    pub fn of(conn: &Conn) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// A value built once per backend, when that backend first asks for it: a
/// query text that differs by dialect and is too costly to format on every
/// request.
pub(crate) struct PerBackend<T> {
    sqlite: OnceLock<T>,
    postgres: OnceLock<T>,
}

impl<T> PerBackend<T> {
    pub(crate) const fn new() -> Self {
        PerBackend {
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    pub(crate) fn get_or_init(&self, backend: Backend, build: impl FnOnce(Backend) -> T) -> &T {
        let cell = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        };
        cell.get_or_init(|| build(backend))
    }
}

/// The clause a worker's claim ends its inner SELECT with: on PostgreSQL
/// the rows another worker is claiming are skipped, not waited for; SQLite's
/// one writer claims alone.
pub(crate) fn skip_locked(conn: &Conn) -> &'static str {
    match Backend::of(conn) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// `select` made to also lock the rows it finds until the transaction ends
/// (of every table it joins, in the order of its `FROM`), for a read-modify-write: a concurrent writer
/// of those rows waits for this transaction, then reads what it wrote.
/// PostgreSQL: `FOR NO KEY UPDATE`, the lock an UPDATE that keeps the key
/// takes, so inserts of rows that reference a locked row still go ahead.
/// SQLite has no row locks and needs none: a write transaction holds the
/// database's one write lock from its start (`Writer::begin`).
pub(crate) fn for_update(conn: &Conn, select: &str) -> String {
    match Backend::of(conn) {
        Backend::Postgres => format!("{select} FOR NO KEY UPDATE"),
        Backend::Sqlite => select.to_owned(),
    }
}

/// `select` locking what it reads against every change until the
/// transaction ends, rows that reference it included: for a read before
/// deleting, so that nothing comes to reference the row meanwhile (a
/// foreign key's check waits for it). SQLite's one writer already does.
pub(crate) fn for_delete(conn: &Conn, select: &str) -> String {
    match Backend::of(conn) {
        Backend::Postgres => format!("{select} FOR UPDATE"),
        Backend::Sqlite => select.to_owned(),
    }
}

/// Whether a read locks what it finds until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    No,
    /// `for_update`.
    ForUpdate,
}

impl Lock {
    pub(crate) fn apply(self, conn: &Conn, select: String) -> String {
        match self {
            Lock::No => select,
            Lock::ForUpdate => for_update(conn, &select),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn backend_by_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://nexus.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn per_backend_values_are_built_once_each() {
        let built = Cell::new(0);
        let values = PerBackend::new();
        let build = |backend| {
            built.set(built.get() + 1);
            format!("{backend:?}")
        };
        assert_eq!(values.get_or_init(Backend::Sqlite, build), "Sqlite");
        assert_eq!(values.get_or_init(Backend::Postgres, build), "Postgres");
        assert_eq!(values.get_or_init(Backend::Sqlite, build), "Sqlite");
        assert_eq!(values.get_or_init(Backend::Postgres, build), "Postgres");
        assert_eq!(built.get(), 2);
    }
}
