//! The login path (`$sync`): what a login reads — the user, its roles for
//! the audience and its identity on the connection, in one statement, on the
//! calling thread on SQLite (`sqlite_reads`) — and what a login that changes
//! something writes (`write`), committed in groups on SQLite
//! (`group_commit`).

pub(crate) mod group_commit;
pub(crate) mod sqlite_reads;
mod write;

pub(crate) use write::write_login;
pub use write::LoginWrite;

use std::collections::BTreeSet;

use nexus_core::entitlement::{self, ClientApplication, Grant};
use nexus_core::identity::{is_on_connection, Identity};
use nexus_core::user::{User, UserRole};
use nexus_core::Timestamp;

use crate::users::{self, FullUser};
use crate::{Store, StoreError};

/// What a login needs, from the one statement of `users::get`.
pub struct LoginView {
    pub user: User,
    /// The roles the user holds for the login's audience.
    pub roles: Vec<UserRole>,
    /// Where in `user.identities` is `identity()`.
    identity: Option<usize>,
    grants: Vec<Grant>,
    client_applications: Vec<ClientApplication>,
}

impl LoginView {
    /// The first identity (by id) on the login's connection (by the Auth0
    /// connection's id or name).
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.and_then(|i| self.user.identities.get(i))
    }

    /// Whether the user may use the application the login's client runs
    /// in the tenant of the login's identity (`entitlement::decide`).
    pub fn is_entitled(&self, now: Timestamp) -> Option<bool> {
        let identity = self.identity()?;
        let applications =
            entitlement::in_tenant(&self.client_applications, identity.idp_tenant_id);
        let organizations: BTreeSet<i32> = self
            .user
            .member_of
            .iter()
            .map(|m| m.organization_id)
            .chain(self.user.organization_id)
            .collect();
        entitlement::decide(&applications, &self.grants, &organizations, now)
    }
}

/// What a login needs of the user `id`, outside any transaction, like
/// `users::read`; with `client`, the applications that Auth0 client runs
/// (still one statement).
pub async fn read(
    store: &Store,
    id: &str,
    audience: &str,
    connection: &str,
    client: Option<&str>,
) -> Result<Option<LoginView>, StoreError> {
    let found = users::read_full_user(store, id, Some(audience), client).await?;
    Ok(found.map(|found| login_view(found, connection)))
}

fn login_view(found: FullUser, connection: &str) -> LoginView {
    let identity = found
        .user
        .identities
        .iter()
        .zip(&found.connection_names)
        .position(|(identity, name)| {
            is_on_connection(connection, &identity.azo_connection_id, name.as_deref())
        });
    LoginView {
        user: found.user,
        roles: found.roles_for_audience,
        identity,
        grants: found.grants,
        client_applications: found.client_applications,
    }
}
