use nexus_core::list_query::{Field, FieldKind, ListSpec};
use nexus_core::organization::{NewOrganization, Organization, OrganizationChanges};
use nexus_core::values::OrganizationType;
use nexus_core::{Actor, Audit, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{flag, RowExt};
use crate::{for_update, Conn, StoreError};

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
            name: "displayName",
            column: "display_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "type",
            column: "organization_type",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "crmAccountId",
            column: "crm_account_id",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isMfaRequired",
            column: "is_mfa_required",
            kind: FieldKind::Boolean,
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
    search: &["name", "displayName", "crmAccountId"],
    id_field: "id",
};

pub(crate) const COLUMNS: &str = "id, name, display_name, organization_type, crm_account_id, contact, \
    technical_contact, is_active, is_mfa_required, is_self_service, is_enabled_for_preview_features, \
    is_domain_verification_required, default_idp_tenant_id, created, created_by, modified, modified_by";

pub(crate) fn from_row(row: &impl RowExt) -> Result<Organization, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let organization_type = OrganizationType::parse(&row.text("organization_type")?)
        .map_err(|e| StoreError::Corrupt(format!("organization_type {e}")))?;
    Ok(Organization {
        id: row.int("id")?,
        name: row.text("name")?,
        organization_type,
        aliases: Vec::new(),
        contact: row.opt_text("contact")?,
        domains: Vec::new(),
        members: Vec::new(),
        is_active: row.flag("is_active")?,
        products: Vec::new(),
        display_name: row.text("display_name")?,
        applications: Vec::new(),
        crm_account_id: row.text("crm_account_id")?,
        is_mfa_required: row.flag("is_mfa_required")?,
        is_self_service: row.flag("is_self_service")?,
        subscriptions: Vec::new(),
        technical_contact: row.opt_text("technical_contact")?,
        is_enabled_for_preview_features: row.flag("is_enabled_for_preview_features")?,
        is_domain_verification_required: row.flag("is_domain_verification_required")?,
        default_idp_tenant_id: row.opt_int("default_idp_tenant_id")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Stores a new organization; `default_idp_tenant_id`: the tenant its
/// body names, resolved.
pub async fn insert(
    conn: &mut Conn,
    new: &NewOrganization,
    default_idp_tenant_id: Option<i32>,
    actor: &Actor,
) -> Result<Organization, StoreError> {
    let now = Timestamp::now().to_text();
    let sql = format!(
        "INSERT INTO organizations (name, display_name, organization_type, crm_account_id, contact, \
         technical_contact, is_mfa_required, is_self_service, is_enabled_for_preview_features, \
         created, created_by, modified, modified_by, default_idp_tenant_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $11, $12) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&new.name)
        .bind(&new.display_name)
        .bind(new.organization_type.as_str())
        .bind(&new.crm_account_id)
        .bind(&new.contact)
        .bind(&new.technical_contact)
        .bind(flag(new.is_mfa_required))
        .bind(flag(new.is_self_service))
        .bind(flag(new.is_enabled_for_preview_features))
        .bind(&now)
        .bind(&actor.id)
        .bind(default_idp_tenant_id)
        .fetch_one(conn)
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: i32) -> Result<Option<Organization>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM organizations WHERE id = $1");
    one(conn, &sql, id).await
}

/// The organization the query (binding `id`) reads, without the
/// collections kept in other tables.
async fn one(conn: &mut Conn, sql: &str, id: i32) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the organization exists.
pub async fn exists(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// `get`, locking the organization until the transaction ends (`for_update`).
pub async fn get_for_update(conn: &mut Conn, id: i32) -> Result<Option<Organization>, StoreError> {
    let sql = for_update(
        conn,
        &format!("SELECT {COLUMNS} FROM organizations WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// `get`, locking the organization against everything until the
/// transaction ends, new references to it included (`for_delete`).
pub async fn get_for_delete(conn: &mut Conn, id: i32) -> Result<Option<Organization>, StoreError> {
    let sql = crate::backend::for_delete(
        conn,
        &format!("SELECT {COLUMNS} FROM organizations WHERE id = $1"),
    );
    one(conn, &sql, id).await
}

/// The organization named `name`.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> Result<Option<Organization>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM organizations WHERE lower(name) = lower($1)");
    let row = sqlx::query(&sql).bind(name).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &mut Conn, params: &ListParams) -> Result<Page<Organization>, StoreError> {
    let page = fetch_page(conn, &LIST, COLUMNS, "organizations", &[], params).await?;
    page.try_map(from_row)
}

/// Applies the changes that differ from `current` (read with
/// `get_for_update`); writes nothing when none do. `default_idp_tenant_id`:
/// the change of the default tenant, resolved (`Some(None)` clears it).
pub async fn update(
    conn: &mut Conn,
    current: &Organization,
    changes: &OrganizationChanges,
    default_idp_tenant_id: Option<Option<i32>>,
    actor: &Actor,
) -> Result<Organization, StoreError> {
    let merged = Organization {
        contact: changes.contact.clone().or_else(|| current.contact.clone()),
        technical_contact: changes
            .technical_contact
            .clone()
            .or_else(|| current.technical_contact.clone()),
        display_name: changes
            .display_name
            .clone()
            .unwrap_or_else(|| current.display_name.clone()),
        crm_account_id: changes
            .crm_account_id
            .clone()
            .unwrap_or_else(|| current.crm_account_id.clone()),
        is_active: changes.is_active.unwrap_or(current.is_active),
        is_mfa_required: changes.is_mfa_required.unwrap_or(current.is_mfa_required),
        is_enabled_for_preview_features: changes
            .is_enabled_for_preview_features
            .unwrap_or(current.is_enabled_for_preview_features),
        is_domain_verification_required: changes
            .is_domain_verification_required
            .unwrap_or(current.is_domain_verification_required),
        default_idp_tenant_id: default_idp_tenant_id.unwrap_or(current.default_idp_tenant_id),
        ..current.clone()
    };
    if &merged == current {
        return Ok(merged);
    }
    let sql = format!(
        "UPDATE organizations SET contact = $2, technical_contact = $3, display_name = $4, \
         crm_account_id = $5, is_active = $6, is_mfa_required = $7, \
         is_enabled_for_preview_features = $8, is_domain_verification_required = $9, \
         modified = $10, modified_by = $11, default_idp_tenant_id = $12 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(current.id)
        .bind(&merged.contact)
        .bind(&merged.technical_contact)
        .bind(&merged.display_name)
        .bind(&merged.crm_account_id)
        .bind(flag(merged.is_active))
        .bind(flag(merged.is_mfa_required))
        .bind(flag(merged.is_enabled_for_preview_features))
        .bind(flag(merged.is_domain_verification_required))
        .bind(Timestamp::now_after(current.modified).to_text())
        .bind(&actor.id)
        .bind(merged.default_idp_tenant_id)
        .fetch_one(conn)
        .await?;
    Ok(Organization {
        domains: current.domains.clone(),
        ..from_row(&row)?
    })
}

/// What still holds on to an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    /// Users are members of it.
    pub members: bool,
    /// Users have it as their organization.
    pub users: bool,
    /// An import not ended yet creates its users in it.
    pub imports: bool,
    /// An IdP tenant provisions its new users into it just in time.
    pub tenants: bool,
    /// It has a subscription that has not ended (not Cancelled or Expired).
    pub subscriptions: bool,
}

impl Holds {
    pub fn any(&self) -> bool {
        self.members || self.users || self.imports || self.tenants || self.subscriptions
    }
}

/// What holds on to the organization (read after locking it, so that
/// nothing joins it meanwhile).
pub async fn holds(conn: &mut Conn, id: i32) -> Result<Holds, StoreError> {
    let exists = |sql: &str| format!("(CASE WHEN EXISTS ({sql}) THEN 1 ELSE 0 END)");
    let sql = format!(
        "SELECT {} AS members, {} AS users, {} AS imports, {} AS tenants, {} AS subscriptions",
        exists("SELECT 1 FROM memberships WHERE organization_id = $1"),
        exists("SELECT 1 FROM users WHERE organization_id = $1"),
        exists(
            "SELECT 1 FROM import_jobs WHERE organization_id = $1 AND state IN ('Queued', 'Running') \
             UNION ALL SELECT 1 FROM member_import_jobs \
             WHERE organization_id = $1 AND state IN ('Queued', 'Running')"
        ),
        exists("SELECT 1 FROM idp_tenants WHERE jit_organization_id = $1"),
        exists(
            "SELECT 1 FROM subscriptions WHERE organization_id = $1 \
             AND status NOT IN ('Cancelled', 'Expired')"
        ),
    );
    let row = sqlx::query(&sql).bind(id).fetch_one(conn).await?;
    Ok(Holds {
        members: row.flag("members")?,
        users: row.flag("users")?,
        imports: row.flag("imports")?,
        tenants: row.flag("tenants")?,
        subscriptions: row.flag("subscriptions")?,
    })
}

/// Deletes the organization (and its ended import jobs with it).
pub async fn delete(conn: &mut Conn, id: i32) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
