//! An organization's e-mail domains and their verification.

use std::collections::HashMap;

use nexus_core::list_query::{Field, FieldKind, ListSpec, Literal};
use nexus_core::organization_domain::{
    DomainVerificationMethod, NewOrganizationDomain, OrganizationDomain,
};
use nexus_core::values::AuthenticationMethod;
use nexus_core::{Actor, Audit, Timestamp};

use crate::list::{fetch_page, ListParams, Page};
use crate::rows::{group_by_parent, ChildRows, RowExt};
use crate::{for_update, Conn, StoreError};

pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "domainId",
            column: "d.id",
            kind: FieldKind::Integer,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "domain",
            column: "d.domain",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "authenticationMethod",
            column: "d.authentication_method",
            kind: FieldKind::Text,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "d.created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["domain"],
    id_field: "domainId",
};

/// The domain's columns, and the organization that has verified the domain
/// (this one or another).
const COLUMNS: &str = "d.id, d.organization_id, d.domain, d.verification_method, \
    d.authentication_method, d.domain_source, d.verification_code, d.verification_code_expires, \
    d.verified, d.created, d.created_by, d.modified, d.modified_by, \
    (SELECT v.organization_id FROM organization_domains v \
     WHERE v.domain = d.domain AND v.verified IS NOT NULL) AS owner_organization_id";
const FROM: &str = "organization_domains d";

fn from_row(row: &impl RowExt) -> Result<OrganizationDomain, StoreError> {
    let Audit {
        created,
        created_by,
        modified,
        modified_by,
    } = row.audit()?;
    let corrupt = |column: &str, e: String| StoreError::Corrupt(format!("{column} {e}"));
    let verified = row.opt_timestamp("verified")?;
    Ok(OrganizationDomain {
        domain_id: row.int("id")?,
        domain: row.text("domain")?,
        organization_id: row.int("organization_id")?,
        owner_organization_id: row.opt_int("owner_organization_id")?,
        is_verified: verified.is_some(),
        verified,
        verification_code: row.opt_text("verification_code")?,
        verification_code_expires: row.opt_timestamp("verification_code_expires")?,
        verification_method: DomainVerificationMethod::parse(&row.text("verification_method")?)
            .map_err(|e| corrupt("verification_method", e))?,
        authentication_method: AuthenticationMethod::parse(&row.text("authentication_method")?)
            .map_err(|e| corrupt("authentication_method", e))?,
        domain_source: row.opt_text("domain_source")?,
        created,
        created_by,
        modified,
        modified_by,
    })
}

/// Adds the domain to the organization; returns its id.
pub async fn insert(
    conn: &mut Conn,
    organization_id: i32,
    new: &NewOrganizationDomain,
    actor: &Actor,
) -> Result<i32, StoreError> {
    let row = sqlx::query(
        "INSERT INTO organization_domains (organization_id, domain, verification_method, \
         authentication_method, domain_source, created, created_by, modified, modified_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7) RETURNING id",
    )
    .bind(organization_id)
    .bind(new.domain.as_str())
    .bind(new.verification_method.as_str())
    .bind(new.authentication_method.as_str())
    .bind(&new.domain_source)
    .bind(Timestamp::now().to_text())
    .bind(&actor.id)
    .fetch_one(conn)
    .await?;
    row.int("id")
}

/// The organization's domain `id`.
pub async fn get(
    conn: &mut Conn,
    organization_id: i32,
    id: i32,
) -> Result<Option<OrganizationDomain>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE d.organization_id = $1 AND d.id = $2");
    let row = sqlx::query(&sql)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the organization has the domain `id`, locking it until the
/// transaction ends: what is read of it afterwards stays so.
pub async fn lock(conn: &mut Conn, organization_id: i32, id: i32) -> Result<bool, StoreError> {
    let sql = for_update(
        conn,
        "SELECT id FROM organization_domains WHERE organization_id = $1 AND id = $2",
    );
    let row = sqlx::query(&sql)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

pub async fn list(
    conn: &mut Conn,
    organization_id: i32,
    params: &ListParams,
) -> Result<Page<OrganizationDomain>, StoreError> {
    let scope = [(
        "d.organization_id",
        Literal::Integer(organization_id.into()),
    )];
    fetch_page(conn, &LIST, COLUMNS, FROM, &scope, params)
        .await?
        .try_map(from_row)
}

/// The domains of each of the organizations, in one query, by organization.
pub async fn of_organizations(
    conn: &mut Conn,
    organization_ids: &[i32],
) -> Result<HashMap<i32, Vec<OrganizationDomain>>, StoreError> {
    let select = format!("SELECT {COLUMNS} FROM {FROM}");
    let rows = ChildRows {
        select: &select,
        parent: "d.organization_id",
        order: "d.id",
    };
    group_by_parent(conn, rows, organization_ids, from_row, |d| {
        d.organization_id
    })
    .await
}

/// The organization other than `organization_id` that has verified
/// `domain`, if one has.
pub async fn verified_elsewhere(
    conn: &mut Conn,
    organization_id: i32,
    domain: &str,
) -> Result<Option<i32>, StoreError> {
    let row = sqlx::query(
        "SELECT organization_id FROM organization_domains \
         WHERE domain = $1 AND verified IS NOT NULL AND organization_id <> $2",
    )
    .bind(domain)
    .bind(organization_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| row.int("organization_id")).transpose()
}

/// Gives the domain a new verification code, valid until `expires`.
pub async fn set_code(
    conn: &mut Conn,
    current: &OrganizationDomain,
    code: &str,
    expires: Timestamp,
    actor: &Actor,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organization_domains SET verification_code = $2, verification_code_expires = $3, \
         modified = $4, modified_by = $5 WHERE id = $1",
    )
    .bind(current.domain_id)
    .bind(code)
    .bind(expires.to_text())
    .bind(Timestamp::now_after(current.modified).to_text())
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the domain verified. Another organization's verification of the
/// same domain, even one not yet committed, makes this a `Conflict`.
pub async fn set_verified(
    conn: &mut Conn,
    current: &OrganizationDomain,
    actor: &Actor,
) -> Result<(), StoreError> {
    let now = Timestamp::now_after(current.modified).to_text();
    sqlx::query(
        "UPDATE organization_domains SET verified = $2, modified = $2, modified_by = $3 WHERE id = $1",
    )
    .bind(current.domain_id)
    .bind(&now)
    .bind(&actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, organization_id: i32, id: i32) -> Result<bool, StoreError> {
    let deleted =
        sqlx::query("DELETE FROM organization_domains WHERE organization_id = $1 AND id = $2")
            .bind(organization_id)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Whether `domain` (lower-case, as stored) is a verified domain of the
/// organization.
pub async fn is_verified(
    conn: &mut Conn,
    organization_id: i32,
    domain: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM organization_domains \
         WHERE organization_id = $1 AND domain = $2 AND verified IS NOT NULL",
    )
    .bind(organization_id)
    .bind(domain)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
