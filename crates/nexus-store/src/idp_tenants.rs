use nexus_core::idp_tenant::{
    IdpTenant, IdpTenantChanges, JitProvisioning, ManagementCredentials, NewIdpTenant, Secret,
};
use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::{Actor, Audit, Timestamp};
use sqlx::any::AnyRow;

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::RowExt;
use crate::{Conn, Lock, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "name",
            column: "name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "azoTenantName",
            column: "azo_tenant_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "fqdn",
            column: "fqdn",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "loginDomain",
            column: "login_domain",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["name", "azoTenantName", "fqdn", "loginDomain"],
    id_field: "id",
};

const COLUMNS: &str = "id, name, azo_tenant_name, fqdn, login_domain, base_url, \
    (CASE WHEN management_client_id IS NULL THEN 0 ELSE 1 END) AS has_credentials, \
    (CASE WHEN log_stream_token_hash IS NULL THEN 0 ELSE 1 END) AS has_log_stream_token, \
    jit_organization_id, created, created_by, modified, modified_by";

fn from_row(row: &AnyRow) -> Result<IdpTenant, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    Ok(IdpTenant {
        id: row.int("id")?,
        name: row.text("name")?,
        azo_tenant_name: row.text("azo_tenant_name")?,
        fqdn: row.text("fqdn")?,
        login_domain: row.opt_text("login_domain")?,
        base_url: row.opt_text("base_url")?,
        has_management_credentials: row.flag("has_credentials")?,
        jit_provisioning: jit(row.opt_int("jit_organization_id")?),
        has_log_stream_token: row.flag("has_log_stream_token")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

fn jit(organization_id: Option<i32>) -> JitProvisioning {
    JitProvisioning {
        enabled: organization_id.is_some(),
        organization_id,
    }
}

/// Stores a new tenant; `jit_organization`: the organization of
/// `new.jit`, resolved.
pub async fn insert(
    conn: &mut Conn,
    new: &NewIdpTenant,
    jit_organization: Option<i32>,
    actor: &Actor,
) -> Result<IdpTenant, StoreError> {
    let now = Timestamp::now().to_text();
    let credentials = new.credentials.as_ref();
    let sql = format!(
        "INSERT INTO idp_tenants (name, azo_tenant_name, fqdn, login_domain, management_client_id, \
         management_client_secret, management_audience, base_url, created, created_by, modified, modified_by, \
         log_stream_token_hash, jit_organization_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9, $8, $9, $11, $12) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&new.name)
        .bind(&new.azo_tenant_name)
        .bind(new.fqdn.as_str())
        .bind(new.login_domain.as_ref().map(|d| d.as_str()))
        .bind(credentials.map(|c| c.client_id.as_str()))
        .bind(credentials.map(|c| c.client_secret.expose()))
        .bind(credentials.and_then(|c| c.audience.as_deref()))
        .bind(&now)
        .bind(&actor.id)
        .bind(&new.base_url)
        .bind(&new.log_stream_token_hash)
        .bind(jit_organization)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<IdpTenant>, StoreError> {
    get_with(conn, id, Lock::No).await
}

async fn get_with(conn: &mut Conn, id: i32, lock: Lock) -> Result<Option<IdpTenant>, StoreError> {
    let sql = lock.apply(
        conn,
        format!("SELECT {COLUMNS} FROM idp_tenants WHERE id = $1"),
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a tenant by what a path may name it by: the numeric id, else the
/// name, the Auth0 tenant name or the login domain (first match in that order;
/// names compare case-insensitively).
pub async fn resolve(conn: &mut Conn, reference: &str) -> Result<Option<IdpTenant>, StoreError> {
    resolve_with(conn, reference, Lock::No).await
}

/// `resolve`, locking the tenant until the transaction ends (`for_update`).
pub async fn resolve_for_update(
    conn: &mut Conn,
    reference: &str,
) -> Result<Option<IdpTenant>, StoreError> {
    resolve_with(conn, reference, Lock::ForUpdate).await
}

async fn resolve_with(
    conn: &mut Conn,
    reference: &str,
    lock: Lock,
) -> Result<Option<IdpTenant>, StoreError> {
    if let Ok(id) = reference.parse::<i32>() {
        return get_with(conn, id, lock).await;
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM idp_tenants \
         WHERE lower(name) = lower($1) OR lower(azo_tenant_name) = lower($1) OR lower(login_domain) = lower($1) \
         ORDER BY CASE WHEN lower(name) = lower($1) THEN 0 \
                       WHEN lower(azo_tenant_name) = lower($1) THEN 1 ELSE 2 END \
         LIMIT 1"
    );
    let sql = lock.apply(conn, sql);
    let row = sqlx::query(&sql)
        .bind(reference)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The tenant's Management API credentials, if it has any.
pub async fn credentials(
    conn: &mut Conn,
    id: i32,
) -> Result<Option<ManagementCredentials>, StoreError> {
    let row = sqlx::query(
        "SELECT management_client_id, management_client_secret, management_audience \
         FROM idp_tenants WHERE id = $1 AND management_client_id IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(ManagementCredentials {
            client_id: row.text("management_client_id")?,
            client_secret: Secret::new(row.text("management_client_secret")?),
            audience: row.opt_text("management_audience")?,
        })
    })
    .transpose()
}

/// The SHA-256 (hex) of the tenant's log-stream token, if it has one.
pub async fn log_stream_token_hash(conn: &mut Conn, id: i32) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT log_stream_token_hash FROM idp_tenants WHERE id = $1 AND log_stream_token_hash IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| row.text("log_stream_token_hash")).transpose()
}

/// Every stored Management client secret: (tenant id, tenant name, secret).
pub async fn stored_secrets(conn: &mut Conn) -> Result<Vec<(i32, String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, management_client_secret FROM idp_tenants \
         WHERE management_client_secret IS NOT NULL ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.int("id")?,
                row.text("name")?,
                row.text("management_client_secret")?,
            ))
        })
        .collect()
}

/// Replaces a stored secret with the same secret sealed anew, unless it
/// changed meanwhile.
pub async fn replace_secret(
    conn: &mut Conn,
    id: i32,
    before: &str,
    after: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idp_tenants SET management_client_secret = $3 \
         WHERE id = $1 AND management_client_secret = $2",
    )
    .bind(id)
    .bind(before)
    .bind(after)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<IdpTenant>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "idp_tenants", &[], params).await?;
    page.try_map(from_row)
}

/// Applies the changes that differ from `current` (read with
/// `resolve_for_update`); writes nothing when none do. `jit_organization`:
/// the organization of `changes.jit` resolved (`Some(None)`: off).
pub async fn update(
    conn: &mut Conn,
    current: &IdpTenant,
    changes: &IdpTenantChanges,
    jit_organization: Option<Option<i32>>,
    actor: &Actor,
) -> Result<IdpTenant, StoreError> {
    let touches_credentials = changes.credentials.is_some()
        || changes.management_audience.is_some()
        || changes.log_stream_token_hash.is_some();
    let merged = IdpTenant {
        name: changes.name.clone().unwrap_or_else(|| current.name.clone()),
        azo_tenant_name: changes
            .azo_tenant_name
            .clone()
            .unwrap_or_else(|| current.azo_tenant_name.clone()),
        fqdn: changes
            .fqdn
            .as_ref()
            .map_or_else(|| current.fqdn.clone(), |d| d.as_str().to_owned()),
        login_domain: changes
            .login_domain
            .as_ref()
            .map(|d| d.as_str().to_owned())
            .or_else(|| current.login_domain.clone()),
        base_url: changes
            .base_url
            .clone()
            .or_else(|| current.base_url.clone()),
        has_management_credentials: current.has_management_credentials
            || changes.credentials.is_some(),
        jit_provisioning: jit_organization.map_or(current.jit_provisioning, jit),
        has_log_stream_token: current.has_log_stream_token
            || changes.log_stream_token_hash.is_some(),
        ..current.clone()
    };
    if &merged == current && !touches_credentials {
        return Ok(merged);
    }
    let credentials = changes.credentials.as_ref();
    let sql = format!(
        "UPDATE idp_tenants SET name = $2, azo_tenant_name = $3, fqdn = $4, login_domain = $5, \
         management_client_id = COALESCE($6, management_client_id), \
         management_client_secret = COALESCE($7, management_client_secret), \
         management_audience = COALESCE($8, management_audience), \
         modified = $9, modified_by = $10, base_url = $11, \
         log_stream_token_hash = COALESCE($12, log_stream_token_hash), jit_organization_id = $13 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(&merged.name)
        .bind(&merged.azo_tenant_name)
        .bind(&merged.fqdn)
        .bind(&merged.login_domain)
        .bind(credentials.map(|c| c.client_id.as_str()))
        .bind(credentials.map(|c| c.client_secret.expose()))
        .bind(changes.management_audience.as_deref())
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .bind(&merged.base_url)
        .bind(&changes.log_stream_token_hash)
        .bind(merged.jit_provisioning.organization_id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

/// The tenant that issues tokens with this `iss`: `https://{fqdn}/`,
/// `https://{loginDomain}/` or `{baseUrl}/`.
pub async fn by_issuer(conn: &mut Conn, issuer: &str) -> Result<Option<IdpTenant>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM idp_tenants WHERE 'https://' || fqdn || '/' = $1 \
         OR 'https://' || login_domain || '/' = $1 OR base_url || '/' = $1 ORDER BY id LIMIT 1"
    );
    let row = sqlx::query(&sql).bind(issuer).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn delete(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM idp_tenants WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn has_identities(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM identities WHERE idp_tenant_id = $1 LIMIT 1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}
