//! Verifying credentials: API keys (`Basic`) and Auth0 access tokens
//! (`Bearer`, always with the calling application's API key).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nexus_core::auth::Permissions;
use nexus_core::idp_tenant::IdpTenant;
use nexus_core::Timestamp;
use nexus_store::{
    api_keys, identities, idp_tenants, roles, sts_clients, users, Store, StoreError,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The audience of access tokens for Nexus itself; without one, Bearer
    /// tokens are refused.
    pub api_audience: Option<String>,
    /// How long a verified API key is trusted without asking the database.
    pub key_cache_ttl: Duration,
    /// An unknown `kid` refreshes a tenant's JWKS at most this often.
    pub jwks_min_refresh: Duration,
    /// Clock leeway for `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// Failed authentications allowed per client address and minute; more
    /// are answered 429 without checking.
    pub failures_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            api_audience: None,
            key_cache_ttl: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(30),
            leeway_seconds: 30,
            failures_per_minute: 30,
        }
    }
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

/// An authenticated caller. A request is allowed when every grant allows it:
/// a Bearer caller's permissions are the token principal's intersected with
/// its application key's.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    grants: Vec<Permissions>,
}

impl Principal {
    pub fn allows(&self, permission: &str) -> bool {
        !self.grants.is_empty() && self.grants.iter().all(|g| g.allows(permission))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials are missing, malformed, unknown, expired, revoked or
    /// do not verify. The text is safe to show: it never echoes a secret.
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn rejected(reason: impl Into<String>) -> AuthError {
    AuthError::Rejected(reason.into())
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
    jwks: Mutex<HashMap<i32, TenantKeys>>,
    failures: std::sync::Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

const KEY_CACHE_LIMIT: usize = 10_000;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

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
                jwks: Mutex::default(),
                failures: std::sync::Mutex::default(),
            }),
        }
    }

    pub async fn authenticate(&self, credentials: Credentials) -> Result<Principal, AuthError> {
        match credentials {
            Credentials::Basic { key_id, secret } => {
                let permissions = self.verify_key(&key_id, &secret).await?;
                Ok(Principal {
                    id: key_id,
                    grants: vec![permissions],
                })
            }
            Credentials::Bearer {
                token,
                application_key,
            } => {
                let (key_id, secret) = application_key.ok_or_else(|| {
                    rejected("a Bearer token must come with the ApplicationToken header")
                })?;
                let key = self.verify_key(&key_id, &secret).await?;
                let (id, token_permissions) = self.verify_token(&token).await?;
                Ok(Principal {
                    id,
                    grants: vec![token_permissions, key],
                })
            }
        }
    }

    /// When the address has failed too often this minute: the seconds until
    /// it may try again.
    pub fn throttled(&self, address: IpAddr) -> Option<u64> {
        let failures = self.inner.failures.lock().expect("failure counts");
        let (count, since) = failures.get(&address)?;
        let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
        (*count >= self.inner.config.failures_per_minute).then(|| left.as_secs().max(1))
    }

    /// Counts a failed authentication from the address.
    pub fn record_failure(&self, address: IpAddr) {
        let mut failures = self.inner.failures.lock().expect("failure counts");
        if failures.len() >= KEY_CACHE_LIMIT {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures.entry(address).or_insert((0, Instant::now()));
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
        let invalid = || rejected("the API key is unknown or its secret is wrong");
        let mut tx = self.inner.store.begin_read().await?;
        let (key, stored_hash) = api_keys::get_for_verification(&mut tx, key_id)
            .await?
            .ok_or_else(invalid)?;
        if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(invalid());
        }
        if key.revoked_at.is_some() {
            return Err(rejected("the API key has been revoked"));
        }
        if key.expires_at <= now {
            return Err(rejected("the API key has expired"));
        }
        let own = Permissions::parse(&key.permissions).map_err(|_| invalid())?;
        let permissions = match &key.role_id {
            Some(role) => own.union(&Permissions::from_codes(
                roles::permission_codes(&mut tx, std::slice::from_ref(role)).await?,
            )),
            None => own,
        };
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

    /// Verifies an RS256 access token from a known tenant; returns the
    /// principal's id (Nexus user id or client id) and permissions.
    async fn verify_token(&self, token: &str) -> Result<(String, Permissions), AuthError> {
        let audience = self.inner.config.api_audience.as_deref().ok_or_else(|| {
            rejected("Bearer tokens are not accepted: no API audience is configured")
        })?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| rejected("the Bearer token is malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(rejected("the Bearer token must be signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or_else(|| rejected("the Bearer token has no kid"))?;
        let issuer =
            unverified_issuer(token).ok_or_else(|| rejected("the Bearer token has no issuer"))?;
        let tenant = {
            let mut tx = self.inner.store.begin_read().await?;
            idp_tenants::by_issuer(&mut tx, &issuer).await?
        }
        .ok_or_else(|| rejected("the Bearer token's issuer is not a trusted tenant"))?;
        let key = self.signing_key(&tenant, &kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.inner.config.leeway_seconds;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| rejected(format!("the Bearer token is not valid: {e}")))?
            .claims;

        let mut tx = self.inner.store.begin_read().await?;
        if let Some(client) = claims.sub.strip_suffix("@clients") {
            let mapping = sts_clients::get(&mut tx, client)
                .await?
                .ok_or_else(|| rejected("the token's client has no STS client mapping"))?;
            let permissions = Permissions::parse(&mapping.permissions).unwrap_or_default();
            return Ok((mapping.client_id, permissions));
        }
        let user_id = identities::owner_in_tenant(&mut tx, tenant.id, &claims.sub)
            .await?
            .ok_or_else(|| rejected("the token's subject is not linked to a Nexus user"))?;
        let user = users::get_record(&mut tx, &user_id)
            .await?
            .ok_or_else(|| rejected("the token's user is gone"))?;
        if !user.is_active {
            return Err(rejected("the token's user is not active"));
        }
        let held =
            roles::effective_for_users(&mut tx, std::slice::from_ref(&user_id), Some(audience))
                .await?
                .remove(&user_id)
                .unwrap_or_default();
        let role_ids: Vec<String> = held.into_iter().map(|r| r.id).collect();
        let permissions =
            Permissions::from_codes(roles::permission_codes(&mut tx, &role_ids).await?);
        Ok((user_id, permissions))
    }

    /// The tenant's key `kid`, refreshing its JWKS when the kid is unknown —
    /// at most once per `jwks_min_refresh`, however many requests ask.
    async fn signing_key(&self, tenant: &IdpTenant, kid: &str) -> Result<DecodingKey, AuthError> {
        let mut jwks = self.inner.jwks.lock().await;
        let entry = jwks.entry(tenant.id).or_default();
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
        entry
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| rejected("the Bearer token's signing key is unknown"))
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
