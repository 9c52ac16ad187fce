//! The administration console at `/console`: server-rendered HTML, a
//! session cookie, CSRF tokens on every form. Not part of the API: its
//! routes are not in `/openapi.json` and do not pass the API's
//! authorization middleware; every route but sign-in and the stylesheet
//! needs a live session here.

mod api;
mod audit;
mod auth0;
mod organizations;
mod pages;
mod roles;
mod tenants;
mod users;
mod view;

pub use api::Api;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use maud::Markup;
use nexus_service::console::{self as sessions, ActiveSession, SignInError};
use nexus_service::console_auth0::{ConsoleAuth0, ConsoleAuth0Config};
use nexus_service::{Nexus, ServiceError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::client_address::client_address;
use crate::problem::ApiError;
use crate::request_id::RequestId;

/// The session cookie: the session's random token.
pub const SESSION_COOKIE: &str = "nexus_console";
/// The sign-in form's double-submit cookie (there is no session yet).
pub const SIGN_IN_COOKIE: &str = "nexus_console_sign_in";

pub const HOME: &str = "/console";
pub const SIGN_IN: &str = "/console/sign-in";
pub const SIGN_OUT: &str = "/console/sign-out";
pub const STYLESHEET: &str = "/console/assets/console.css";
pub const SCRIPT: &str = "/console/assets/console.js";
pub const USERS: &str = "/console/users";
pub const ORGANIZATIONS: &str = "/console/organizations";
pub const ROLES: &str = "/console/roles";
pub const TENANTS: &str = "/console/idp-tenants";
pub const AUDIT: &str = "/console/audit";
/// Starts the sign-in through Auth0.
pub const SIGN_IN_AUTH0: &str = "/console/sign-in/auth0";
/// Where Auth0 sends the browser back.
pub const SIGN_IN_CALLBACK: &str = nexus_service::console_auth0::CALLBACK_PATH;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

#[derive(Clone)]
struct Console {
    nexus: Nexus,
    api: Api,
    /// Cookies carry `Secure` (the server is reached over TLS, through a
    /// proxy) unless the server listens on loopback only.
    secure_cookies: bool,
    /// Sign-in through Auth0, when configured.
    auth0: Option<ConsoleAuth0>,
}

/// The console's routes, with their security headers.
pub fn router<S: Clone + Send + Sync + 'static>(
    nexus: Nexus,
    api: Api,
    secure_cookies: bool,
    auth0: Option<ConsoleAuth0Config>,
) -> Router<S> {
    Router::new()
        .route(HOME, get(home))
        .merge(users::routes())
        .merge(organizations::routes())
        .merge(roles::routes())
        .merge(tenants::routes())
        .merge(audit::routes())
        .route("/console/", get(|| async { Redirect::to(HOME) }))
        .route(SIGN_IN, get(sign_in_form).post(sign_in))
        .route(SIGN_IN_AUTH0, get(auth0::start))
        .route(SIGN_IN_CALLBACK, get(auth0::callback))
        .route(SIGN_OUT, axum::routing::post(sign_out))
        .route(STYLESHEET, get(stylesheet))
        .route(SCRIPT, get(script))
        .route("/console/{*rest}", any(not_found))
        .with_state(Console {
            nexus,
            api,
            secure_cookies,
            auth0: auth0.map(ConsoleAuth0::new),
        })
}

/// The middleware that gives every console answer its security headers:
/// for the whole application, so that what the router and the outer layers
/// answer on a console path (405, 413, a timeout) has them too.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let console = path == HOME || path.starts_with("/console/");
    let mut response = next.run(request).await;
    if !console {
        return response;
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console.css"),
    )
        .into_response()
}

/// The console's one script: search as you type. Every page works without
/// it.
async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console.js"),
    )
        .into_response()
}

/// A request's live session, or the answer to give instead: the sign-in
/// page for none (clearing a cookie that names no live session).
async fn require_session(
    console: &Console,
    headers: &HeaderMap,
) -> Result<ActiveSession, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(Redirect::to(SIGN_IN).into_response());
    };
    match sessions::active(&console.nexus, token).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => {
            let mut response = Redirect::to(SIGN_IN).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                clear_cookie(SESSION_COOKIE, HOME, console.secure_cookies),
            );
            Err(response)
        }
        Err(error) => Err(service_error(error)),
    }
}

/// A request of a live session: who it acts as, and how it calls the API.
struct Signed {
    session: ActiveSession,
    caller: api::Caller,
}

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let session = require_session(console, &parts.headers).await?;
        let (address, _) = origin(console, &parts.extensions, &parts.headers);
        let caller = api::Caller {
            principal: session.principal(),
            address,
            request_id: parts.extensions.get::<RequestId>().cloned(),
        };
        Ok(Signed { session, caller })
    }
}

impl Signed {
    /// The CSRF token of the form posted to `path`.
    fn csrf(&self, path: &str) -> String {
        csrf_token(&self.session.session.csrf_secret, path)
    }

    /// Whether the form posted to `path` carries this session's token.
    fn csrf_ok(&self, path: &str, offered: &str) -> bool {
        csrf_matches(&self.session.session.csrf_secret, path, offered)
    }

    /// Whether the session holds the permission (to offer an action; the
    /// API checks it again when the action is taken).
    fn allows(&self, permission: &str) -> bool {
        self.session.authority().allows(permission)
    }

    /// The session as the audit trail records it doing `operation` (a
    /// console action that is not an API operation).
    fn actor(&self, operation: &str) -> nexus_core::Actor {
        let request_id = self
            .caller
            .request_id
            .as_ref()
            .map(|id| id.as_str().to_owned());
        self.session
            .actor(operation, request_id, self.caller.address)
    }

    /// What every page's frame shows of the session.
    fn frame(&self) -> pages::Frame {
        pages::Frame {
            who: self.session.display_name(),
            sign_out: self.csrf(SIGN_OUT),
        }
    }
}

/// A form with the CSRF token of the path it is posted to.
trait CsrfField {
    fn csrf(&self) -> &str;
}

/// A form posted by a live session, its CSRF token checked against the
/// path it was posted to (each form's token is made for its own path).
struct Posted<T> {
    signed: Signed,
    form: T,
}

impl<T> FromRequest<Console> for Posted<T>
where
    T: DeserializeOwned + CsrfField + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, console).await?;
        let path = parts.uri.path().to_owned();
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), console)
            .await
            .map_err(bad_form)?;
        if !signed.csrf_ok(&path, form.csrf()) {
            return Err(forbidden_form());
        }
        Ok(Posted { signed, form })
    }
}

async fn home(signed: Signed) -> Response {
    pages::home(&signed.frame(), &signed.session).into_response()
}

async fn not_found(signed: Signed) -> Response {
    (StatusCode::NOT_FOUND, pages::not_found(&signed.frame())).into_response()
}

/// The sign-in form, with a fresh double-submit cookie unless the browser
/// has one already; the home page for a browser that is signed in.
async fn sign_in_form(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        match sessions::active(&console.nexus, token).await {
            Ok(Some(_)) => return Redirect::to(HOME).into_response(),
            Ok(None) => {}
            Err(error) => return service_error(error),
        }
    }
    let (secret, set_cookie) = match cookie(&headers, SIGN_IN_COOKIE) {
        Some(secret) if is_token(secret) => (secret.to_owned(), None),
        _ => {
            let secret = nexus_service::auth::random_token(32);
            let value = session_cookie(SIGN_IN_COOKIE, &secret, SIGN_IN, console.secure_cookies);
            (secret, Some(value))
        }
    };
    let page = pages::sign_in(&csrf_token(&secret, SIGN_IN), None, console.auth0.is_some());
    let mut response = page.into_response();
    if let Some(value) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default, rename = "keyId")]
    key_id: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(console): State<Console>,
    extensions: Extensions,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return bad_form(rejection),
    };
    // Login CSRF: the form's token must be the HMAC of the browser's own
    // double-submit cookie, which a SameSite=Strict cookie keeps from
    // cross-site posts and which no other site can read or set.
    let secret = cookie(&headers, SIGN_IN_COOKIE).filter(|s| is_token(s));
    if !secret.is_some_and(|secret| csrf_matches(secret, SIGN_IN, &form.csrf)) {
        return forbidden_form();
    }
    let csrf = form.csrf.clone();
    let key_id = form.key_id.trim();
    let secret = form.secret.trim();
    if key_id.is_empty() || secret.is_empty() {
        let page = pages::sign_in(
            &csrf,
            Some("Enter the key id and its secret."),
            console.auth0.is_some(),
        );
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let (address, request_id) = origin(&console, &extensions, &headers);
    match sessions::sign_in(&console.nexus, key_id, secret, address, request_id).await {
        Ok(signed_in) => {
            let mut response = Redirect::to(HOME).into_response();
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                session_cookie(
                    SESSION_COOKIE,
                    &signed_in.token,
                    HOME,
                    console.secure_cookies,
                ),
            );
            cookies.append(
                header::SET_COOKIE,
                clear_cookie(SIGN_IN_COOKIE, SIGN_IN, console.secure_cookies),
            );
            response
        }
        Err(SignInError::Rejected) => {
            let page = pages::sign_in(
                &csrf,
                Some("The key id or secret is wrong, or the key is revoked or expired."),
                console.auth0.is_some(),
            );
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
        Err(SignInError::Throttled(retry_after)) => {
            let alert =
                format!("Too many failed sign-ins with this key id. Try again in {retry_after} s.");
            let page = pages::sign_in(&csrf, Some(&alert), console.auth0.is_some());
            let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Err(SignInError::Service(error)) => service_error(error),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfField for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn sign_out(
    State(console): State<Console>,
    Posted { signed, .. }: Posted<CsrfForm>,
) -> Response {
    let actor = signed.actor(sessions::SIGN_OUT);
    if let Err(error) = sessions::sign_out(&console.nexus, &actor, &signed.session.session.id).await
    {
        return service_error(error);
    }
    let mut response = Redirect::to(SIGN_IN).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, HOME, console.secure_cookies),
    );
    response
}

/// Where a request comes from, as the API's audit and throttle see it: the
/// client address and the request id.
fn origin(
    console: &Console,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> (IpAddr, Option<String>) {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let address = client_address(
        peer,
        headers,
        console.nexus.authenticator().trusted_proxies(),
    );
    let request_id = extensions
        .get::<RequestId>()
        .map(|id| id.as_str().to_owned());
    (address, request_id)
}

/// The CSRF token of the form posted to `path`: hex HMAC-SHA256 of the path
/// under the session's (or the sign-in cookie's) secret.
pub fn csrf_token(secret: &str, path: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(path.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn csrf_matches(secret: &str, path: &str, offered: &str) -> bool {
    let expected = csrf_token(secret, path);
    bool::from(expected.as_bytes().ct_eq(offered.as_bytes()))
}

/// A random token as `random_token` makes them (base64url), so that a
/// cookie value is never echoed into a header unchecked.
fn is_token(value: &str) -> bool {
    (16..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The characters a path segment or query value keeps as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A value percent-encoded for a path segment or a query.
fn path_segment(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn session_cookie(name: &str, value: &str, path: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path={path}{secure}"
    ))
    .expect("a cookie of token characters")
}

fn clear_cookie(name: &str, path: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}=; Max-Age=0; HttpOnly; SameSite=Strict; Path={path}{secure}"
    ))
    .expect("a cookie of token characters")
}

fn forbidden_form() -> Response {
    let page = pages::error(
        "Forbidden",
        "The form was not sent from this console, or it is outdated. Open the page again and resend it.",
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

fn bad_form(rejection: FormRejection) -> Response {
    let page = pages::error("Bad request", &rejection.body_text());
    (rejection.status(), page).into_response()
}

/// A failure of the service, shown as the API would word it.
fn service_error(error: ServiceError) -> Response {
    let problem = ApiError::from(error);
    let page: Markup = pages::error(problem.title, &problem.detail);
    (problem.status, page).into_response()
}
