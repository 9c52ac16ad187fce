//! The authorization code flow with PKCE, as Auth0's Universal Login runs it:
//! `/authorize` checks the request and answers a login form, `/u/login`
//! signs the user in and redirects back with a code, and `/oauth/token`
//! exchanges the code (`tokens::authorization_code`).
//!
//! The form carries only the id of a login transaction `/authorize` created
//! (Auth0 names that field `state`), never the request's parameters: a
//! posted form cannot change where the code goes or what it is bound to.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::lifecycle::passwords::{self, Refused};
use crate::state::Tenant;
use crate::{Client, Simulator};

/// How long a code may wait for its exchange (Auth0: 60 seconds).
const CODE_TTL: u64 = 60;
/// How long a login form may wait for its submission.
const LOGIN_TTL: u64 = 600;

/// A sign-in `/authorize` started: the request the form finishes.
#[derive(Debug, Clone)]
pub(crate) struct Login {
    client_name: String,
    connection: String,
    expires: u64,
    grant: Grant,
}

/// What an authorization request asked for; a code is bound to all of it.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) nonce: Option<String>,
    pub(crate) scope: String,
    pub(crate) audience: Option<String>,
    state: Option<String>,
}

/// An authorization code not yet exchanged.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) grant: Grant,
    pub(crate) user_id: String,
    pub(crate) expires: u64,
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    connection: Option<String>,
    audience: Option<String>,
    prompt: Option<String>,
}

/// `GET /authorize`: the login form, or the request's refusal. Only a known
/// client's registered callback receives a refusal; otherwise it is a page.
pub(crate) async fn authorize(State(sim): State<Simulator>, RawQuery(query): RawQuery) -> Response {
    let Ok(q) = serde_urlencoded::from_str::<AuthorizeQuery>(query.as_deref().unwrap_or("")) else {
        return error_page("The request's parameters are malformed.");
    };
    let client = q
        .client_id
        .as_deref()
        .and_then(|id| sim.with(|t| t.clients.iter().find(|c| c.client_id == id).cloned()));
    let Some(client) = client else {
        return error_page("Unknown client: the client_id names no application.");
    };
    let Some(redirect_uri) = q
        .redirect_uri
        .clone()
        .filter(|uri| callbacks(&client).any(|c| c == uri) && url::Url::parse(uri).is_ok())
    else {
        return error_page(
            "The redirect_uri is not in the application's Allowed Callback URLs (callbacks).",
        );
    };
    let back = |error: &str, description: &str| {
        redirect(
            &redirect_uri,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
            ],
            q.state.as_deref(),
        )
    };
    if q.response_type.as_deref() != Some("code") {
        return back(
            "unsupported_response_type",
            "Only the response_type code is supported",
        );
    }
    let scope = q.scope.clone().unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return back("invalid_scope", "The scope must contain openid");
    }
    let Some(code_challenge) = q.code_challenge.clone() else {
        return back(
            "invalid_request",
            "Missing required parameter: code_challenge",
        );
    };
    if q.code_challenge_method.as_deref() != Some("S256") {
        return back("invalid_request", "The code_challenge_method must be S256");
    }
    if !is_s256_challenge(&code_challenge) {
        return back(
            "invalid_request",
            "The code_challenge must be a base64url-encoded SHA-256 digest (43 characters)",
        );
    }
    if q.prompt.as_deref() == Some("none") {
        // The simulator keeps no sessions: a silent sign-in never succeeds.
        return back("login_required", "Login required");
    }
    let started = sim.with(|t| {
        let connection = login_connection(t, &client.client_id, q.connection.as_deref())?;
        let id = format!("{:032x}", rand::random::<u128>());
        let login = Login {
            client_name: client.name.clone(),
            connection,
            expires: t.now() + LOGIN_TTL,
            grant: Grant {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                code_challenge,
                nonce: q.nonce.clone(),
                scope,
                audience: q.audience.clone(),
                state: q.state.clone(),
            },
        };
        let now = t.now();
        t.logins.retain(|_, l| l.expires > now);
        t.logins.insert(id.clone(), login);
        Some(id)
    });
    match started {
        Some(id) => form(&client.name, &id, "", None),
        None => back(
            "invalid_request",
            "The connection is not a database connection enabled for this client",
        ),
    }
}

/// The database connection the user signs in with: the one the request
/// names, or the first enabled for the client; it must be enabled for it.
fn login_connection(tenant: &Tenant, client_id: &str, named: Option<&str>) -> Option<String> {
    tenant
        .connections
        .iter()
        .filter(|c| c.strategy == "auth0" && c.enabled_clients.iter().any(|e| e == client_id))
        .find(|c| named.is_none_or(|name| c.name == name))
        .map(|c| c.name.clone())
}

/// The application's Allowed Callback URLs (the client's `callbacks`).
fn callbacks(client: &Client) -> impl Iterator<Item = &str> {
    client
        .settings
        .get("callbacks")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
}

#[derive(Deserialize)]
struct LoginForm {
    state: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// `POST /u/login`: the login form's submission. The password is checked as
/// the password grants check it (failures count towards brute-force
/// protection); success redirects to the callback with a code.
pub(crate) async fn login(State(sim): State<Simulator>, body: Bytes) -> Response {
    let Ok(submitted) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return error_page("The form is malformed.");
    };
    let id = submitted.state.unwrap_or_default();
    let username = submitted.username.unwrap_or_default();
    let password = submitted.password.unwrap_or_default();
    sim.with(|t| {
        let now = t.now();
        let Some(login) = t.logins.get(&id).filter(|l| l.expires > now).cloned() else {
            return error_page("This login has expired or was already used; sign in again.");
        };
        match passwords::sign_in(t, &login.connection, &username, &password) {
            Ok(user) => {
                t.logins.remove(&id);
                let code = format!("{:032x}", rand::random::<u128>());
                let grant = login.grant;
                let location = redirect(
                    &grant.redirect_uri,
                    &[("code", Some(&code))],
                    grant.state.as_deref(),
                );
                t.codes.retain(|_, c| c.expires > now);
                t.codes.insert(
                    code,
                    Code {
                        grant,
                        user_id: user["user_id"].as_str().unwrap_or_default().to_owned(),
                        expires: now + CODE_TTL,
                    },
                );
                location
            }
            Err(refused) => {
                let message = match refused {
                    Refused::WrongCredentials => "Wrong email or password.",
                    Refused::Blocked => "Your account has been blocked.",
                    Refused::TooManyAttempts => {
                        "Your account has been blocked after multiple consecutive login attempts."
                    }
                };
                form(&login.client_name, &id, &username, Some(message))
            }
        }
    })
}

/// Whether `challenge` can be an S256 code challenge: base64url without
/// padding of 32 bytes.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is a code verifier RFC 7636 allows: 43 to 128
/// unreserved characters.
pub(crate) fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The S256 code challenge of `verifier`.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A 302 to `uri` with `params` (and `state`, when given) added to its query.
fn redirect(uri: &str, params: &[(&str, Option<&str>)], state: Option<&str>) -> Response {
    let mut url = url::Url::parse(uri).expect("callbacks are absolute URLs");
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params.iter().chain([("state", state)].iter()) {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// Headers of every page: not cached, not framed, nothing loaded.
const PAGE_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main>{body}</main></body></html>\n",
        escape(title)
    );
    (status, PAGE_HEADERS, Html(html)).into_response()
}

/// A refusal no callback may receive (the client or callback is unknown).
fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Error",
        &format!(
            "<h1>Something went wrong</h1><p role=\"alert\">{}</p>",
            escape(message)
        ),
    )
}

/// The login form of the transaction `id`, with the refusal of the last
/// attempt, if any.
fn form(client_name: &str, id: &str, username: &str, alert: Option<&str>) -> Response {
    let alert = alert
        .map(|m| format!("<p role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in to {client}</h1>{alert}\
         <form method=\"post\" action=\"/u/login\">\
         <input type=\"hidden\" name=\"state\" value=\"{id}\">\
         <label for=\"username\">Email address or username</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Continue</button></form>",
        client = escape(client_name),
        id = escape(id),
        username = escape(username),
    );
    page(StatusCode::OK, "Log in", &body)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
