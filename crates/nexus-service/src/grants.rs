//! No caller can give what it does not hold: an API key, an STS client
//! mapping, or a role of Nexus's audience (to a user, a key, a connection
//! map or a membership) carries only permissions its giver holds.

use nexus_core::auth::{Authority, Permissions};
use nexus_core::role::Role;
use nexus_store::{memberships, roles, Conn};

use crate::{Nexus, Result, ServiceError};

/// Fails with the permissions of `wanted` that `authority` does not hold.
pub(crate) fn require_held(authority: &Authority, wanted: &Permissions) -> Result<()> {
    let missing = authority.missing(wanted);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::NotHeld { missing })
    }
}

/// What the roles give Nexus together: the permissions of those of Nexus's
/// audience.
pub(crate) fn nexus_permissions<'a>(
    nexus: &Nexus,
    roles: impl IntoIterator<Item = &'a Role>,
) -> Permissions {
    roles
        .into_iter()
        .fold(Permissions::default(), |held, role| {
            held.union(&nexus.authenticator().nexus_permissions(role))
        })
}

/// Fails unless `authority` holds everything the roles give Nexus.
pub(crate) fn require_roles_held<'a>(
    nexus: &Nexus,
    authority: &Authority,
    roles: impl IntoIterator<Item = &'a Role>,
) -> Result<()> {
    require_held(authority, &nexus_permissions(nexus, roles))
}

/// Making someone an organization administrator gives it the role of
/// Nexus's audience of that name (membership roles match roles by name).
pub(crate) async fn require_admin_role_held(
    nexus: &Nexus,
    conn: &mut Conn,
    authority: &Authority,
) -> Result<()> {
    let audience = nexus.authenticator().nexus_audience();
    let role = roles::get_by_name(conn, memberships::ORGANIZATION_ADMIN, audience).await?;
    require_roles_held(nexus, authority, role.iter())
}
