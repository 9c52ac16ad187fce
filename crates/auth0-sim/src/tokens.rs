//! The authorization server: tokens (client credentials, passwords, MFA,
//! authorization codes) signed with the development key, the JWKS that
//! publishes it, and the OpenID configuration.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize;
use crate::clock::now_seconds;
use crate::lifecycle::passwords::{self, Refused};
use crate::{Client, Simulator, DEFAULT_CONNECTION};

const SIGNING_KEY: &str = include_str!("dev-signing-key.pem");
const SIGNING_KEY_N: &str = include_str!("dev-signing-key.n");
const KID: &str = "auth0-sim-dev";

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
    username: Option<String>,
    password: Option<String>,
    realm: Option<String>,
    scope: Option<String>,
    mfa_token: Option<String>,
    otp: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

pub(crate) async fn token(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed: Result<TokenRequest, String> = if form {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let Ok(request) = parsed else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is malformed",
        );
    };
    match request.grant_type.as_deref() {
        Some("client_credentials") => client_credentials(&sim, request),
        Some("password") => password(&sim, request, DEFAULT_CONNECTION),
        Some(PASSWORD_REALM) => match request.realm.clone() {
            Some(realm) => password(&sim, request, &realm),
            None => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: realm",
            ),
        },
        Some("authorization_code") => authorization_code(&sim, request),
        Some(MFA_OTP) => crate::lifecycle::mfa::otp_grant(
            &sim,
            request.client_id.as_deref(),
            request.client_secret.as_deref(),
            request.mfa_token.as_deref(),
            request.otp.as_deref(),
        ),
        _ => oauth_error(
            StatusCode::FORBIDDEN,
            "unsupported_grant_type",
            "Only authorization_code, client_credentials, password, password-realm and mfa-otp are supported",
        ),
    }
}

fn client_credentials(sim: &Simulator, request: TokenRequest) -> Response {
    let base = sim.with(|t| t.base_url.clone());
    let client = sim.with(|t| {
        t.clients
            .iter()
            .find(|c| {
                Some(&c.client_id) == request.client_id.as_ref()
                    && Some(&c.client_secret) == request.client_secret.as_ref()
            })
            .cloned()
    });
    let Some(client) = client else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let audience = format!("{base}/api/v2/");
    if request.audience.as_deref() != Some(audience.as_str()) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Service not enabled within domain",
        );
    }
    let now = now_seconds();
    let claims = json!({
        "iss": format!("{base}/"),
        "sub": format!("{}@clients", client.client_id),
        "aud": audience,
        "iat": now,
        "exp": now + 86_400,
        "azp": client.client_id,
        "scope": client.scopes.join(" "),
        "gty": "client-credentials",
        "permissions": client.scopes,
    });
    Json(json!({"access_token": sign(&claims), "token_type": "Bearer", "expires_in": 86_400, "scope": client.scopes.join(" ")}))
        .into_response()
}

/// A user's sign-in with e-mail (or username) and password on the database
/// connection `realm`, refused as Auth0 refuses it.
fn password(sim: &Simulator, request: TokenRequest, realm: &str) -> Response {
    let Some(client) = client_with_optional_secret(sim, &request) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let (Some(username), Some(password)) = (&request.username, &request.password) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: username and password",
        );
    };
    // A connection signs users in only to the applications enabled on it.
    let enabled = sim.with(|t| {
        t.connections
            .iter()
            .find(|c| c.name == realm)
            .is_none_or(|c| c.enabled_clients.contains(&client.client_id))
    });
    if !enabled {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "The connection is not enabled for this client",
        );
    }
    let signed_in = sim.with(|t| passwords::sign_in(t, realm, username, password));
    let user = match signed_in {
        Ok(user) => user,
        Err(Refused::WrongCredentials) => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Wrong email or password.",
            )
        }
        Err(Refused::Blocked) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked")
        }
        Err(Refused::TooManyAttempts) => {
            return oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Your account has been blocked after multiple consecutive login attempts.",
            )
        }
    };
    let scope = request.scope.unwrap_or_else(|| "openid".to_owned());
    user_tokens(
        sim,
        &user,
        &client.client_id,
        scope,
        request.audience,
        None,
        "password",
    )
}

/// The client `client_id` names, when the secret matches; a public client
/// has no secret to send, so a missing one is not checked.
fn client_with_optional_secret(sim: &Simulator, request: &TokenRequest) -> Option<Client> {
    sim.with(|t| {
        t.clients
            .iter()
            .find(|c| Some(&c.client_id) == request.client_id.as_ref())
            .cloned()
    })
    .filter(|c| {
        request
            .client_secret
            .as_ref()
            .is_none_or(|secret| *secret == c.client_secret)
    })
}

/// The exchange of an authorization code (with its PKCE verifier) for the
/// tokens of the user who signed in. A code is used up by the first
/// well-formed exchange with valid client credentials that names it,
/// successful or not (a wrong verifier or another client burns it).
fn authorization_code(sim: &Simulator, request: TokenRequest) -> Response {
    let Some(client) = client_with_optional_secret(sim, &request) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (&request.code, &request.redirect_uri, &request.code_verifier)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code, redirect_uri and code_verifier",
        );
    };
    if !authorize::is_code_verifier(verifier) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The code_verifier must be 43 to 128 unreserved characters",
        );
    }
    let bound = sim.with(|t| {
        let now = t.now();
        let code = t.codes.remove(code).ok_or("Invalid authorization code")?;
        if now >= code.expires {
            return Err("Expired authorization code");
        }
        if code.grant.client_id != client.client_id {
            return Err("The authorization code was issued to another client");
        }
        if code.grant.redirect_uri != *redirect_uri {
            return Err("The redirect_uri differs from the authorization request's");
        }
        if authorize::s256(verifier) != code.grant.code_challenge {
            return Err("Failed to verify code verifier");
        }
        let user = t
            .users
            .get(&code.user_id)
            .filter(|u| u["blocked"] != Value::Bool(true))
            .cloned()
            .ok_or("The user is blocked or no longer exists")?;
        Ok((code.grant, user))
    });
    match bound {
        Ok((grant, user)) => user_tokens(
            sim,
            &user,
            &client.client_id,
            grant.scope,
            grant.audience,
            grant.nonce,
            "authorization_code",
        ),
        Err(description) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description),
    }
}

/// The token response of a user's sign-in to `client_id`: an access token
/// for `audience` (the tenant's `/userinfo` by default) and an ID token.
fn user_tokens(
    sim: &Simulator,
    user: &Value,
    client_id: &str,
    scope: String,
    audience: Option<String>,
    nonce: Option<String>,
    grant_type: &str,
) -> Response {
    let base = sim.with(|t| t.base_url.clone());
    let now = now_seconds();
    let audience = audience.unwrap_or_else(|| format!("{base}/userinfo"));
    // A token for the MFA API (an MFA token) lasts ten minutes, as Auth0's.
    let lifetime = if audience == mfa_audience(&base) {
        600
    } else {
        86_400
    };
    let access = json!({
        "iss": format!("{base}/"), "sub": user["user_id"], "aud": audience, "iat": now,
        "exp": now + lifetime, "azp": client_id, "scope": scope, "gty": grant_type,
    });
    let mut id = json!({
        "iss": format!("{base}/"), "sub": user["user_id"], "aud": client_id, "iat": now,
        "exp": now + 36_000, "email": user["email"], "email_verified": user["email_verified"],
        "name": user["name"],
    });
    if let Some(nonce) = nonce {
        id["nonce"] = nonce.into();
    }
    Json(
        json!({"access_token": sign(&access), "id_token": sign(&id), "token_type": "Bearer",
        "expires_in": lifetime, "scope": scope}),
    )
    .into_response()
}

pub(crate) fn sign(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let key = EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).expect("the development key");
    jsonwebtoken::encode(&header, claims, &key).expect("signing")
}

/// The claims of a Management API token this tenant issued for itself,
/// or `None` when it did not issue the token or it has expired.
pub(crate) fn management_claims(base: &str, token: &str) -> Option<Value> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{base}/api/v2/")]);
    validation.set_issuer(&[format!("{base}/")]);
    let key = DecodingKey::from_rsa_components(SIGNING_KEY_N.trim(), "AQAB")
        .expect("the development key");
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

/// The audience of the MFA API.
pub(crate) fn mfa_audience(base: &str) -> String {
    format!("{base}/mfa/")
}

/// What an MFA token presented to the MFA API is.
pub(crate) enum MfaToken {
    Valid(Value),
    Expired,
    Invalid,
}

/// The claims of an MFA token (a token for the MFA API) this tenant issued.
pub(crate) fn mfa_claims(base: &str, token: &str) -> MfaToken {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[mfa_audience(base)]);
    validation.set_issuer(&[format!("{base}/")]);
    validation.leeway = 0;
    let key = DecodingKey::from_rsa_components(SIGNING_KEY_N.trim(), "AQAB")
        .expect("the development key");
    match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => MfaToken::Valid(data.claims),
        Err(error) if *error.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
            MfaToken::Expired
        }
        Err(_) => MfaToken::Invalid,
    }
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

pub(crate) async fn jwks() -> Json<Value> {
    Json(
        json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": SIGNING_KEY_N.trim(), "e": "AQAB"}]}),
    )
}

pub(crate) async fn openid_configuration(State(sim): State<Simulator>) -> Json<Value> {
    let base = sim.with(|t| t.base_url.clone());
    Json(json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "password", PASSWORD_REALM, MFA_OTP],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        "claims_supported": ["aud", "iss", "iat", "exp", "sub", "nonce", "name", "email", "email_verified"],
    }))
}
