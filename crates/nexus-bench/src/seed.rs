//! A directory of any size, written by SQL that generates its own rows
//! (recursive CTE on SQLite, generate_series on PostgreSQL), so a million
//! users take seconds to a few minutes rather than hours of API calls.
//!
//! Every value is a function of the user's index `i`; the load generator
//! computes the same functions to build requests that match what is stored.

use nexus_store::{commit, Backend, Store};

pub const CONNECTION_ID: &str = "con_bench";
pub const CONNECTION_NAME: &str = "Username-Password-Authentication";
pub const AUDIENCE: &str = "https://api.bench.example";
pub const ORGANIZATIONS: u64 = 100;
/// The Auth0 client of the one application: every organization subscribes
/// to its product and has it deployed, and every user is assigned to its
/// organization's deployment.
pub const CLIENT_ID: &str = "benchClient";
const ROLES: u64 = 10;
const GROUP_POOL: u64 = 200;
/// Groups 0..MAPPED_GROUPS give a role through a connection map.
const MAPPED_GROUPS: u64 = 20;
const CHUNK: u64 = 50_000;
const T: &str = "'2026-01-01T00:00:00.000000Z'";

pub fn user_id(i: u64) -> String {
    format!("00000000-0000-7000-8000-{i:012}")
}

/// The id of the user's first custom UPN (every user has one, key `app0`).
pub fn upn_id(i: u64) -> String {
    format!("00000000-0000-7000-9000-{i:012}")
}

pub fn groups(i: u64) -> Vec<String> {
    (0..3 + i % 8)
        .map(|k| format!("group-{}", (i * 7 + k * 13) % GROUP_POOL))
        .collect()
}

pub fn attributes(i: u64) -> Vec<(String, String)> {
    (0..2 + i % 4)
        .map(|k| (format!("attr-{k}"), format!("v{i}-{k}")))
        .collect()
}

struct Sql {
    backend: Backend,
}

impl Sql {
    /// `s(i)` for i in lo..hi.
    fn series(&self, lo: u64, hi: u64) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {}) ",
                hi - 1
            ),
            Backend::Postgres => format!(
                "WITH s(i) AS (SELECT generate_series({lo}::bigint, {}::bigint)) ",
                hi - 1
            ),
        }
    }

    fn pad12(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("printf('%012d', {expr})"),
            Backend::Postgres => format!("lpad(CAST({expr} AS TEXT), 12, '0')"),
        }
    }

    fn user_id(&self) -> String {
        format!("'00000000-0000-7000-8000-' || {}", self.pad12("s.i"))
    }
}

/// k = 0..9, to fan each user out into several rows.
const KS: &str = "(SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
    UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
    UNION ALL SELECT 8 UNION ALL SELECT 9) ks";

fn text(expr: &str) -> String {
    format!("CAST({expr} AS TEXT)")
}

/// The shared rows (organizations, the tenant, roles, connection maps),
/// then `users` users with everything around them.
pub async fn seed(store: &Store, users: u64, mut progress: impl FnMut(u64)) -> anyhow::Result<()> {
    let sql = Sql {
        backend: store.backend(),
    };
    let audit = format!("{T}, 'bench', {T}, 'bench'");
    let mut tx = store.begin().await?;
    let statements = [
        format!(
            "{}INSERT INTO organizations (name, display_name, organization_type, crm_account_id, created, created_by, modified, modified_by) \
             SELECT 'org-' || {i}, 'Organization ' || {i}, 'Customer', 'crm-' || {i}, {audit} FROM s",
            sql.series(0, ORGANIZATIONS),
            i = text("s.i"),
        ),
        format!(
            "INSERT INTO idp_tenants (name, azo_tenant_name, fqdn, created, created_by, modified, modified_by) \
             VALUES ('bench', 'bench', 'bench.auth0.example', {audit})"
        ),
        format!(
            "{}INSERT INTO roles (id, name, audience, description, created, created_by, modified, modified_by) \
             SELECT 'bench-role-' || {i}, 'Role ' || {i}, '{AUDIENCE}', NULL, {audit} FROM s",
            sql.series(0, ROLES),
            i = text("s.i"),
        ),
        format!(
            "{}INSERT INTO role_permissions (role_id, code) \
             SELECT 'bench-role-' || {i}, 'read:thing-' || {i} FROM s",
            sql.series(0, ROLES),
            i = text("s.i"),
        ),
        format!(
            "{}INSERT INTO role_connection_maps (role_id, name, group_name, azo_connection_id, created, created_by, modified, modified_by) \
             SELECT 'bench-role-' || {r}, NULL, 'group-' || {i}, '{CONNECTION_NAME}', {audit} FROM s",
            sql.series(0, MAPPED_GROUPS),
            i = text("s.i"),
            r = text(&format!("s.i % {ROLES}")),
        ),
        format!(
            "INSERT INTO products (name, display_name, created, created_by, modified, modified_by) \
             VALUES ('bench', 'Bench', {audit})"
        ),
        format!(
            "INSERT INTO applications (product_id, name, display_name, created, created_by, modified, modified_by) \
             VALUES (1, 'bench', 'Bench', {audit})"
        ),
        format!(
            "INSERT INTO application_clients (application_id, idp_tenant_id, client_id) \
             VALUES (1, 1, '{CLIENT_ID}')"
        ),
        format!(
            "{}INSERT INTO subscriptions (organization_id, product_id, status, created, created_by, modified, modified_by) \
             SELECT 1 + s.i, 1, 'Active', {audit} FROM s",
            sql.series(0, ORGANIZATIONS),
        ),
        format!(
            "{}INSERT INTO application_deployments (application_id, subscription_id, name, display_name, status, \
             created, created_by, modified, modified_by) \
             SELECT 1, 1 + s.i, 'bench-' || {i}, 'Bench ' || {i}, 'Active', {audit} FROM s",
            sql.series(0, ORGANIZATIONS),
            i = text("s.i"),
        ),
    ];
    for statement in &statements {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    commit(tx).await?;

    let uid = sql.user_id();
    let i = text("s.i");
    let mut lo = 0;
    while lo < users {
        let hi = (lo + CHUNK).min(users);
        let series = sql.series(lo, hi);
        let statements = [
            format!(
                "{series}INSERT INTO users (id, organization_id, display_name, given_name, family_name, email_address, \
                 email_verified, authentication_method, created, created_by, modified, modified_by) \
                 SELECT {uid}, 1 + s.i % {ORGANIZATIONS}, 'Bench User ' || {i}, 'Bench', 'User' || {family}, \
                 'user' || {i} || '@bench.example.com', 1, 'Database', {audit} FROM s",
                family = text("s.i % 1000"),
            ),
            format!(
                "{series}INSERT INTO memberships (id, organization_id, user_id, is_guest, is_mfa_required, created, created_by, modified, modified_by) \
                 SELECT '00000000-0000-7000-a000-' || {pad}, 1 + s.i % {ORGANIZATIONS}, {uid}, 0, 0, {audit} FROM s",
                pad = sql.pad12("s.i"),
            ),
            format!(
                "{series}INSERT INTO identities (user_id, idp_tenant_id, strategy, azo_user_id, azo_connection_id, azo_connection_name, \
                 created, created_by, modified, modified_by) \
                 SELECT {uid}, 1, 'auth0', 'auth0|bench' || {i}, '{CONNECTION_ID}', '{CONNECTION_NAME}', {audit} FROM s"
            ),
            format!(
                "{series}INSERT INTO identity_groups (identity_id, group_name, created) \
                 SELECT d.id, 'group-' || {group}, {T} FROM s CROSS JOIN {KS} \
                 JOIN identities d ON d.user_id = {uid} AND d.idp_tenant_id = 1 WHERE ks.k < 3 + s.i % 8",
                group = text(&format!("(s.i * 7 + ks.k * 13) % {GROUP_POOL}")),
            ),
            format!(
                "{series}INSERT INTO user_attributes (user_id, name, value, created, modified) \
                 SELECT {uid}, 'attr-' || {k}, 'v' || {i} || '-' || {k}, {T}, {T} FROM s CROSS JOIN {KS} \
                 WHERE ks.k < 2 + s.i % 4",
                k = text("ks.k"),
            ),
            format!(
                "{series}INSERT INTO custom_upns (id, user_id, client_upn_key, custom_upn_value, created, created_by, modified, modified_by) \
                 SELECT '00000000-0000-7000-9' || {k} || '00-' || {pad}, {uid}, 'app' || {k}, \
                 'u' || {i} || '@app' || {k} || '.example.com', {audit} FROM s CROSS JOIN {KS} WHERE ks.k < 1 + s.i % 3",
                k = text("ks.k"),
                pad = sql.pad12("s.i"),
            ),
            format!(
                "{series}INSERT INTO user_roles (user_id, role_id, expires, created, created_by, modified, modified_by) \
                 SELECT {uid}, 'bench-role-' || {role}, NULL, {audit} FROM s",
                role = text(&format!("s.i % {ROLES}")),
            ),
            // Deployment n is organization n's (both from 1).
            format!(
                "{series}INSERT INTO application_deployment_users (deployment_id, user_id, is_active, \
                 created, created_by, modified, modified_by) \
                 SELECT 1 + s.i % {ORGANIZATIONS}, {uid}, 1, {audit} FROM s"
            ),
        ];
        let mut tx = store.begin().await?;
        for statement in &statements {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        commit(tx).await?;
        progress(hi);
        lo = hi;
    }
    // PostgreSQL plans with statistics (autovacuum would gather them soon).
    // SQLite is left without: with STAT4 samples present it re-plans every
    // statement whose parameter meets an indexed column on each new value,
    // and Nexus itself never runs ANALYZE.
    if store.backend() == Backend::Postgres {
        let mut tx = store.begin().await?;
        sqlx::query("ANALYZE").execute(&mut *tx).await?;
        commit(tx).await?;
    }
    Ok(())
}
