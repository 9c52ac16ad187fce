//! Sign-in through Auth0: `/console/sign-in/auth0` sends the browser to the
//! console tenant's `/authorize`, `/console/sign-in/callback` takes the
//! code back and opens a session for the Nexus user linked to the account
//! that signed in (`nexus_service::console_auth0` speaks OpenID Connect).
//!
//! Between the two, the browser alone holds the sign-in: a random secret in
//! the `nexus_console_oidc` cookie, from which the state, the nonce and the
//! PKCE verifier are derived. A callback that does not come with that
//! cookie and its state (a code injected from another browser's sign-in) is
//! refused before the code is looked at.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use nexus_service::console::{self as sessions, UserSignInError};
use nexus_service::console_auth0::{Auth0SignInError, Flow};
use serde::Deserialize;

use super::{
    cookie, is_token, origin, pages, service_error, session_cookie, Console, HOME, SESSION_COOKIE,
    SIGN_IN,
};

/// The cookie that holds a sign-in's secret until Auth0 sends the browser
/// back.
pub const OIDC_COOKIE: &str = "nexus_console_oidc";
/// How long a sign-in may take at Auth0 (the login form's own lifetime).
const OIDC_COOKIE_MAX_AGE: u32 = 600;

/// `GET /console/sign-in/auth0`: a 303 to the tenant's `/authorize`, with
/// the sign-in's secret in a cookie (a browser already signed in goes home).
pub(super) async fn start(State(console): State<Console>, headers: HeaderMap) -> Response {
    let Some(auth0) = &console.auth0 else {
        return not_configured();
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        match sessions::active(&console.nexus, token).await {
            Ok(Some(_)) => return Redirect::to(HOME).into_response(),
            Ok(None) => {}
            Err(error) => return service_error(error),
        }
    }
    // A sign-in begun in another tab goes on with the same secret, so that
    // whichever finishes first works.
    let secret = match cookie(&headers, OIDC_COOKIE) {
        Some(secret) if is_token(secret) => secret.to_owned(),
        _ => nexus_service::auth::random_token(32),
    };
    let flow = Flow::derive(&secret);
    match auth0.authorize_url(&console.nexus, &flow).await {
        Ok(url) => {
            let mut response = Redirect::to(url.as_str()).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                oidc_cookie(&secret, console.secure_cookies),
            );
            response
        }
        Err(error) => failure(error),
    }
}

/// What Auth0 sends back: a code, or an error; and the state either way.
#[derive(Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/sign-in/callback`: checks the state against the cookie,
/// exchanges the code, verifies the ID token and opens the session of the
/// Nexus user linked to the account (which must be active).
pub(super) async fn callback(
    State(console): State<Console>,
    extensions: Extensions,
    headers: HeaderMap,
    query: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let Some(auth0) = &console.auth0 else {
        return not_configured();
    };
    let Ok(Query(query)) = query else {
        return refused(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The answer from Auth0 is malformed. Sign in again.",
        );
    };
    let offered = query.state.as_deref().unwrap_or_default();
    let flow = cookie(&headers, OIDC_COOKIE)
        .filter(|secret| is_token(secret))
        .map(Flow::derive)
        .filter(|flow| flow.state_matches(offered));
    // Not this browser's sign-in: its cookie (if any) stays, for the
    // sign-in it belongs to.
    let Some(flow) = flow else {
        tracing::warn!("console sign-in callback without its cookie or with another state");
        return refused(
            StatusCode::FORBIDDEN,
            "Sign-in not recognized",
            "This sign-in was not started in this browser, or it took longer than 10 minutes. \
             Sign in again.",
        );
    };
    // From here on the sign-in is over, however it ends.
    let clear = clear_oidc_cookie(console.secure_cookies);
    let mut response = finish(&console, auth0, &flow, query, &extensions, &headers).await;
    response.headers_mut().append(header::SET_COOKIE, clear);
    response
}

async fn finish(
    console: &Console,
    auth0: &nexus_service::console_auth0::ConsoleAuth0,
    flow: &Flow,
    query: Callback,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Response {
    if let Some(error) = query.error {
        let detail = match query.error_description {
            Some(description) => format!("Auth0 refused the sign-in ({error}): {description}"),
            None => format!("Auth0 refused the sign-in ({error})."),
        };
        return refused(StatusCode::UNAUTHORIZED, "Sign-in refused", &detail);
    }
    let Some(code) = query.code.filter(|code| !code.is_empty()) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "Auth0 sent no authorization code. Sign in again.",
        );
    };
    let login = match auth0.finish(&console.nexus, flow, &code).await {
        Ok(login) => login,
        Err(error) => return failure(error),
    };
    let (address, request_id) = origin(console, extensions, headers);
    let signed_in = sessions::sign_in_user(
        &console.nexus,
        login.tenant_id,
        &login.subject,
        address,
        request_id,
    )
    .await;
    match signed_in {
        Ok((signed_in, name)) => {
            let mut response = pages::signed_in(&name).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(
                    SESSION_COOKIE,
                    &signed_in.token,
                    HOME,
                    console.secure_cookies,
                ),
            );
            response
        }
        Err(UserSignInError::NotLinked) => {
            let account = login.email.as_deref().unwrap_or(&login.subject);
            tracing::warn!(
                tenant = %login.tenant_name,
                subject = %login.subject,
                "console sign-in by an Auth0 account no Nexus user holds"
            );
            refused(
                StatusCode::FORBIDDEN,
                "No Nexus user",
                &format!(
                    "The Auth0 account {account} of tenant {} is not linked to a Nexus user, \
                     so it cannot use the console. An administrator can link it.",
                    login.tenant_name
                ),
            )
        }
        Err(UserSignInError::Inactive { display_name }) => refused(
            StatusCode::FORBIDDEN,
            "User blocked",
            &format!("The Nexus user {display_name} is blocked: it cannot use the console."),
        ),
        Err(UserSignInError::Service(error)) => service_error(error),
    }
}

/// A sign-in that could not be finished, as the person sees it.
fn failure(error: Auth0SignInError) -> Response {
    tracing::warn!(%error, "console sign-in through Auth0 failed");
    let error = match error {
        Auth0SignInError::Service(error) => return service_error(error),
        other => other,
    };
    let (status, title) = match &error {
        Auth0SignInError::Service(_) => unreachable!("answered above"),
        Auth0SignInError::UnknownTenant(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in through Auth0 is not available",
        ),
        Auth0SignInError::Discovery { .. } | Auth0SignInError::Exchange(_) => {
            (StatusCode::BAD_GATEWAY, "Auth0 is not reachable")
        }
        Auth0SignInError::Refused { .. } | Auth0SignInError::InvalidToken(_) => {
            (StatusCode::UNAUTHORIZED, "Sign-in refused")
        }
    };
    refused(
        status,
        title,
        &format!("{}.", upper_first(&error.to_string())),
    )
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn refused(status: StatusCode, title: &str, detail: &str) -> Response {
    (status, pages::sign_in_refused(title, detail)).into_response()
}

fn not_configured() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "Not found",
        "Sign-in through Auth0 is not configured on this server.",
    )
}

/// The sign-in's cookie: sent back on Auth0's redirect to the callback (a
/// cross-site navigation, hence `Lax`), only under the sign-in pages, for
/// as long as the login form at Auth0 lives.
fn oidc_cookie(secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{OIDC_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path={SIGN_IN}; \
         Max-Age={OIDC_COOKIE_MAX_AGE}{secure}"
    ))
    .expect("a cookie of token characters")
}

fn clear_oidc_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{OIDC_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Lax; Path={SIGN_IN}{secure}"
    ))
    .expect("a cookie of token characters")
}
