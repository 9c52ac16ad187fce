//! Signing people in to the console through the Auth0 tenant of one IdP
//! tenant: the authorization code flow with PKCE, as an OpenID Connect
//! client (`openidconnect`). Nothing is kept server-side between the
//! redirect to Auth0 and the callback: the state, the nonce and the PKCE
//! verifier are all derived from one random secret that the browser holds
//! in a cookie (`Flow`). The callback's session is `console::sign_in_user`'s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use nexus_core::idp_tenant::IdpTenant;
use nexus_store::idp_tenants;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Nexus, ServiceError};

/// The callback's path under the console's base URL.
pub const CALLBACK_PATH: &str = "/console/sign-in/callback";
/// What the console asks Auth0 for: who signed in, their name and address.
pub const SCOPES: [&str; 2] = ["profile", "email"];

/// How long a tenant's discovered configuration and keys are used before
/// they are fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(10 * 60);
/// An ID token signed by a key the cached JWKS lacks fetches them again,
/// at most this often.
const REDISCOVER_AFTER: Duration = Duration::from_secs(30);
/// How long a request to Auth0 may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Who signs people in to the console, and where the console is.
#[derive(Clone)]
pub struct ConsoleAuth0Config {
    /// The IdP tenant (id or name) whose Auth0 tenant signs people in.
    pub idp_tenant: String,
    /// The console's application in that Auth0 tenant.
    pub client_id: String,
    /// Its secret; without one the client is public and PKCE alone binds
    /// the code to this browser's sign-in.
    pub client_secret: Option<String>,
    /// The console's public base URL, e.g. `https://nexus.example.com`.
    url: String,
}

impl fmt::Debug for ConsoleAuth0Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleAuth0Config")
            .field("idp_tenant", &self.idp_tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("url", &self.url)
            .finish()
    }
}

impl ConsoleAuth0Config {
    /// Checks the console's base URL: absolute `http(s)`, no path beyond
    /// `/`, no query or fragment (the console is always at `/console`).
    pub fn new(
        idp_tenant: String,
        client_id: String,
        client_secret: Option<String>,
        url: &str,
    ) -> Result<Self, String> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| format!("the console URL '{url}' is not an absolute URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!(
                "the console URL '{url}' must be http(s)://HOST[:PORT]"
            ));
        }
        if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "the console URL '{url}' must have no path, query or fragment: the console is at /console"
            ));
        }
        if idp_tenant.trim().is_empty() || client_id.trim().is_empty() {
            return Err("the console's IdP tenant and client id must not be empty".to_owned());
        }
        Ok(ConsoleAuth0Config {
            idp_tenant: idp_tenant.trim().to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret: client_secret.filter(|s| !s.is_empty()),
            url: parsed.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// The console's public base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where Auth0 sends the browser back: one of the client's Allowed
    /// Callback URLs.
    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.url)
    }
}

/// The values of one sign-in, all derived from the secret the browser keeps
/// in its cookie (HMAC-SHA256 of a fixed label, base64url): nothing to
/// store, and none of them reveals the secret or another.
pub struct Flow {
    pub state: String,
    pub nonce: String,
    /// 43 base64url characters: a PKCE verifier RFC 7636 allows.
    pub verifier: String,
}

impl Flow {
    pub fn derive(secret: &str) -> Flow {
        let derive = |label: &str| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
            mac.update(b"nexus console sign-in: ");
            mac.update(label.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        };
        Flow {
            state: derive("state"),
            nonce: derive("nonce"),
            verifier: derive("pkce verifier"),
        }
    }

    /// Whether `offered` is this flow's state (in constant time).
    pub fn state_matches(&self, offered: &str) -> bool {
        bool::from(self.state.as_bytes().ct_eq(offered.as_bytes()))
    }
}

/// Who Auth0 signed in: the ID token's claims that the console uses.
#[derive(Debug, Clone)]
pub struct VerifiedLogin {
    /// The IdP tenant whose Auth0 tenant signed the person in.
    pub tenant_id: i32,
    pub tenant_name: String,
    /// The Auth0 user id (`sub`).
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Auth0SignInError {
    /// The configured IdP tenant does not exist.
    #[error("the console's IdP tenant '{0}' does not exist")]
    UnknownTenant(String),
    /// The tenant's OpenID configuration or keys could not be read.
    #[error("the OpenID configuration of {issuer} could not be read: {detail}")]
    Discovery { issuer: String, detail: String },
    /// Auth0 refused the code exchange (an OAuth error).
    #[error("Auth0 refused the sign-in: {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// The token endpoint could not be reached or answered nonsense.
    #[error("the code exchange with Auth0 failed: {0}")]
    Exchange(String),
    /// The ID token is missing or does not verify.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A tenant's OpenID configuration and keys, as discovered.
struct Discovered {
    metadata: CoreProviderMetadata,
    fetched_at: Instant,
}

/// The console's OpenID Connect client. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleAuth0 {
    inner: Arc<Inner>,
}

struct Inner {
    config: ConsoleAuth0Config,
    http: reqwest::Client,
    /// By issuer URL: a tenant's base URL may change.
    discovered: Mutex<HashMap<String, Arc<Discovered>>>,
}

impl ConsoleAuth0 {
    pub fn new(config: ConsoleAuth0Config) -> Self {
        // No redirects: an OpenID provider's endpoints answer where they
        // are (and a redirect must not carry the code elsewhere).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client with rustls");
        ConsoleAuth0 {
            inner: Arc::new(Inner {
                config,
                http,
                discovered: Mutex::default(),
            }),
        }
    }

    pub fn config(&self) -> &ConsoleAuth0Config {
        &self.inner.config
    }

    /// Where to send the browser to sign in: the tenant's `/authorize` with
    /// the flow's state, nonce and PKCE challenge.
    pub async fn authorize_url(
        &self,
        nexus: &Nexus,
        flow: &Flow,
    ) -> Result<url::Url, Auth0SignInError> {
        let tenant = self.tenant(nexus).await?;
        let discovered = self.discover(&tenant, false).await?;
        let client = self.client(&discovered.metadata)?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            flow.verifier.clone(),
        ));
        let (state, nonce) = (flow.state.clone(), flow.nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge)
            // Signing in to administer Nexus always asks for credentials:
            // an Auth0 session left from another application, or from
            // before a console sign-out, does not sign anyone in.
            .add_prompt(CoreAuthPrompt::Login);
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, _, _) = request.url();
        Ok(url)
    }

    /// Exchanges the code (with the flow's verifier, and the client secret
    /// when there is one) and verifies the ID token: signature by the
    /// tenant's keys, issuer, audience (the client id), nonce, expiry.
    pub async fn finish(
        &self,
        nexus: &Nexus,
        flow: &Flow,
        code: &str,
    ) -> Result<VerifiedLogin, Auth0SignInError> {
        let tenant = self.tenant(nexus).await?;
        let discovered = self.discover(&tenant, false).await?;
        let client = self.client(&discovered.metadata)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Auth0SignInError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.inner.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(response) => Auth0SignInError::Refused {
                    error: response.error().to_string(),
                    description: response.error_description().cloned(),
                },
                other => Auth0SignInError::Exchange(other.to_string()),
            })?;
        let id_token = tokens.id_token().ok_or_else(|| {
            Auth0SignInError::InvalidToken("Auth0 answered no ID token".to_owned())
        })?;
        let nonce = Nonce::new(flow.nonce.clone());
        let verified = {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verified {
            Ok(claims) => claims,
            // Signed by a key the cached JWKS lacks: Auth0 rotated its
            // keys. Fetch them again (not too often) and verify once more.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if discovered.fetched_at.elapsed() >= REDISCOVER_AFTER => {
                let fresh = self.discover(&tenant, true).await?;
                let client = self.client(&fresh.metadata)?;
                let verifier = client
                    .id_token_verifier()
                    .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| Auth0SignInError::InvalidToken(e.to_string()))?
                    .clone()
            }
            Err(error) => return Err(Auth0SignInError::InvalidToken(error.to_string())),
        };
        Ok(VerifiedLogin {
            tenant_id: tenant.id,
            tenant_name: tenant.name,
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
        })
    }

    /// The configured IdP tenant, read anew (its base URL may change).
    async fn tenant(&self, nexus: &Nexus) -> Result<IdpTenant, Auth0SignInError> {
        let reference = &self.inner.config.idp_tenant;
        let mut tx = nexus
            .store()
            .begin_read()
            .await
            .map_err(ServiceError::from)?;
        idp_tenants::resolve(&mut tx, reference)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| Auth0SignInError::UnknownTenant(reference.clone()))
    }

    /// The tenant's OpenID configuration and keys: cached for
    /// `DISCOVERY_TTL`, or fetched now when `fresh`.
    async fn discover(
        &self,
        tenant: &IdpTenant,
        fresh: bool,
    ) -> Result<Arc<Discovered>, Auth0SignInError> {
        let issuer = issuer(tenant);
        if !fresh {
            let cache = self.inner.discovered.lock().expect("discovery cache");
            if let Some(found) = cache.get(&issuer) {
                if found.fetched_at.elapsed() < DISCOVERY_TTL {
                    return Ok(found.clone());
                }
            }
        }
        let failed = |detail: String| Auth0SignInError::Discovery {
            issuer: issuer.clone(),
            detail,
        };
        let url = IssuerUrl::new(issuer.clone()).map_err(|e| failed(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.inner.http)
            .await
            .map_err(|e| failed(error_chain(&e)))?;
        let discovered = Arc::new(Discovered {
            metadata,
            fetched_at: Instant::now(),
        });
        self.inner
            .discovered
            .lock()
            .expect("discovery cache")
            .insert(issuer, discovered.clone());
        Ok(discovered)
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        Auth0SignInError,
    > {
        let config = &self.inner.config;
        let redirect = RedirectUrl::new(config.callback_url())
            .map_err(|e| Auth0SignInError::Exchange(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            config.client_secret.clone().map(ClientSecret::new),
        )
        // Auth0's default for regular web applications: the secret in
        // the form (client_secret_post).
        .set_auth_type(AuthType::RequestBody)
        .set_redirect_uri(redirect))
    }
}

/// The tenant's issuer: `{baseUrl}/` when it has a base URL (a simulator, a
/// custom domain), else `https://{fqdn}/` — as `idp_tenants::by_issuer`
/// matches Bearer tokens.
fn issuer(tenant: &IdpTenant) -> String {
    match &tenant.base_url {
        Some(base) => format!("{}/", base.trim_end_matches('/')),
        None => format!("https://{}/", tenant.fqdn),
    }
}

/// An error and its sources, in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_is_derived_from_its_secret_alone() {
        let one = Flow::derive("secret-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let again = Flow::derive("secret-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let other = Flow::derive("secret-two-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(
            (&one.state, &one.nonce, &one.verifier),
            (&again.state, &again.nonce, &again.verifier)
        );
        assert_ne!(one.state, other.state);
        assert_ne!(one.nonce, other.nonce);
        assert_ne!(one.verifier, other.verifier);
        // Three different values, none of them the secret.
        assert_ne!(one.state, one.nonce);
        assert_ne!(one.nonce, one.verifier);
        assert_ne!(one.state, one.verifier);
        for value in [&one.state, &one.nonce, &one.verifier] {
            assert_eq!(value.len(), 43, "{value}");
            assert!(value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert!(!value.contains("secret"));
        }
    }

    #[test]
    fn the_state_must_match_exactly() {
        let flow = Flow::derive("a-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(flow.state_matches(&flow.state.clone()));
        assert!(!flow.state_matches(""));
        assert!(!flow.state_matches(&flow.state[..42]));
        assert!(!flow.state_matches(&format!("{}x", flow.state)));
        assert!(!flow.state_matches(&flow.nonce));
        let other = Flow::derive("b-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(!flow.state_matches(&other.state));
    }

    #[test]
    fn the_console_url_is_a_bare_origin() {
        let config = |url: &str| {
            ConsoleAuth0Config::new("sim".into(), "console".into(), None, url)
                .map(|c| c.callback_url())
        };
        assert_eq!(
            config("https://nexus.example.com").unwrap(),
            "https://nexus.example.com/console/sign-in/callback"
        );
        assert_eq!(
            config("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080/console/sign-in/callback"
        );
        for wrong in [
            "nexus.example.com",
            "ftp://nexus.example.com",
            "https://nexus.example.com/nexus",
            "https://nexus.example.com/?a=b",
            "https://nexus.example.com/#x",
        ] {
            assert!(config(wrong).is_err(), "{wrong}");
        }
        let empty =
            ConsoleAuth0Config::new(" ".into(), "console".into(), None, "https://x.example");
        assert!(empty.is_err());
        let public = ConsoleAuth0Config::new(
            "sim".into(),
            "c".into(),
            Some(String::new()),
            "https://x.example",
        );
        assert!(
            public.unwrap().client_secret.is_none(),
            "an empty secret is none"
        );
    }

    #[test]
    fn the_issuer_is_the_base_url_or_the_fqdn() {
        let now = nexus_core::Timestamp::now();
        let mut tenant = IdpTenant {
            id: 1,
            name: "t".into(),
            azo_tenant_name: "eci-t".into(),
            fqdn: "eci-t.us.auth0.com".into(),
            login_domain: Some("login.t.example.com".into()),
            base_url: None,
            has_management_credentials: false,
            jit_provisioning: Default::default(),
            has_log_stream_token: false,
            created: now,
            created_by: "x".into(),
            modified: now,
            modified_by: "x".into(),
        };
        assert_eq!(issuer(&tenant), "https://eci-t.us.auth0.com/");
        tenant.base_url = Some("http://127.0.0.1:9000/".into());
        assert_eq!(issuer(&tenant), "http://127.0.0.1:9000/");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let config = ConsoleAuth0Config::new(
            "sim".into(),
            "console".into(),
            Some("hush-hush".into()),
            "https://nexus.example.com",
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hush-hush") && shown.contains("console"),
            "{shown}"
        );
    }
}
