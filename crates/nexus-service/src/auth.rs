//! Verifying credentials: API keys (`Basic`) and Auth0 access tokens
//! (`Bearer`, always with the calling application's API key).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nexus_core::audit::ActorType;
use nexus_core::auth::{ApiKey, Authority, Permissions, DEFAULT_NEXUS_AUDIENCE};
use nexus_core::idp_tenant::IdpTenant;
use nexus_core::role::Role;
use nexus_core::user::User;
use nexus_core::Timestamp;
use nexus_store::users::UserWithRoles;
use nexus_store::{
    api_keys, identities, idp_tenants, roles, sts_clients, users, Store, StoreError,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::secrets::Sealer;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The audience of access tokens for Nexus itself; without one, Bearer
    /// tokens are refused.
    pub api_audience: Option<String>,
    /// How long a verified API key is trusted without asking the database.
    pub key_cache_ttl: Duration,
    /// An unknown `kid` refreshes a tenant's JWKS at most this often.
    pub jwks_min_refresh: Duration,
    /// How long fetching a tenant's JWKS may take.
    pub jwks_timeout: Duration,
    /// Clock leeway for `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// Failed authentications allowed per client address, API key id and
    /// minute; more are answered 429 without checking.
    pub failures_per_minute: u32,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seals the Auth0 Management client secrets kept in the database.
    pub sealer: Sealer,
}

impl AuthConfig {
    /// The audience whose roles give Nexus permissions: the API audience, or
    /// a fixed one when none is configured.
    pub fn nexus_audience(&self) -> &str {
        self.api_audience
            .as_deref()
            .unwrap_or(DEFAULT_NEXUS_AUDIENCE)
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            api_audience: None,
            key_cache_ttl: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(30),
            jwks_timeout: Duration::from_secs(3),
            leeway_seconds: 30,
            failures_per_minute: 30,
            trusted_proxies: Vec::new(),
            sealer: Sealer::default(),
        }
    }
}

/// Whose failed authentications count together: one client address trying
/// one API key id (or no readable one). Failures against one key do not
/// block another key's valid credentials from the same address, as behind a
/// load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FailureKey {
    pub address: IpAddr,
    pub key_id: Option<String>,
}

/// What a request presented.
pub enum Credentials {
    Basic {
        key_id: String,
        secret: String,
    },
    Bearer {
        token: String,
        application_key: Option<(String, String)>,
    },
}

impl Credentials {
    /// The API key id presented: the Basic key, or a Bearer token's
    /// application key.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Credentials::Basic { key_id, .. } => Some(key_id),
            Credentials::Bearer {
                application_key, ..
            } => application_key.as_ref().map(|(id, _)| id.as_str()),
        }
    }
}

/// An authenticated caller: its id (for `createdBy`/`modifiedBy`) and what
/// it holds.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    pub kind: ActorType,
    /// The IdP tenant that issued the caller's token.
    pub tenant_id: Option<i32>,
    pub authority: Authority,
}

/// Who a verified token names.
struct TokenSubject {
    id: String,
    kind: ActorType,
    tenant_id: i32,
    permissions: Permissions,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials are missing, malformed, unknown, expired, revoked or
    /// do not verify. The text is safe to show: it never echoes a secret.
    #[error("{detail}")]
    Rejected { reason: Rejection, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why credentials were refused, in a few kinds an operator can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// No credentials, or credentials in no form Nexus reads.
    Malformed,
    /// An API key that does not exist, or a wrong secret (not told apart).
    UnknownKey,
    Revoked,
    Expired,
    /// A Bearer token that does not verify.
    InvalidToken,
    /// A Bearer token from an issuer that is not a trusted IdP tenant.
    UntrustedIssuer,
    /// A valid token whose client or user Nexus does not know, or whose user
    /// is not active.
    UnknownSubject,
}

impl Rejection {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::UnknownKey => "unknown_key",
            Rejection::Revoked => "revoked",
            Rejection::Expired => "expired",
            Rejection::InvalidToken => "invalid_token",
            Rejection::UntrustedIssuer => "untrusted_issuer",
            Rejection::UnknownSubject => "unknown_subject",
        }
    }
}

fn rejected(reason: Rejection, detail: impl Into<String>) -> AuthError {
    AuthError::Rejected {
        reason,
        detail: detail.into(),
    }
}

struct CachedKey {
    permissions: Permissions,
    expires_at: Timestamp,
    verified_at: Instant,
}

#[derive(Default)]
struct TenantKeys {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Verifies credentials, caching what it verified. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: AuthConfig,
    http: reqwest::Client,
    keys: std::sync::Mutex<HashMap<(String, String), CachedKey>>,
    /// Each tenant's keys behind a lock of its own: one tenant's slow JWKS
    /// delays only Bearer checks of that tenant.
    jwks: std::sync::Mutex<HashMap<i32, Arc<Mutex<TenantKeys>>>>,
    failures: std::sync::Mutex<HashMap<FailureKey, (u32, Instant)>>,
}

const KEY_CACHE_LIMIT: usize = 10_000;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const FAILURE_TABLE_LIMIT: usize = 100_000;

impl Authenticator {
    pub fn new(store: Store, config: AuthConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client with rustls");
        Authenticator {
            inner: Arc::new(Inner {
                store,
                config,
                http,
                keys: std::sync::Mutex::default(),
                jwks: std::sync::Mutex::default(),
                failures: std::sync::Mutex::default(),
            }),
        }
    }

    /// Proxies whose forwarding headers name the client.
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.inner.config.trusted_proxies
    }

    pub async fn authenticate(&self, credentials: Credentials) -> Result<Principal, AuthError> {
        match credentials {
            Credentials::Basic { key_id, secret } => {
                let permissions = self.verify_key(&key_id, &secret).await?;
                Ok(Principal {
                    id: key_id,
                    kind: ActorType::ApiKey,
                    tenant_id: None,
                    authority: Authority::Grants(vec![permissions]),
                })
            }
            Credentials::Bearer {
                token,
                application_key,
            } => {
                let (key_id, secret) = application_key.ok_or_else(|| {
                    rejected(
                        Rejection::Malformed,
                        "a Bearer token must come with the ApplicationToken header",
                    )
                })?;
                let key = self.verify_key(&key_id, &secret).await?;
                let subject = self.verify_token(&token).await?;
                Ok(Principal {
                    id: subject.id,
                    kind: subject.kind,
                    tenant_id: Some(subject.tenant_id),
                    authority: Authority::Grants(vec![subject.permissions, key]),
                })
            }
        }
    }

    /// When these credentials from this address have failed too often this
    /// minute: the seconds until they may try again.
    pub fn throttled(&self, key: &FailureKey) -> Option<u64> {
        let failures = self.inner.failures.lock().expect("failure counts");
        let (count, since) = failures.get(key)?;
        let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
        (*count >= self.inner.config.failures_per_minute).then(|| left.as_secs().max(1))
    }

    /// Counts a failed authentication. The table is bounded: when it is full
    /// of live entries, new keys are not counted (a guess at a random key
    /// secret cannot succeed anyway) while the ones counted go on counting.
    pub fn record_failure(&self, key: FailureKey) {
        let mut failures = self.inner.failures.lock().expect("failure counts");
        if failures.len() >= FAILURE_TABLE_LIMIT && !failures.contains_key(&key) {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= FAILURE_TABLE_LIMIT {
                return;
            }
        }
        let entry = failures.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets what was verified of a key (after it is revoked).
    pub fn forget_key(&self, key_id: &str) {
        self.inner
            .keys
            .lock()
            .expect("key cache")
            .retain(|(id, _), _| id != key_id);
    }

    async fn verify_key(&self, key_id: &str, secret: &str) -> Result<Permissions, AuthError> {
        let hash = secret_hash(secret);
        let cache_key = (key_id.to_owned(), hash.clone());
        let now = Timestamp::now();
        {
            let cache = self.inner.keys.lock().expect("key cache");
            if let Some(cached) = cache.get(&cache_key) {
                if cached.verified_at.elapsed() < self.inner.config.key_cache_ttl
                    && cached.expires_at > now
                {
                    return Ok(cached.permissions.clone());
                }
            }
        }
        let invalid = || {
            rejected(
                Rejection::UnknownKey,
                "the API key is unknown or its secret is wrong",
            )
        };
        let mut tx = self.inner.store.begin_read().await?;
        let (key, stored_hash) = api_keys::get_for_verification(&mut tx, key_id)
            .await?
            .ok_or_else(invalid)?;
        if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(invalid());
        }
        if key.revoked_at.is_some() {
            return Err(rejected(Rejection::Revoked, "the API key has been revoked"));
        }
        if key.expires_at <= now {
            return Err(rejected(Rejection::Expired, "the API key has expired"));
        }
        let permissions = self
            .key_permissions(&mut tx, &key)
            .await?
            .ok_or_else(invalid)?;
        let mut cache = self.inner.keys.lock().expect("key cache");
        if cache.len() >= KEY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(
            cache_key,
            CachedKey {
                permissions: permissions.clone(),
                expires_at: key.expires_at,
                verified_at: Instant::now(),
            },
        );
        Ok(permissions)
    }

    /// What a key holds: its own permissions and those its role gives
    /// Nexus; `None` when its stored permissions do not parse.
    pub async fn key_permissions(
        &self,
        conn: &mut nexus_store::Conn,
        key: &ApiKey,
    ) -> Result<Option<Permissions>, StoreError> {
        let Ok(own) = Permissions::parse(&key.permissions) else {
            return Ok(None);
        };
        Ok(Some(match &key.role_id {
            Some(role) => match roles::get(conn, role).await? {
                Some(role) => own.union(&self.nexus_permissions(&role)),
                None => own,
            },
            None => own,
        }))
    }

    /// Verifies an RS256 access token from a known tenant; returns the
    /// principal (a Nexus user or a client) and its permissions.
    async fn verify_token(&self, token: &str) -> Result<TokenSubject, AuthError> {
        let audience = self.inner.config.api_audience.as_deref().ok_or_else(|| {
            rejected(
                Rejection::InvalidToken,
                "Bearer tokens are not accepted: no API audience is configured",
            )
        })?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| rejected(Rejection::InvalidToken, "the Bearer token is malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(rejected(
                Rejection::InvalidToken,
                "the Bearer token must be signed with RS256",
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| rejected(Rejection::InvalidToken, "the Bearer token has no kid"))?;
        let issuer = unverified_issuer(token)
            .ok_or_else(|| rejected(Rejection::InvalidToken, "the Bearer token has no issuer"))?;
        let tenant = {
            let mut tx = self.inner.store.begin_read().await?;
            idp_tenants::by_issuer(&mut tx, &issuer).await?
        }
        .ok_or_else(|| {
            rejected(
                Rejection::UntrustedIssuer,
                "the Bearer token's issuer is not a trusted tenant",
            )
        })?;
        let key = self.signing_key(&tenant, &kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.inner.config.leeway_seconds;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| {
                rejected(
                    Rejection::InvalidToken,
                    format!("the Bearer token is not valid: {e}"),
                )
            })?
            .claims;

        let mut tx = self.inner.store.begin_read().await?;
        if let Some(client) = claims.sub.strip_suffix("@clients") {
            let mapping = sts_clients::get(&mut tx, client).await?.ok_or_else(|| {
                rejected(
                    Rejection::UnknownSubject,
                    "the token's client has no STS client mapping",
                )
            })?;
            if mapping.idp_tenant_id != Some(tenant.id) {
                return Err(rejected(
                    Rejection::UnknownSubject,
                    "the token's client is mapped for another IdP tenant than its issuer",
                ));
            }
            let permissions = Permissions::parse(&mapping.permissions).unwrap_or_default();
            return Ok(TokenSubject {
                id: mapping.client_id,
                kind: ActorType::Client,
                tenant_id: tenant.id,
                permissions,
            });
        }
        let user_id = identities::owner_in_tenant(&mut tx, tenant.id, &claims.sub)
            .await?
            .ok_or_else(|| {
                rejected(
                    Rejection::UnknownSubject,
                    "the token's subject is not linked to a Nexus user",
                )
            })?;
        let (user, permissions) = self
            .user_permissions(&mut tx, &user_id)
            .await?
            .ok_or_else(|| rejected(Rejection::UnknownSubject, "the token's user is gone"))?;
        if !user.is_active {
            return Err(rejected(
                Rejection::UnknownSubject,
                "the token's user is not active",
            ));
        }
        Ok(TokenSubject {
            id: user_id,
            kind: ActorType::User,
            tenant_id: tenant.id,
            permissions,
        })
    }

    /// The user and what it holds in Nexus: the permissions of its roles of
    /// Nexus's audience (Bearer tokens and console sessions alike); `None`
    /// when the user is gone. Whether it is active is the caller's check.
    pub async fn user_permissions(
        &self,
        conn: &mut nexus_store::Conn,
        user_id: &str,
    ) -> Result<Option<(User, Permissions)>, StoreError> {
        // The same read that answers `$sync`: one definition of the roles a
        // user holds for an audience.
        let Some(UserWithRoles { user, roles: held }) =
            users::get_with_roles(conn, user_id, self.nexus_audience()).await?
        else {
            return Ok(None);
        };
        let role_ids: Vec<String> = held.into_iter().map(|r| r.id).collect();
        let permissions = Permissions::from_codes(roles::permission_codes(conn, &role_ids).await?);
        Ok(Some((user, permissions)))
    }

    /// The audience whose roles give Nexus permissions.
    pub fn nexus_audience(&self) -> &str {
        self.inner.config.nexus_audience()
    }

    /// What the role gives Nexus: its permissions when it is a role of
    /// Nexus's audience, nothing otherwise.
    pub fn nexus_permissions(&self, role: &Role) -> Permissions {
        if role.audience == self.nexus_audience() {
            Permissions::from_codes(role.permissions.iter().map(|p| p.code.clone()))
        } else {
            Permissions::default()
        }
    }

    /// The tenant's key `kid`, refreshing its JWKS when the kid is unknown —
    /// at most once per `jwks_min_refresh`, however many requests ask.
    async fn signing_key(&self, tenant: &IdpTenant, kid: &str) -> Result<DecodingKey, AuthError> {
        let tenant_keys = self
            .inner
            .jwks
            .lock()
            .expect("JWKS cache")
            .entry(tenant.id)
            .or_default()
            .clone();
        let mut entry = tenant_keys.lock().await;
        if let Some(key) = entry.keys.get(kid) {
            return Ok(key.clone());
        }
        let may_refresh = entry
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.inner.config.jwks_min_refresh);
        if may_refresh {
            entry.fetched_at = Some(Instant::now());
            match self.fetch_jwks(tenant).await {
                Ok(keys) => entry.keys = keys,
                Err(error) => {
                    tracing::warn!(tenant = %tenant.name, %error, "fetching the JWKS failed")
                }
            }
        }
        entry.keys.get(kid).cloned().ok_or_else(|| {
            rejected(
                Rejection::InvalidToken,
                "the Bearer token's signing key is unknown",
            )
        })
    }

    async fn fetch_jwks(&self, tenant: &IdpTenant) -> Result<HashMap<String, DecodingKey>, String> {
        let base = tenant
            .base_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", tenant.fqdn));
        let url = format!("{base}/.well-known/jwks.json");
        let response = self
            .inner
            .http
            .get(&url)
            .timeout(self.inner.config.jwks_timeout)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let set: JwkSet = response.json().await.map_err(|e| e.to_string())?;
        Ok(set
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256"))
            .filter_map(|k| Some((k.kid?, DecodingKey::from_rsa_components(&k.n?, &k.e?).ok()?)))
            .collect())
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The `iss` claim, read before the signature is checked only to find which
/// tenant's keys to check it with.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

/// Hex SHA-256 of a secret.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random credential half: 32 bytes, base64url.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    URL_SAFE_NO_PAD.encode(buffer)
}
