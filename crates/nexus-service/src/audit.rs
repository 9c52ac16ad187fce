//! The audit trail: what every write records, and its list.

use nexus_core::audit::{self, AuditEvent, Changes, NewAuditEvent, Outcome};
use nexus_core::Actor;
use nexus_store::{Conn, ListParams, Page};
use serde::Serialize;

use crate::{Nexus, Result};

pub use nexus_store::audit::LIST;

/// Records, in the transaction of the change, that `actor` changed the
/// resource from `before` to `after` (its API representations; `None`
/// before a create and after a delete).
pub(crate) async fn record<T: Serialize>(
    conn: &mut Conn,
    actor: &Actor,
    resource_type: &'static str,
    resource_id: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<()> {
    let changes = changes(before, after);
    record_changes(conn, actor, resource_type, resource_id, changes).await
}

/// The changed fields between two representations of a resource.
pub(crate) fn changes<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Changes {
    let json =
        |value: Option<&T>| value.map(|v| serde_json::to_value(v).expect("resources serialize"));
    audit::changes(json(before).as_ref(), json(after).as_ref())
}

/// Records changes put together by the caller (a value that is not a whole
/// resource, or fields the representation does not show).
pub(crate) async fn record_changes(
    conn: &mut Conn,
    actor: &Actor,
    resource_type: &'static str,
    resource_id: &str,
    changes: Changes,
) -> Result<()> {
    record_event(
        conn,
        actor,
        NewAuditEvent::success(resource_type, resource_id).with_changes(changes),
    )
    .await
}

/// Records an event already put together.
pub(crate) async fn record_event(
    conn: &mut Conn,
    actor: &Actor,
    event: NewAuditEvent,
) -> Result<()> {
    nexus_store::audit::record(conn, actor, &event).await?;
    Ok(())
}

/// Records that `actor` was refused `operation` on a resource for want of a
/// permission; in a transaction of its own, as nothing else is written.
pub async fn record_denial(
    nexus: &Nexus,
    actor: &Actor,
    resource_type: &'static str,
    resource_id: &str,
) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let event = NewAuditEvent {
        outcome: Outcome::Denied,
        ..NewAuditEvent::success(resource_type, resource_id)
    };
    record_event(&mut tx, actor, event).await?;
    nexus_store::commit(tx).await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<AuditEvent>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(nexus_store::audit::list(&mut tx, params).await?)
}
