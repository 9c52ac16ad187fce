//! A User is one statement: the record's columns and one JSON column per
//! collection, each a subquery correlated on the user, for one user or a
//! page. GET user, the list, `$sync` and the check of a user's token all
//! read a user this way.

use std::collections::{BTreeMap, HashMap};

use nexus_core::application_deployment::ApplicationDeployment;
use nexus_core::custom_upn::CustomUpn;
use nexus_core::entitlement::{ClientApplication, Grant, Terms};
use nexus_core::role::{self, ResolvedRoles};
use nexus_core::subscription::Subscription;
use nexus_core::user::{Attribute, User, UserCollections, UserRecord, UserRole};
use nexus_core::Timestamp;

use super::record::{from_row, get_records, BY_ID, COLUMNS};
use crate::rows::{
    json_array, json_collection, json_object_sql, json_objects, placeholders, RowExt,
};
use crate::{
    application_deployments, custom_upns, identities, memberships, organizations, roles,
    subscriptions, Backend, Conn, PerBackend, Store, StoreError,
};

/// One user with every collection, in one statement (see `full_users`).
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<User>, StoreError> {
    Ok(full_user(conn, id, None).await?.map(|found| found.user))
}

/// The users with these ids, each with every collection, by id.
pub async fn get_many(
    conn: &mut Conn,
    ids: &[String],
) -> Result<HashMap<String, User>, StoreError> {
    Ok(full_users(conn, ids, None)
        .await?
        .into_iter()
        .map(|found| (found.user.id.clone(), found.user))
        .collect())
}

/// `get` outside any transaction: on a SQLite file, on the calling thread
/// (`login::sqlite_reads`).
pub async fn read(store: &Store, id: &str) -> Result<Option<User>, StoreError> {
    Ok(read_full_user(store, id, None, None)
        .await?
        .map(|found| found.user))
}

/// A user and the roles it holds for one audience.
#[derive(Debug)]
pub struct UserWithRoles {
    pub user: User,
    pub roles: Vec<UserRole>,
}

/// The user and the roles it holds for `audience`, by the read that answers
/// `$sync`.
pub async fn get_with_roles(
    conn: &mut Conn,
    id: &str,
    audience: &str,
) -> Result<Option<UserWithRoles>, StoreError> {
    let found = full_user(conn, id, Some(audience)).await?;
    Ok(found.map(|found| UserWithRoles {
        user: found.user,
        roles: found.roles_for_audience,
    }))
}

/// A user as the one statement reads it, with what a login needs besides.
pub(crate) struct FullUser {
    pub(crate) user: User,
    /// The roles the user holds for the audience asked for (none without one).
    pub(crate) roles_for_audience: Vec<UserRole>,
    /// `azo_connection_name` of each of `user.identities`, in order.
    pub(crate) connection_names: Vec<Option<String>>,
    /// What decides, for each of `user.application_deployments`, whether
    /// it lets the user in.
    pub(crate) grants: Vec<Grant>,
    /// The applications the login's Auth0 client runs, in every tenant
    /// (none when no client was asked about).
    pub(crate) client_applications: Vec<ClientApplication>,
}

/// `full_users` for one user.
pub(crate) async fn full_user(
    conn: &mut Conn,
    id: &str,
    audience: Option<&str>,
) -> Result<Option<FullUser>, StoreError> {
    Ok(full_users(conn, &[id.to_owned()], audience).await?.pop())
}

/// `full_user` outside any transaction: on a SQLite file, on the calling
/// thread (`login::sqlite_reads`).
pub(crate) async fn read_full_user(
    store: &Store,
    id: &str,
    audience: Option<&str>,
    client: Option<&str>,
) -> Result<Option<FullUser>, StoreError> {
    let _span = crate::transaction::span(store.backend(), "read user");
    if let Some(readers) = store.sqlite_reads() {
        return readers.read(|conn| full_user_on_thread(conn, id, audience, client));
    }
    let conn = &mut *store.read.acquire().await?;
    let Some(client) = client else {
        return full_user(conn, id, audience).await;
    };
    let row = sqlx::query(full_user_with_client_select(Backend::of(conn)))
        .bind(id)
        .bind(client)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let found = found_from_row(&row, Timestamp::now(), audience, true)?;
    let owners = get_records(conn, &owner_ids(std::slice::from_ref(&found))).await?;
    Ok(with_owners(vec![found], owners).pop())
}

static FULL_USERS: PerBackend<String> = PerBackend::new();
static FULL_USER: PerBackend<String> = PerBackend::new();
static FULL_USER_WITH_CLIENT: PerBackend<String> = PerBackend::new();

fn full_users_select(backend: Backend) -> &'static str {
    FULL_USERS.get_or_init(backend, |backend| full_users_sql(backend, false))
}

/// `full_user_select` with the applications that the Auth0 client `$2`
/// runs, for a login through that client.
fn full_user_with_client_select(backend: Backend) -> &'static str {
    FULL_USER_WITH_CLIENT.get_or_init(backend, |backend| {
        format!("{} WHERE u.id = $1", full_users_sql(backend, true))
    })
}

/// `full_users_select` for the user `$1`: built once, not on every read.
fn full_user_select(backend: Backend) -> &'static str {
    FULL_USER.get_or_init(backend, |backend| {
        format!("{} WHERE u.id = $1", full_users_select(backend))
    })
}

/// The users with these ids (in no particular order), each with every
/// collection, in one statement: the collections come back as JSON columns
/// (see `rows::json_collection`). On SQLite every statement costs a
/// hand-off to the connection's thread, so one statement instead of nine is
/// most of what a GET costs (README, Performance).
pub(super) async fn full_users(
    conn: &mut Conn,
    ids: &[String],
    audience: Option<&str>,
) -> Result<Vec<FullUser>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = Backend::of(conn);
    let many;
    let sql = if ids.len() == 1 {
        full_user_select(backend)
    } else {
        many = format!(
            "{} WHERE u.id IN ({})",
            full_users_select(backend),
            placeholders(1, ids.len())
        );
        &many
    };
    let mut query = sqlx::query(sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let now = Timestamp::now();
    let found = rows
        .iter()
        .map(|row| found_from_row(row, now, audience, false))
        .collect::<Result<Vec<_>, _>>()?;
    let owner_ids = owner_ids(&found);
    let owners = get_records(conn, &owner_ids).await?;
    Ok(with_owners(found, owners))
}

/// `full_users` for one user, on a SQLite reader of the calling thread.
fn full_user_on_thread(
    conn: &rusqlite::Connection,
    id: &str,
    audience: Option<&str>,
    client: Option<&str>,
) -> Result<Option<FullUser>, StoreError> {
    let sql = match client {
        Some(_) => full_user_with_client_select(Backend::Sqlite),
        None => full_user_select(Backend::Sqlite),
    };
    let mut statement = conn.prepare_cached(sql)?;
    // SQLite numbers parameters in the order they first appear, and `$2`
    // (in the select list) comes before `$1`: bind them by name.
    let mut rows = match client {
        Some(client) => statement.query(rusqlite::named_params! {"$1": id, "$2": client})?,
        None => statement.query([id])?,
    };
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let found = found_from_row(row, Timestamp::now(), audience, client.is_some())?;
    let mut owners = Vec::new();
    if let Some(owner) = &found.record.owner_id {
        let mut statement = conn.prepare_cached(&BY_ID)?;
        let mut rows = statement.query([owner])?;
        if let Some(row) = rows.next()? {
            owners.push(from_row(row)?);
        }
    }
    Ok(with_owners(vec![found], owners).pop())
}

/// A row of the one statement, before the owner is attached.
struct Found {
    record: UserRecord,
    collections: Collections,
}

/// Expired roles are dropped here, not in SQL (see `roles::held_by`).
fn found_from_row(
    row: &impl RowExt,
    now: Timestamp,
    audience: Option<&str>,
    with_client: bool,
) -> Result<Found, StoreError> {
    Ok(Found {
        record: from_row(row)?,
        collections: collections_from_row(row, now, audience, with_client)?,
    })
}

fn owner_ids(found: &[Found]) -> Vec<String> {
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(|found| found.record.owner_id.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn with_owners(found: Vec<Found>, owners: Vec<UserRecord>) -> Vec<FullUser> {
    let owners: HashMap<String, UserRecord> =
        owners.into_iter().map(|o| (o.id.clone(), o)).collect();
    found
        .into_iter()
        .map(
            |Found {
                 record,
                 collections,
             }| {
                let owner = record
                    .owner_id
                    .as_ref()
                    .and_then(|id| owners.get(id).cloned());
                FullUser {
                    user: User::assemble(record, collections.of_user, owner),
                    roles_for_audience: collections.roles_for_audience,
                    connection_names: collections.connection_names,
                    grants: collections.grants,
                    client_applications: collections.client_applications,
                }
            },
        )
        .collect()
}

/// What the JSON columns of a row hold.
struct Collections {
    of_user: UserCollections,
    /// The user's roles for the audience, when one is given.
    roles_for_audience: Vec<UserRole>,
    /// The connection name of each identity.
    connection_names: Vec<Option<String>>,
    grants: Vec<Grant>,
    client_applications: Vec<ClientApplication>,
}

fn collections_from_row(
    row: &impl RowExt,
    now: Timestamp,
    audience: Option<&str>,
    with_client: bool,
) -> Result<Collections, StoreError> {
    let column = |name: &str| json_array(&row.text(name)?, name);
    // The collections arrive in no order (see `json_collection`): sorted here.
    let mut identities_with_connections = Vec::new();
    let found = column("j_identities")?;
    for item in json_objects(&found, "j_identities")? {
        let mut identity = identities::from_row(&item)?;
        identity.groups = item
            .array("groups")?
            .iter()
            .map(identities::group_from_row)
            .collect::<Result<_, _>>()?;
        identity
            .groups
            .sort_by(|a, b| a.group_name.cmp(&b.group_name));
        identities_with_connections.push((identity, item.opt_text("azo_connection_name")?));
    }
    identities_with_connections.sort_by_key(|(identity, _)| identity.id);
    let (identities_of_user, connection_names) = identities_with_connections.into_iter().unzip();
    let mut member_of = Vec::new();
    let found = column("j_memberships")?;
    for item in json_objects(&found, "j_memberships")? {
        let mut membership = memberships::from_row(&item)?;
        for role in item.array("roles")? {
            if role::in_force(role.opt_timestamp("expires")?, now) {
                membership.roles.push(role.text("role_name")?);
            }
        }
        membership.roles.sort();
        member_of.push(membership);
    }
    member_of.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let held = column("j_roles")?;
    let held = json_objects(&held, "j_roles")?
        .iter()
        .map(roles::held_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let ResolvedRoles { all, for_audience } = role::resolve(held, now, audience);
    let (mut application_deployments, mut grants) = (Vec::new(), Vec::new());
    let mut subscriptions_by_id = BTreeMap::new();
    let found = column("j_grants")?;
    for item in json_objects(&found, "j_grants")? {
        let deployment = application_deployments::from_row(&item)?;
        let subscription = subscriptions::from_row(&item.object("subscription")?)?;
        grants.push(grant(&item, &deployment, &subscription)?);
        application_deployments.push(deployment);
        subscriptions_by_id.insert(subscription.id, subscription);
    }
    application_deployments.sort_by_key(|deployment| deployment.id);
    let client_applications = if with_client {
        let found = column("j_client")?;
        json_objects(&found, "j_client")?
            .iter()
            .map(|item| {
                Ok(ClientApplication {
                    idp_tenant_id: item.int("idp_tenant_id")?,
                    application_id: item.int("application_id")?,
                })
            })
            .collect::<Result<_, StoreError>>()?
    } else {
        Vec::new()
    };
    let attributes = column("j_attributes")?;
    let mut attributes: Vec<Attribute> = json_objects(&attributes, "j_attributes")?
        .iter()
        .map(attribute_from_row)
        .collect::<Result<_, _>>()?;
    attributes.sort_by(|a, b| a.name.cmp(&b.name));
    let upns = column("j_custom_upns")?;
    let mut custom_upns: Vec<CustomUpn> = json_objects(&upns, "j_custom_upns")?
        .iter()
        .map(custom_upns::from_row)
        .collect::<Result<_, _>>()?;
    custom_upns.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let organization = column("j_organization")?;
    let of_user = UserCollections {
        roles: all,
        member_of,
        attributes,
        custom_upns,
        identities: identities_of_user,
        organization: json_objects(&organization, "j_organization")?
            .first()
            .map(organizations::from_row)
            .transpose()?,
        application_deployments,
        subscriptions: subscriptions_by_id.into_values().collect(),
    };
    Ok(Collections {
        of_user,
        roles_for_audience: for_audience,
        connection_names,
        grants,
        client_applications,
    })
}

/// What decides whether the user's assignment to `deployment` (under
/// `subscription`) lets it in.
fn grant(
    item: &impl RowExt,
    deployment: &ApplicationDeployment,
    subscription: &Subscription,
) -> Result<Grant, StoreError> {
    Ok(Grant {
        application_id: deployment.application_id,
        assignment: Terms {
            is_active: item.flag("assignment_active")?,
            expires: item.opt_timestamp("assignment_expires")?,
        },
        deployment: Terms::of_deployment(deployment.status, deployment.expires),
        subscription: Terms::of_subscription(
            subscription.status,
            subscription.is_enabled,
            subscription.expires,
        ),
        organization_id: deployment.organization_id,
    })
}

/// `SELECT … FROM users u`: the record's columns and one JSON column per
/// collection, each a subquery correlated on `u`; `with_client` adds
/// `j_client`, the applications that the Auth0 client `$2` runs.
fn full_users_sql(backend: Backend, with_client: bool) -> String {
    let collection = |columns: &str, nested: &[(&str, String)], from: &str| {
        json_collection(backend, columns, nested, from)
    };
    let groups = collection(
        identities::GROUP_COLUMNS,
        &[],
        "identity_groups WHERE identity_id = i.id",
    );
    let membership_roles = collection(
        "role_name, expires",
        &[],
        "membership_roles WHERE membership_id = m.id",
    );
    let prefixed = |table: &str, columns: &str| -> String {
        columns
            .split(',')
            .map(|c| format!("{table}.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The deployment's subscription comes with each assignment: a user's
    // subscriptions are those of its deployments.
    let subscription = json_object_sql(backend, &prefixed("s", subscriptions::COLUMNS), &[]);
    let grant_columns = format!(
        "{}, du.is_active AS assignment_active, du.expires AS assignment_expires",
        application_deployments::COLUMNS
    );
    let mut columns = vec![
        (
            "j_grants",
            collection(
                &grant_columns,
                &[("subscription", subscription)],
                &format!(
                    "{} JOIN application_deployment_users du ON du.deployment_id = d.id \
                     WHERE du.user_id = u.id",
                    application_deployments::FROM
                ),
            ),
        ),
        (
            "j_custom_upns",
            collection(
                custom_upns::COLUMNS,
                &[],
                "custom_upns WHERE user_id = u.id",
            ),
        ),
        (
            "j_identities",
            collection(
                identities::COLUMNS,
                &[("groups", groups)],
                &format!("{} WHERE i.user_id = u.id", identities::FROM),
            ),
        ),
        (
            "j_attributes",
            collection(
                ATTRIBUTE_COLUMNS,
                &[],
                "user_attributes WHERE user_id = u.id",
            ),
        ),
        (
            "j_memberships",
            collection(
                memberships::COLUMNS,
                &[("roles", membership_roles)],
                &format!("{} WHERE m.user_id = u.id", memberships::FROM),
            ),
        ),
        (
            "j_roles",
            collection(roles::HELD_COLUMNS, &[], &roles::held_by("u.id")),
        ),
        (
            "j_organization",
            collection(
                organizations::COLUMNS,
                &[],
                "organizations WHERE id = u.organization_id",
            ),
        ),
    ];
    if with_client {
        columns.push((
            "j_client",
            collection(
                "idp_tenant_id, application_id",
                &[],
                "application_clients WHERE client_id = $2",
            ),
        ));
    }
    let record: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    let collections: Vec<String> = columns
        .iter()
        .map(|(name, sql)| format!("{sql} AS {name}"))
        .collect();
    format!(
        "SELECT {}, {} FROM users u",
        record.join(", "),
        collections.join(", ")
    )
}

const ATTRIBUTE_COLUMNS: &str = "id, user_id, name, value, expires";

fn attribute_from_row(row: &impl RowExt) -> Result<Attribute, StoreError> {
    Ok(Attribute {
        id: row.int("id")?,
        name: row.text("name")?,
        value: row.text("value")?,
        user_id: row.text("user_id")?,
        expires: row.opt_timestamp("expires")?,
    })
}
