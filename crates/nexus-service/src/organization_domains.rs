//! An organization's domains, proven by a DNS TXT record: generate a code,
//! publish `nexus-verification=<code>` at `_nexus-verification.<domain>`,
//! verify. A domain is verified by one organization at most.

use std::time::Duration;

use nexus_core::audit::resource_type;
use nexus_core::organization_domain::{
    verification_record_name, verification_record_value, CreateOrganizationDomainBody,
    OrganizationDomain,
};
use nexus_core::{Actor, Timestamp};
use nexus_store::{
    commit, organization_domains, organizations, Conn, ListParams, Page, StoreError,
};

use crate::dns::{self, DnsConfig};
use crate::{audit, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::organization_domains::LIST;

const ORGANIZATION: &str = "organization";
const DOMAIN: &str = "domain";

/// How domains are verified.
#[derive(Debug, Clone)]
pub struct DomainConfig {
    /// How long a generated verification code can be used.
    pub code_ttl: Duration,
    pub dns: DnsConfig,
}

impl DomainConfig {
    pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
}

impl Default for DomainConfig {
    fn default() -> Self {
        DomainConfig {
            code_ttl: Self::DEFAULT_CODE_TTL,
            dns: DnsConfig::default(),
        }
    }
}

/// Records a change of the domain, named `organizationId/domainId` in the
/// audit trail.
async fn record(
    conn: &mut Conn,
    actor: &Actor,
    domain: &OrganizationDomain,
    before: Option<&OrganizationDomain>,
    after: Option<&OrganizationDomain>,
) -> Result<()> {
    let id = format!("{}/{}", domain.organization_id, domain.domain_id);
    audit::record(
        conn,
        actor,
        resource_type::ORGANIZATION_DOMAIN,
        &id,
        before,
        after,
    )
    .await
}

async fn require_organization(conn: &mut Conn, id: &str) -> Result<i32> {
    let numeric = numeric_id(ORGANIZATION, id)?;
    match organizations::exists(conn, numeric).await? {
        true => Ok(numeric),
        false => Err(ServiceError::not_found(ORGANIZATION, id)),
    }
}

/// The ids of an existing organization and of a domain; 404 for an
/// unknown organization.
async fn ids(conn: &mut Conn, organization: &str, domain_id: &str) -> Result<(i32, i32)> {
    let organization_id = require_organization(conn, organization).await?;
    Ok((organization_id, numeric_id(DOMAIN, domain_id)?))
}

/// The organization's domain; 404 for an unknown organization or domain.
async fn require_domain(
    conn: &mut Conn,
    organization: &str,
    domain_id: &str,
) -> Result<OrganizationDomain> {
    let (organization_id, id) = ids(conn, organization, domain_id).await?;
    organization_domains::get(conn, organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DOMAIN, domain_id))
}

/// The organization's domain, locked until the transaction ends.
async fn lock_domain(
    conn: &mut Conn,
    organization: &str,
    domain_id: &str,
) -> Result<OrganizationDomain> {
    let (organization_id, id) = ids(conn, organization, domain_id).await?;
    if !organization_domains::lock(conn, organization_id, id).await? {
        return Err(ServiceError::not_found(DOMAIN, domain_id));
    }
    organization_domains::get(conn, organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DOMAIN, domain_id))
}

fn verified_elsewhere(domain: &str, other: i32) -> ServiceError {
    ServiceError::Conflict(format!(
        "the domain {domain} is verified by another organization (id {other})"
    ))
}

/// CreateOrganizationDomain. A domain another organization has verified
/// cannot be claimed.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    body: CreateOrganizationDomainBody,
) -> Result<OrganizationDomain> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    if let Some(other) =
        organization_domains::verified_elsewhere(&mut tx, organization_id, new.domain.as_str())
            .await?
    {
        return Err(verified_elsewhere(new.domain.as_str(), other));
    }
    let id = match organization_domains::insert(&mut tx, organization_id, &new, actor).await {
        Ok(id) => id,
        // The organization was deleted since it was read.
        Err(StoreError::MissingReference) => {
            return Err(ServiceError::not_found(ORGANIZATION, organization))
        }
        Err(other) => return Err(other.into()),
    };
    let domain = organization_domains::get(&mut tx, organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DOMAIN, id.to_string()))?;
    record(&mut tx, actor, &domain, None, Some(&domain)).await?;
    commit(tx).await?;
    Ok(domain)
}

#[tracing::instrument(skip(nexus, params))]
pub async fn list(
    nexus: &Nexus,
    organization: &str,
    params: &ListParams,
) -> Result<Page<OrganizationDomain>> {
    let mut tx = nexus.store().begin_read().await?;
    let organization_id = require_organization(&mut tx, organization).await?;
    Ok(organization_domains::list(&mut tx, organization_id, params).await?)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, organization: &str, domain_id: &str) -> Result<OrganizationDomain> {
    let mut tx = nexus.store().begin_read().await?;
    require_domain(&mut tx, organization, domain_id).await
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    domain_id: &str,
) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let before = lock_domain(&mut tx, organization, domain_id).await?;
    organization_domains::delete(&mut tx, before.organization_id, before.domain_id).await?;
    record(&mut tx, actor, &before, Some(&before), None).await?;
    commit(tx).await?;
    Ok(())
}

/// GenerateOrganizationDomainVerificationCode: a new random code (the one
/// before it stops working), valid for the configured time.
#[tracing::instrument(skip(nexus, actor))]
pub async fn generate_code(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    domain_id: &str,
) -> Result<OrganizationDomain> {
    // 20 random bytes: 32 base32 characters, lower case for DNS tools.
    let code = base32_lower(&rand::random::<[u8; 20]>());
    let expires = Timestamp::now().plus(nexus.domains().code_ttl);
    let mut tx = nexus.store().begin().await?;
    let before = lock_domain(&mut tx, organization, domain_id).await?;
    organization_domains::set_code(&mut tx, &before, &code, expires, actor).await?;
    let after = organization_domains::get(&mut tx, before.organization_id, before.domain_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DOMAIN, domain_id))?;
    record(&mut tx, actor, &after, Some(&before), Some(&after)).await?;
    commit(tx).await?;
    Ok(after)
}

/// VerifyOrganizationDomain: the domain is verified when the TXT record
/// `_nexus-verification.<domain>` holds `nexus-verification=<code>` with the
/// domain's current, unexpired code. The lookup happens outside any
/// transaction; the code is checked again, locked, before the domain is
/// marked verified.
#[tracing::instrument(skip(nexus, actor))]
pub async fn verify(
    nexus: &Nexus,
    actor: &Actor,
    organization: &str,
    domain_id: &str,
) -> Result<OrganizationDomain> {
    let seen = {
        let mut tx = nexus.store().begin_read().await?;
        require_domain(&mut tx, organization, domain_id).await?
    };
    if seen.is_verified {
        return Ok(seen);
    }
    let code = usable_code(&seen)?;
    let name = verification_record_name(&seen.domain);
    let expected = verification_record_value(&code);
    let records = dns::txt_records(&nexus.domains().dns, &name)
        .await
        .map_err(|e| {
            ServiceError::DnsUnavailable(format!("{e}; nothing was changed, try again later"))
        })?;
    if !records.contains(&expected) {
        return Err(ServiceError::Conflict(if records.is_empty() {
            format!("no TXT record was found at {name}; publish one holding exactly {expected} and verify again")
        } else {
            format!("the TXT records at {name} do not hold {expected} (found: {}); publish it exactly and verify again",
                records.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", "))
        }));
    }
    let mut tx = nexus.store().begin().await?;
    let before = lock_domain(&mut tx, organization, domain_id).await?;
    if before.is_verified {
        return Ok(before);
    }
    if before.verification_code.as_deref() != Some(code.as_str()) {
        return Err(ServiceError::Conflict(
            "a new verification code was generated meanwhile; publish it and verify again"
                .to_owned(),
        ));
    }
    usable_code(&before)?;
    if let Some(other) =
        organization_domains::verified_elsewhere(&mut tx, before.organization_id, &before.domain)
            .await?
    {
        return Err(verified_elsewhere(&before.domain, other));
    }
    // A verification by another organization racing this one is refused by
    // the unique index (`Conflict`).
    organization_domains::set_verified(&mut tx, &before, actor).await?;
    let after = organization_domains::get(&mut tx, before.organization_id, before.domain_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DOMAIN, domain_id))?;
    record(&mut tx, actor, &after, Some(&before), Some(&after)).await?;
    commit(tx).await?;
    Ok(after)
}

/// The domain's code, if one was generated and has not expired.
fn usable_code(domain: &OrganizationDomain) -> Result<String> {
    match (&domain.verification_code, domain.verification_code_expires) {
        (Some(code), Some(expires)) if expires > Timestamp::now() => Ok(code.clone()),
        (Some(_), _) => Err(ServiceError::Conflict(
            "the verification code has expired; generate a new one (generate-code), publish it and verify again"
                .to_owned(),
        )),
        (None, _) => Err(ServiceError::Conflict(
            "no verification code has been generated for this domain; generate one (generate-code), publish it and verify"
                .to_owned(),
        )),
    }
}

/// RFC 4648 base32 without padding, in lower case.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base32_lower;

    #[test]
    fn base32_of_known_bytes() {
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32_lower(&[0u8; 20]).len(), 32);
    }
}
