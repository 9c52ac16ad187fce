use std::collections::HashMap;

use nexus_core::identity::{is_on_connection, Identity};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::role::{self, ResolvedRoles};
use nexus_core::user::{
    Attribute, NewUser, User, UserChanges, UserCollections, UserRecord, UserRole,
};
use nexus_core::values::AuthenticationMethod;
use nexus_core::{Actor, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{flag, json_array, json_collection, json_objects, placeholders, RowExt};
use crate::{
    custom_upns, for_update, identities, memberships, organizations, roles, Backend, Conn,
    PerBackend, Store, StoreError,
};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "displayName",
            column: "display_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "givenName",
            column: "given_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "familyName",
            column: "family_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "emailAddress",
            column: "email_address",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "username",
            column: "username",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "nickname",
            column: "nickname",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "phoneNumber",
            column: "phone_number",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "type",
            column: "user_type",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "ownerId",
            column: "owner_id",
            kind: FieldKind::Text,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "organizationId",
            column: "organization_id",
            kind: FieldKind::Integer,
            sortable: false,
            nullable: true,
        },
        Field {
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isMfaDisabled",
            column: "is_mfa_disabled",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "email-verified",
            column: "email_verified",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "authenticationMethod",
            column: "authentication_method",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "modified",
            column: "modified",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &[
        "displayName",
        "emailAddress",
        "username",
        "givenName",
        "familyName",
    ],
    id_field: "id",
};

const COLUMNS: &str =
    "id, user_type, owner_id, organization_id, display_name, given_name, family_name, \
    nickname, username, picture, language, email_address, email_verified, email_verify_sent_date, \
    phone_number, phone_verified, recovery_email_address, is_active, is_mfa_disabled, \
    mfa_enrollment_status, authentication_method, created, created_by, modified, modified_by";

pub(crate) fn from_row(row: &impl RowExt) -> Result<UserRecord, StoreError> {
    let method = row.text("authentication_method")?;
    let authentication_method = AuthenticationMethod::parse(&method)
        .map_err(|e| StoreError::Corrupt(format!("authentication_method {e}")))?;
    Ok(UserRecord {
        id: row.text("id")?,
        user_type: row.opt_text("user_type")?,
        owner_id: row.opt_text("owner_id")?,
        organization_id: row.opt_int("organization_id")?,
        display_name: row.text("display_name")?,
        given_name: row.opt_text("given_name")?,
        family_name: row.opt_text("family_name")?,
        nickname: row.opt_text("nickname")?,
        username: row.opt_text("username")?,
        picture: row.opt_text("picture")?,
        language: row.opt_text("language")?,
        email_address: row.opt_text("email_address")?,
        email_verified: row.flag("email_verified")?,
        email_verify_sent_date: row.opt_timestamp("email_verify_sent_date")?,
        phone_number: row.opt_text("phone_number")?,
        phone_verified: row.flag("phone_verified")?,
        recovery_email_address: row.opt_text("recovery_email_address")?,
        is_active: row.flag("is_active")?,
        is_mfa_disabled: row.flag("is_mfa_disabled")?,
        mfa_enrollment_status: row.opt_text("mfa_enrollment_status")?,
        authentication_method,
        created: row.timestamp("created")?,
        created_by: row.text("created_by")?,
        modified: row.timestamp("modified")?,
        modified_by: row.text("modified_by")?,
    })
}

/// Stores a new user (its organization already resolved) under `id`.
pub async fn insert(
    conn: &mut Conn,
    id: &str,
    new: &NewUser,
    organization_id: i32,
    actor: &Actor,
) -> Result<UserRecord, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO users (id, user_type, owner_id, organization_id, display_name, given_name, family_name, \
         nickname, username, picture, language, email_address, email_verified, phone_number, phone_verified, \
         recovery_email_address, is_mfa_disabled, mfa_enrollment_status, authentication_method, \
         created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $20, $21) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(&new.user_type)
        .bind(&new.owner_id)
        .bind(organization_id)
        .bind(&new.display_name)
        .bind(&new.given_name)
        .bind(&new.family_name)
        .bind(&new.nickname)
        .bind(&new.username)
        .bind(&new.picture)
        .bind(&new.language)
        .bind(new.email_address.as_ref().map(|e| e.as_str()))
        .bind(flag(new.email_verified))
        .bind(new.phone_number.as_ref().map(|p| p.as_str()))
        .bind(flag(new.phone_verified))
        .bind(new.recovery_email_address.as_ref().map(|e| e.as_str()))
        .bind(flag(new.is_mfa_disabled))
        .bind(&new.mfa_enrollment_status)
        .bind(new.authentication_method.as_str())
        .bind(&now)
        .bind(&actor.0)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get_record(conn: &mut Conn, id: &str) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// `get_record`, locking the user until the transaction ends (`for_update`).
pub async fn get_record_for_update(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let sql = for_update(conn, &format!("SELECT {COLUMNS} FROM users WHERE id = $1"));
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the user exists, locking it until the transaction ends: what is
/// written under a user (its identities) is then read and written by one
/// transaction at a time.
pub async fn lock(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let sql = for_update(conn, "SELECT 1 AS one FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.is_some())
}

pub async fn exists(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

async fn get_records(conn: &mut Conn, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// One user with every collection, in one statement (see `full_users`).
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<User>, StoreError> {
    Ok(full_users(conn, &[id.to_owned()], None)
        .await?
        .pop()
        .map(|found| found.user))
}

/// `get` outside any transaction: on a SQLite file, on the calling thread
/// (`sqlite_reads`).
pub async fn read(store: &Store, id: &str) -> Result<Option<User>, StoreError> {
    if let Some(readers) = store.sqlite_reads() {
        return readers.read(|conn| Ok(full_user_on_thread(conn, id, None)?.map(|f| f.user)));
    }
    get(&mut *store.read_one().await?, id).await
}

/// What a login needs, from the one statement of `get`.
pub struct LoginView {
    pub user: User,
    /// The roles the user holds for the login's audience.
    pub roles: Vec<UserRole>,
    /// Where in `user.identities` is `identity()`.
    identity: Option<usize>,
}

impl LoginView {
    /// The first identity (by id) on the login's connection (by the Auth0
    /// connection's id or name).
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.and_then(|i| self.user.identities.get(i))
    }
}

pub async fn get_for_login(
    conn: &mut Conn,
    id: &str,
    audience: &str,
    connection: &str,
) -> Result<Option<LoginView>, StoreError> {
    let found = full_users(conn, &[id.to_owned()], Some(audience))
        .await?
        .pop();
    Ok(found.map(|found| login_view(found, connection)))
}

/// The user and the roles it holds for `audience`, by the read that answers
/// `$sync`.
pub async fn get_with_roles(
    conn: &mut Conn,
    id: &str,
    audience: &str,
) -> Result<Option<(User, Vec<UserRole>)>, StoreError> {
    let found = full_users(conn, &[id.to_owned()], Some(audience))
        .await?
        .pop();
    Ok(found.map(|found| (found.user, found.roles_for_audience)))
}

/// `get_for_login` outside any transaction, like `read`.
pub async fn read_for_login(
    store: &Store,
    id: &str,
    audience: &str,
    connection: &str,
) -> Result<Option<LoginView>, StoreError> {
    if let Some(readers) = store.sqlite_reads() {
        return readers.read(|conn| {
            let found = full_user_on_thread(conn, id, Some(audience))?;
            Ok(found.map(|found| login_view(found, connection)))
        });
    }
    get_for_login(&mut *store.read_one().await?, id, audience, connection).await
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
    }
}

struct FullUser {
    user: User,
    roles_for_audience: Vec<UserRole>,
    /// `azo_connection_name` of each of `user.identities`, in order.
    connection_names: Vec<Option<String>>,
}

static FULL_USERS: PerBackend<String> = PerBackend::new();
static FULL_USER: PerBackend<String> = PerBackend::new();

fn full_users_select(backend: Backend) -> &'static str {
    FULL_USERS.get_or_init(backend, full_users_sql)
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
async fn full_users(
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
        .map(|row| found_from_row(row, now, audience))
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
) -> Result<Option<FullUser>, StoreError> {
    let mut statement = conn.prepare_cached(full_user_select(Backend::Sqlite))?;
    let mut rows = statement.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let found = found_from_row(row, Timestamp::now(), audience)?;
    let mut owners = Vec::new();
    if let Some(owner) = &found.0.owner_id {
        let mut statement =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))?;
        let mut rows = statement.query([owner])?;
        if let Some(row) = rows.next()? {
            owners.push(from_row(row)?);
        }
    }
    Ok(with_owners(vec![found], owners).pop())
}

type Found = (UserRecord, Collections);

/// Expired roles are dropped here, not in SQL (see `roles::held_by`).
fn found_from_row(
    row: &impl RowExt,
    now: Timestamp,
    audience: Option<&str>,
) -> Result<Found, StoreError> {
    Ok((from_row(row)?, collections_from_row(row, now, audience)?))
}

fn owner_ids(found: &[Found]) -> Vec<String> {
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(|(record, _)| record.owner_id.clone())
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
            |(record, (collections, roles_for_audience, connection_names))| {
                let owner = record
                    .owner_id
                    .as_ref()
                    .and_then(|id| owners.get(id).cloned());
                FullUser {
                    user: User::assemble(record, collections, owner),
                    roles_for_audience,
                    connection_names,
                }
            },
        )
        .collect()
}

type Collections = (UserCollections, Vec<UserRole>, Vec<Option<String>>);

/// The collections, the user's roles for `audience` when one is given, and
/// the connection name of each identity.
fn collections_from_row(
    row: &impl RowExt,
    now: Timestamp,
    audience: Option<&str>,
) -> Result<Collections, StoreError> {
    let column = |name: &str| json_array(&row.text(name)?, name);
    let (mut identities_of_user, mut connection_names) = (Vec::new(), Vec::new());
    let found = column("j_identities")?;
    for item in json_objects(&found, "j_identities")? {
        connection_names.push(item.opt_text("azo_connection_name")?);
        let mut identity = identities::from_row(&item)?;
        identity.groups = item
            .array("groups")?
            .iter()
            .map(identities::group_from_row)
            .collect::<Result<_, _>>()?;
        identities_of_user.push(identity);
    }
    let mut member_of = Vec::new();
    let found = column("j_memberships")?;
    for item in json_objects(&found, "j_memberships")? {
        let mut membership = memberships::from_row(&item)?;
        for role in item.array("roles")? {
            if role::in_force(role.opt_timestamp("expires")?, now) {
                membership.roles.push(role.text("role_name")?);
            }
        }
        member_of.push(membership);
    }
    let held = column("j_roles")?;
    let held = json_objects(&held, "j_roles")?
        .iter()
        .map(roles::held_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let ResolvedRoles { all, for_audience } = role::resolve(held, now, audience);
    let attributes = column("j_attributes")?;
    let upns = column("j_custom_upns")?;
    let organization = column("j_organization")?;
    let collections = UserCollections {
        roles: all,
        member_of,
        attributes: json_objects(&attributes, "j_attributes")?
            .iter()
            .map(attribute_from_row)
            .collect::<Result<_, _>>()?,
        custom_upns: json_objects(&upns, "j_custom_upns")?
            .iter()
            .map(custom_upns::from_row)
            .collect::<Result<_, _>>()?,
        identities: identities_of_user,
        organization: json_objects(&organization, "j_organization")?
            .first()
            .map(organizations::from_row)
            .transpose()?,
    };
    Ok((collections, for_audience, connection_names))
}

/// `SELECT … FROM users u`: the record's columns and one JSON column per
/// collection, each a subquery correlated on `u`.
fn full_users_sql(backend: Backend) -> String {
    let collection = |columns: &str, nested: &[(&str, String)], from: &str, order: &str| {
        json_collection(backend, columns, nested, from, order)
    };
    let groups = collection(
        identities::GROUP_COLUMNS,
        &[],
        "identity_groups WHERE identity_id = i.id",
        "group_name",
    );
    let membership_roles = collection(
        "role_name, expires",
        &[],
        "membership_roles WHERE membership_id = m.id",
        "role_name",
    );
    let columns = [
        (
            "j_custom_upns",
            collection(
                custom_upns::COLUMNS,
                &[],
                "custom_upns WHERE user_id = u.id",
                "created, id",
            ),
        ),
        (
            "j_identities",
            collection(
                identities::COLUMNS,
                &[("groups", groups)],
                &format!("{} WHERE i.user_id = u.id", identities::FROM),
                "i.id",
            ),
        ),
        (
            "j_attributes",
            collection(
                ATTRIBUTE_COLUMNS,
                &[],
                "user_attributes WHERE user_id = u.id",
                "name",
            ),
        ),
        (
            "j_memberships",
            collection(
                memberships::COLUMNS,
                &[("roles", membership_roles)],
                &format!("{} WHERE m.user_id = u.id", memberships::FROM),
                "m.created, m.id",
            ),
        ),
        (
            "j_roles",
            collection(roles::HELD_COLUMNS, &[], &roles::held_by("u.id"), ""),
        ),
        (
            "j_organization",
            collection(
                organizations::COLUMNS,
                &[],
                "organizations WHERE id = u.organization_id",
                "",
            ),
        ),
    ];
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

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<User>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "users", &[], params).await?;
    let ids = page
        .items
        .iter()
        .map(|row| row.text("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut by_id: HashMap<String, User> = full_users(conn, &ids, None)
        .await?
        .into_iter()
        .map(|found| (found.user.id.clone(), found.user))
        .collect();
    Ok(page.with_items(ids.iter().filter_map(|id| by_id.remove(id)).collect()))
}

/// Applies the changes that differ from `current` (read with
/// `get_record_for_update`); writes nothing when none do.
pub async fn update(
    conn: &mut Conn,
    current: &UserRecord,
    changes: &UserChanges,
    actor: &Actor,
) -> Result<UserRecord, StoreError> {
    fn pick<T: Clone>(change: &Option<T>, current: &T) -> T {
        change.clone().unwrap_or_else(|| current.clone())
    }
    fn pick_opt<T: Clone>(change: &Option<T>, current: &Option<T>) -> Option<T> {
        change.clone().or_else(|| current.clone())
    }
    let merged = UserRecord {
        display_name: pick(&changes.display_name, &current.display_name),
        given_name: pick_opt(&changes.given_name, &current.given_name),
        family_name: pick_opt(&changes.family_name, &current.family_name),
        nickname: pick_opt(&changes.nickname, &current.nickname),
        picture: pick_opt(&changes.picture, &current.picture),
        language: pick_opt(&changes.language, &current.language),
        username: pick_opt(&changes.username, &current.username),
        phone_number: changes
            .phone_number
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .or_else(|| current.phone_number.clone()),
        is_active: pick(&changes.is_active, &current.is_active),
        email_verified: pick(&changes.email_verified, &current.email_verified),
        email_verify_sent_date: pick_opt(
            &changes.email_verify_sent_date,
            &current.email_verify_sent_date,
        ),
        is_mfa_disabled: pick(&changes.is_mfa_disabled, &current.is_mfa_disabled),
        mfa_enrollment_status: pick_opt(
            &changes.mfa_enrollment_status,
            &current.mfa_enrollment_status,
        ),
        recovery_email_address: changes
            .recovery_email_address
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .or_else(|| current.recovery_email_address.clone()),
        ..current.clone()
    };
    if &merged == current {
        return Ok(merged);
    }
    let sql = format!(
        "UPDATE users SET display_name = $2, given_name = $3, family_name = $4, nickname = $5, picture = $6, \
         language = $7, username = $8, phone_number = $9, is_active = $10, email_verified = $11, \
         email_verify_sent_date = $12, is_mfa_disabled = $13, mfa_enrollment_status = $14, \
         recovery_email_address = $15, modified = $16, modified_by = $17 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&merged.id)
        .bind(&merged.display_name)
        .bind(&merged.given_name)
        .bind(&merged.family_name)
        .bind(&merged.nickname)
        .bind(&merged.picture)
        .bind(&merged.language)
        .bind(&merged.username)
        .bind(&merged.phone_number)
        .bind(flag(merged.is_active))
        .bind(flag(merged.email_verified))
        .bind(merged.email_verify_sent_date.map(|t| t.to_text()))
        .bind(flag(merged.is_mfa_disabled))
        .bind(&merged.mfa_enrollment_status)
        .bind(&merged.recovery_email_address)
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.0)
        .fetch_optional(conn)
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(StoreError::MissingReference)
}

/// Deletes the user; its UPNs, identities (with their groups), attributes and
/// memberships go with it (ON DELETE CASCADE).
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Inserts many users at once (seeding, imports, benchmarks): multi-row
/// statements of a few hundred rows, in the caller's transaction.
pub async fn insert_many(conn: &mut Conn, records: &[UserRecord]) -> Result<(), StoreError> {
    const COLUMNS_PER_ROW: usize = 25;
    // Stays well under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
    const ROWS_PER_STATEMENT: usize = 400;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "({})",
                    placeholders(i * COLUMNS_PER_ROW + 1, COLUMNS_PER_ROW)
                )
            })
            .collect();
        let sql = format!("INSERT INTO users ({COLUMNS}) VALUES {}", rows.join(", "));
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(&r.id)
                .bind(&r.user_type)
                .bind(&r.owner_id)
                .bind(r.organization_id)
                .bind(&r.display_name)
                .bind(&r.given_name)
                .bind(&r.family_name)
                .bind(&r.nickname)
                .bind(&r.username)
                .bind(&r.picture)
                .bind(&r.language)
                .bind(&r.email_address)
                .bind(flag(r.email_verified))
                .bind(r.email_verify_sent_date.map(|t| t.to_text()))
                .bind(&r.phone_number)
                .bind(flag(r.phone_verified))
                .bind(&r.recovery_email_address)
                .bind(flag(r.is_active))
                .bind(flag(r.is_mfa_disabled))
                .bind(&r.mfa_enrollment_status)
                .bind(r.authentication_method.as_str())
                .bind(r.created.to_text())
                .bind(&r.created_by)
                .bind(r.modified.to_text())
                .bind(&r.modified_by);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
