//! What the store hands out to run statements on — transactions and single
//! connections — each with a `db` span that lasts as long as it does, so a
//! trace shows every group of statements an operation ran and how long it
//! held the database.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};
use tracing::{Level, Span};

use crate::Backend;

/// A `db` span for `operation`, a child of the current span. Work outside
/// any span (the push worker polling for work) gets none: each poll would
/// be a trace of its own. At debug level, so that it costs nothing unless
/// a subscriber wants it (the OpenTelemetry exporter does).
pub(crate) fn span(backend: Backend, operation: &'static str) -> Span {
    if !tracing::level_enabled!(Level::DEBUG) || Span::current().is_none() {
        return Span::none();
    }
    tracing::debug_span!(
        "db",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = backend.system_name(),
        db.operation.name = operation,
    )
}

/// An open transaction. Commit it; dropping it rolls back.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    _span: Span,
}

impl Tx {
    pub(crate) fn new(inner: sqlx::Transaction<'static, Any>, span: Span) -> Tx {
        Tx { inner, _span: span }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// A pooled connection for a read that is one statement.
pub struct ReadConn {
    inner: PoolConnection<Any>,
    _span: Span,
}

impl ReadConn {
    pub(crate) fn new(inner: PoolConnection<Any>, span: Span) -> ReadConn {
        ReadConn { inner, _span: span }
    }
}

impl Deref for ReadConn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}
