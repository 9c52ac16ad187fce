use nexus_core::audit::resource_type::IDP_TENANT;
use nexus_core::audit::Changes;
use nexus_core::idp_tenant::{IdpTenant, IdpTenantBody, Jit, ManagementCredentials};
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{commit, idp_tenants, Conn, ListParams, Page};
use serde_json::{json, Value};

use crate::users::find_organization;
use crate::{audit, Nexus, Result, ServiceError};

pub use nexus_store::idp_tenants::LIST;

const RESOURCE: &str = "IdP tenant";

/// Management client secrets are stored sealed; without a secret key they
/// cannot be stored at all.
fn seal(nexus: &Nexus, credentials: &mut Option<ManagementCredentials>) -> Result<()> {
    if let Some(credentials) = credentials {
        credentials.client_secret =
            nexus
                .auth0()
                .seal(&credentials.client_secret)
                .map_err(|error| {
                    ValidationErrors::single(
                        "managementClientSecret",
                        format!("cannot be stored: {error}"),
                    )
                })?;
    }
    Ok(())
}

/// What a change of the tenant records: its changed fields, and those of its
/// Management credentials, which the tenant's representation does not show —
/// the client secret only as changed, never its value.
fn changes(
    before: Option<(&IdpTenant, Option<&ManagementCredentials>)>,
    after: Option<(&IdpTenant, Option<&ManagementCredentials>)>,
) -> Changes {
    let credentials = |side: Option<(&IdpTenant, Option<&ManagementCredentials>)>| -> Value {
        match side.and_then(|(_, credentials)| credentials) {
            // The secret as stored (sealed): compared, then redacted.
            Some(c) => json!({"managementClientId": c.client_id,
                "managementClientSecret": c.client_secret.expose(),
                "managementAudience": c.audience}),
            None => json!({}),
        }
    };
    let mut changes = audit::changes(before.map(|b| b.0), after.map(|a| a.0));
    changes.extend(nexus_core::audit::changes(
        Some(&credentials(before)),
        Some(&credentials(after)),
    ));
    changes
}

/// Records a log-stream token set (or replaced, or gone with its tenant)
/// as changed, never its value: `had` and `has` say whether one was set
/// before and after, `set` whether the write gave one.
fn record_token(changes: &mut Changes, had: bool, has: bool, set: bool) {
    let side = |present: bool| {
        if present {
            Value::from(nexus_core::audit::REDACTED)
        } else {
            Value::Null
        }
    };
    if set || had != has {
        changes.insert(
            "logStreamToken".to_owned(),
            nexus_core::audit::Change {
                before: side(had),
                after: side(has),
            },
        );
    }
}

/// The tenant's credentials when it has any: read only then.
async fn credentials_of(
    conn: &mut Conn,
    tenant: &IdpTenant,
) -> Result<Option<ManagementCredentials>> {
    if !tenant.has_management_credentials {
        return Ok(None);
    }
    Ok(idp_tenants::credentials(conn, tenant.id).await?)
}

/// The organization `jit` names: `Some(None)` turns provisioning off;
/// 422 when no organization has that id or name.
async fn jit_organization(conn: &mut Conn, jit: Option<&Jit>) -> Result<Option<Option<i32>>> {
    let reference = match jit {
        None => return Ok(None),
        Some(Jit::Off) => return Ok(Some(None)),
        Some(Jit::On(reference)) => reference,
    };
    match find_organization(conn, reference).await? {
        Some(organization) => Ok(Some(Some(organization.id))),
        None => Err(ServiceError::Inapplicable(ValidationErrors::single(
            "jitProvisioning.organization",
            "no such organization",
        ))),
    }
}

/// Resolves a path's `{idpTenantId}` (id, name, azoTenantName or loginDomain).
pub(crate) async fn resolve(conn: &mut Conn, reference: &str) -> Result<IdpTenant> {
    idp_tenants::resolve(conn, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))
}

#[tracing::instrument(skip_all)]
pub async fn create(nexus: &Nexus, actor: &Actor, body: IdpTenantBody) -> Result<IdpTenant> {
    let mut new = body.into_new()?;
    seal(nexus, &mut new.credentials)?;
    let mut tx = nexus.store().begin().await?;
    let jit_organization = jit_organization(&mut tx, new.jit.as_ref()).await?;
    let tenant = idp_tenants::insert(&mut tx, &new, jit_organization.flatten(), actor).await?;
    let mut changes = changes(None, Some((&tenant, new.credentials.as_ref())));
    record_token(&mut changes, false, tenant.has_log_stream_token, false);
    audit::record_changes(&mut tx, actor, IDP_TENANT, &tenant.id.to_string(), changes).await?;
    commit(tx).await?;
    Ok(tenant)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, reference: &str) -> Result<IdpTenant> {
    let mut tx = nexus.store().begin_read().await?;
    resolve(&mut tx, reference).await
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<IdpTenant>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(idp_tenants::list(&mut tx, params).await?)
}

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn update(
    nexus: &Nexus,
    actor: &Actor,
    reference: &str,
    body: IdpTenantBody,
) -> Result<IdpTenant> {
    let mut changes = body.into_changes()?;
    seal(nexus, &mut changes.credentials)?;
    let mut tx = nexus.store().begin().await?;
    let current = idp_tenants::resolve_for_update(&mut tx, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))?;
    let touches_credentials =
        changes.credentials.is_some() || changes.management_audience.is_some();
    let credentials_before = if touches_credentials {
        credentials_of(&mut tx, &current).await?
    } else {
        None
    };
    let jit_organization = jit_organization(&mut tx, changes.jit.as_ref()).await?;
    let updated = idp_tenants::update(&mut tx, &current, &changes, jit_organization, actor).await?;
    if matches!(changes.jit, Some(Jit::On(_))) && !updated.has_management_credentials {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' has no Management credentials: just-in-time provisioning reads \
             new users from Auth0; give managementClientId and managementClientSecret",
            updated.name
        )));
    }
    let credentials_after = if touches_credentials {
        credentials_of(&mut tx, &updated).await?
    } else {
        None
    };
    let mut recorded = self::changes(
        Some((&current, credentials_before.as_ref())),
        Some((&updated, credentials_after.as_ref())),
    );
    record_token(
        &mut recorded,
        current.has_log_stream_token,
        updated.has_log_stream_token,
        changes.log_stream_token_hash.is_some(),
    );
    let id = current.id.to_string();
    audit::record_changes(&mut tx, actor, IDP_TENANT, &id, recorded).await?;
    commit(tx).await?;
    Ok(updated)
}

/// Deletes a tenant no identity is linked to; a tenant in use is a conflict,
/// so that no user loses a link by accident.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, reference: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let tenant = idp_tenants::resolve_for_update(&mut tx, reference)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, reference))?;
    if idp_tenants::has_identities(&mut tx, tenant.id).await? {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' still has linked identities; unlink them first",
            tenant.name
        )));
    }
    let credentials = credentials_of(&mut tx, &tenant).await?;
    idp_tenants::delete(&mut tx, tenant.id).await?;
    let mut changes = changes(Some((&tenant, credentials.as_ref())), None);
    record_token(&mut changes, tenant.has_log_stream_token, false, false);
    audit::record_changes(&mut tx, actor, IDP_TENANT, &tenant.id.to_string(), changes).await?;
    commit(tx).await?;
    Ok(())
}

/// At start: every stored Management client secret must open with the
/// configured keys. Those sealed with a previous key, or kept in plain text
/// by an older Nexus, are sealed again with the current key. Returns how many
/// were; fails (and the server must not start) when one cannot be read.
pub async fn reseal_stored_secrets(nexus: &Nexus) -> Result<usize> {
    let sealer = nexus.auth0().sealer();
    let mut tx = nexus.store().begin().await?;
    let mut resealed = 0;
    for (id, name, stored) in idp_tenants::stored_secrets(&mut tx).await? {
        match sealer.reseal(&stored) {
            Ok(None) => {}
            Ok(Some(sealed)) => {
                idp_tenants::replace_secret(&mut tx, id, &stored, &sealed).await?;
                resealed += 1;
            }
            Err(error) => {
                tracing::error!(tenant = %name, %error, "a stored Management client secret cannot be read");
                return Err(error.into());
            }
        }
    }
    commit(tx).await?;
    Ok(resealed)
}
