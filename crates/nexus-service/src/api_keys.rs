use nexus_core::audit::resource_type::API_KEY;
use nexus_core::auth::{ApiKey, ApiKeyBody, Authority, CreatedApiKey, NewApiKey, Permissions};
use nexus_core::{Actor, Timestamp, ValidationErrors};
use nexus_store::{api_keys, commit, roles, ListParams, Page};

use crate::auth::{random_token, secret_hash};
use crate::{audit, grants, Nexus, Result, ServiceError};

pub use nexus_store::api_keys::LIST;

const RESOURCE: &str = "API key";

/// Creates a key with a random id and secret; the secret is in the answer only.
/// The key may hold only what its creator holds.
#[tracing::instrument(skip_all)]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    body: ApiKeyBody,
) -> Result<CreatedApiKey> {
    let now = Timestamp::now();
    let new = body.into_new(now)?;
    new.require_future_expiry(now)
        .map_err(ServiceError::Inapplicable)?;
    let id = format!("nk_{}", random_token(12));
    let secret = random_token(32);
    create_with(nexus, actor, authority, &id, &secret, &new).await
}

/// Creates a key with the given id and secret (bootstrap and the CLI).
pub async fn create_with(
    nexus: &Nexus,
    actor: &Actor,
    authority: &Authority,
    id: &str,
    secret: &str,
    new: &NewApiKey,
) -> Result<CreatedApiKey> {
    let mut tx = nexus.store().begin().await?;
    let mut granted = new.permissions.clone();
    if let Some(role_id) = &new.role_id {
        let role = roles::get(&mut tx, role_id).await?.ok_or_else(|| {
            ServiceError::Inapplicable(ValidationErrors::single(
                "roleId",
                format!("no role has the id '{role_id}'"),
            ))
        })?;
        let audience = nexus.authenticator().nexus_audience();
        if role.audience != audience {
            return Err(ServiceError::Inapplicable(ValidationErrors::single(
                "roleId",
                format!(
                    "the role is for '{}'; only roles of Nexus's audience '{audience}' give a key permissions",
                    role.audience
                ),
            )));
        }
        granted = granted.union(&grants::nexus_permissions(nexus, [&role]));
    }
    grants::require_held(authority, &granted)?;
    if api_keys::get(&mut tx, id).await?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "an API key with the id '{id}' already exists"
        )));
    }
    let key = api_keys::insert(&mut tx, id, &secret_hash(secret), new, actor).await?;
    // The key as shown after creation: never its secret.
    audit::record(&mut tx, actor, API_KEY, id, None, Some(&key)).await?;
    commit(tx).await?;
    Ok(CreatedApiKey {
        credential: format!("{}:{secret}", key.id),
        key,
        secret: secret.to_owned(),
    })
}

/// What start-up did with the bootstrap key.
#[derive(Debug, Clone, PartialEq)]
pub enum Bootstrap {
    /// No key had its id: it was created.
    Created(ApiKey),
    /// The key exists with the configured secret.
    Exists(ApiKey),
    /// The key exists with another secret, which it keeps: the configured
    /// secret does not authenticate (unless rotation is asked for).
    SecretDiffers(ApiKey),
    /// The key was given the configured secret and a new year, as asked.
    Rotated(ApiKey),
}

/// What the bootstrap does to a key that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingKey {
    Keep,
    Rotate,
}

/// `NEXUS_BOOTSTRAP_API_KEY=keyId:secret`: creates that admin key (`read
/// write user.sync`, one year) unless a key with that id exists, and says what it
/// found. With `ExistingKey::Rotate`, an existing key takes the configured
/// secret and expires a year from now; a revoked key stays revoked.
pub async fn bootstrap(
    nexus: &Nexus,
    credential: &str,
    existing_key: ExistingKey,
) -> Result<Bootstrap> {
    let (id, secret) = parse_credential(credential).ok_or_else(|| {
        ValidationErrors::single(
            "NEXUS_BOOTSTRAP_API_KEY",
            "must be keyId:secret with a secret of at least 16 characters",
        )
    })?;
    let system = nexus_core::Actor::system("BootstrapApiKey");
    let new = NewApiKey {
        description: Some("bootstrap administrator key".to_owned()),
        // `user.sync` is neither a read nor a write: the administrator holds it
        // too, so that it can make the Action's key.
        permissions: Permissions::parse("read write user.sync").expect("valid permissions"),
        role_id: None,
        expires_at: Timestamp::now().plus_days(365),
    };
    let existing = {
        let mut tx = nexus.store().begin_read().await?;
        api_keys::get_for_verification(&mut tx, id).await?
    };
    let (key, stored_hash) = match existing {
        Some(found) => found,
        None => match create_with(nexus, &system, &Authority::Operator, id, secret, &new).await {
            Ok(created) => return Ok(Bootstrap::Created(created.key)),
            // Another replica created it first: look at what it made.
            Err(ServiceError::Conflict(_)) => {
                let mut tx = nexus.store().begin_read().await?;
                api_keys::get_for_verification(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?
            }
            Err(other) => return Err(other),
        },
    };
    let hash = secret_hash(secret);
    if existing_key == ExistingKey::Keep {
        return Ok(if stored_hash == hash {
            Bootstrap::Exists(key)
        } else {
            Bootstrap::SecretDiffers(key)
        });
    }
    let mut tx = nexus.store().begin().await?;
    let current = api_keys::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let rotated =
        api_keys::replace_secret(&mut tx, &current, &hash, new.expires_at, &system).await?;
    let mut changes = audit::changes(Some(&current), Some(&rotated));
    // Only that the secret changed: its hashes are compared, then redacted.
    changes.extend(audit::changes(
        Some(&serde_json::json!({"secret": stored_hash})),
        Some(&serde_json::json!({"secret": hash})),
    ));
    audit::record_changes(&mut tx, &system, API_KEY, id, changes).await?;
    commit(tx).await?;
    nexus.authenticator().forget_key(id);
    Ok(Bootstrap::Rotated(rotated))
}

/// Splits `keyId:secret`; both parts non-empty, the secret long enough to be one.
pub fn parse_credential(credential: &str) -> Option<(&str, &str)> {
    let (id, secret) = credential.split_once(':')?;
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    (id_ok && secret.len() >= 16).then_some((id, secret))
}

#[tracing::instrument(skip_all)]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<ApiKey>> {
    let mut tx = nexus.store().begin_read().await?;
    Ok(api_keys::list(&mut tx, params).await?)
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str) -> Result<ApiKey> {
    let mut tx = nexus.store().begin_read().await?;
    api_keys::get(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))
}

/// Revokes the key at once (in this process; other replicas stop trusting it
/// when their cache entry ends).
#[tracing::instrument(skip(nexus, actor))]
pub async fn revoke(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let current = api_keys::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(RESOURCE, id))?;
    let revoked = api_keys::revoke(&mut tx, &current, actor).await?;
    audit::record(&mut tx, actor, API_KEY, id, Some(&current), Some(&revoked)).await?;
    commit(tx).await?;
    nexus.authenticator().forget_key(id);
    Ok(())
}
