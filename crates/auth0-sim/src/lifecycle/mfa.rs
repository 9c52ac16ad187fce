//! Multi-factor enrollment with one-time passwords (TOTP, RFC 6238: SHA-1,
//! six digits, 30-second steps, the previous and next step accepted for
//! clock skew), both ways Auth0 offers it:
//!
//! - the Management API's `POST /guardian/enrollments/ticket`: a link
//!   (`/lo/mfa-enroll?ticket=…`, e-mailed with `send_mail`) whose page shows
//!   the secret as an `otpauth://` URI and takes a code that confirms it;
//! - the MFA API: a password login for the audience `{base}/mfa/` with
//!   scope `enroll` gives an MFA token; `POST /mfa/associate` with it
//!   answers a secret, and the `mfa-otp` grant of `/oauth/token` with a
//!   code confirms it.
//!
//! `GET /users/{id}/enrollments` lists the confirmed enrollments.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use super::tickets::DEFAULT_TTL;
use crate::clock::{now_iso, now_seconds};
use crate::error::{invalid_body, no_user};
use crate::middleware::auth::{authorize, authorize_on_user};
use crate::middleware::validation::{check_user_id, closed_body_object};
use crate::state::{EmailKind, Tenant, Ticket};
use crate::tokens::{self, MfaToken};
use crate::Simulator;

/// One authenticator app a user enrolled, or is enrolling.
#[derive(Debug, Clone)]
pub(crate) struct Enrollment {
    pub(crate) id: String,
    pub(crate) user_id: String,
    /// The shared secret, raw (160 random bits).
    secret: Vec<u8>,
    /// The ticket whose page began it, if a ticket did.
    ticket: Option<String>,
    /// When a code confirmed it; pending until then.
    confirmed_at: Option<String>,
}

impl Enrollment {
    fn new(user_id: &str, ticket: Option<String>) -> Self {
        Enrollment {
            id: format!("totp|dev_{:016x}", rand::random::<u64>()),
            user_id: user_id.to_owned(),
            secret: rand::random::<[u8; 20]>().to_vec(),
            ticket,
            confirmed_at: None,
        }
    }

    fn base32(&self) -> String {
        Secret::Raw(self.secret.clone()).to_encoded().to_string()
    }

    /// Whether `code` is the current code, or the previous or next one.
    fn accepts(&self, code: &str) -> bool {
        TOTP::new(Algorithm::SHA1, 6, 1, 30, self.secret.clone())
            .expect("a 160-bit secret and six digits")
            .check_current(code)
            .unwrap_or(false)
    }

    /// The `otpauth://` URI an authenticator app scans, labelled with `account`.
    fn otpauth_uri(&self, account: &str) -> String {
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            ISSUER,
            encode(account),
            self.base32(),
            ISSUER
        )
    }
}

/// The issuer authenticator apps show for the simulator's codes.
const ISSUER: &str = "auth0-sim";

/// The fields of `CreateGuardianEnrollmentTicketRequestContent`.
const TICKET_FIELDS: &[&str] = &[
    "allow_multiple_enrollments",
    "email",
    "email_locale",
    "factor",
    "send_mail",
    "user_id",
];

/// `POST /guardian/enrollments/ticket`: a link that lets its holder enroll
/// an authenticator app for the user, once; e-mailed to the user (or to
/// `email`) with `send_mail`. Only the `otp` factor is simulated.
pub(crate) async fn enrollment_ticket(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:guardian_enrollment_tickets"]) {
        return response;
    }
    let body = match closed_body_object(&headers, &body, TICKET_FIELDS) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(user_id) = body.get("user_id").and_then(Value::as_str) else {
        return invalid_body("'Missing required property: user_id'");
    };
    if check_user_id(user_id).is_err() {
        return invalid_body(&format!(
            "'Object didn't pass validation for format user-id: {user_id}' on property user_id."
        ));
    }
    for flag in ["send_mail", "allow_multiple_enrollments"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return invalid_body(&format!("'Expected type boolean' on property {flag}."));
        }
    }
    match body.get("factor") {
        None => {}
        Some(Value::String(factor)) if factor == "otp" => {}
        Some(other) => {
            return invalid_body(&format!(
                "'The simulator enrolls only the otp factor, not {other}' on property factor."
            ))
        }
    }
    let send_mail = body.get("send_mail") == Some(&Value::Bool(true));
    let email = body.get("email").and_then(Value::as_str).map(str::to_owned);
    sim.with(|t| {
        let Some(user) = t.users.get(user_id) else {
            return no_user(StatusCode::NOT_FOUND);
        };
        let to = email.or_else(|| user["email"].as_str().map(str::to_owned));
        let (ticket_id, ticket_url) =
            t.issue_ticket_with_id(EmailKind::MfaEnrollment, user_id, DEFAULT_TTL, None);
        if send_mail {
            let Some(to) = to else {
                t.tickets.remove(&ticket_id);
                return invalid_body("'The user has no email address'");
            };
            t.emails.push(crate::state::Email {
                to,
                kind: EmailKind::MfaEnrollment,
                link: ticket_url.clone(),
                sent: now_iso(),
            });
        }
        Json(json!({"ticket_id": ticket_id, "ticket_url": ticket_url})).into_response()
    })
}

#[derive(Deserialize)]
pub(crate) struct TicketQuery {
    ticket: String,
}

fn current_ticket(tenant: &Tenant, id: &str) -> Option<Ticket> {
    tenant
        .tickets
        .get(id)
        .filter(|t| t.kind == EmailKind::MfaEnrollment && t.expires >= now_seconds())
        .cloned()
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

fn expired() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "<p>This link has expired or was already used.</p>".to_owned(),
    )
}

/// The page of an enrollment link: the secret to add to an authenticator
/// app (as an `otpauth://` URI and as text) and a form for its first code.
pub(crate) async fn enroll_page(
    State(sim): State<Simulator>,
    Query(q): Query<TicketQuery>,
) -> Response {
    sim.with(|t| {
        let Some(ticket) = current_ticket(t, &q.ticket) else {
            return expired();
        };
        let account = t
            .users
            .get(&ticket.user_id)
            .and_then(|u| u["email"].as_str())
            .unwrap_or(&ticket.user_id)
            .to_owned();
        let existing = t
            .enrollments
            .iter()
            .find(|e| e.ticket.as_deref() == Some(q.ticket.as_str()))
            .cloned();
        let enrollment = existing.unwrap_or_else(|| {
            let made = Enrollment::new(&ticket.user_id, Some(q.ticket.clone()));
            t.enrollments.push(made.clone());
            made
        });
        page(
            StatusCode::OK,
            format!(
                "<p>Scan this code with your authenticator app: \
                 <a id=\"otpauth\" href=\"{uri}\">{uri}</a></p>\
                 <p>Or enter the key <code id=\"secret\">{secret}</code></p>\
                 <form method=\"post\" action=\"/lo/mfa-enroll\">\
                 <input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\
                 <input name=\"otp\" inputmode=\"numeric\"><button>Confirm</button></form>",
                uri = enrollment.otpauth_uri(&account).replace('&', "&amp;"),
                secret = enrollment.base32(),
                ticket = q.ticket,
            ),
        )
    })
}

#[derive(Deserialize)]
pub(crate) struct Confirm {
    ticket: String,
    otp: String,
}

/// The enrollment form's submission: a right code confirms the enrollment
/// and uses up the ticket; a wrong one leaves both as they were.
pub(crate) async fn enroll(State(sim): State<Simulator>, Form(form): Form<Confirm>) -> Response {
    sim.with(|t| {
        if current_ticket(t, &form.ticket).is_none() {
            return expired();
        }
        let Some(enrollment) = t
            .enrollments
            .iter_mut()
            .find(|e| e.ticket.as_deref() == Some(form.ticket.as_str()))
        else {
            return page(
                StatusCode::BAD_REQUEST,
                "<p>Open the enrollment page first.</p>".to_owned(),
            );
        };
        if !enrollment.accepts(form.otp.trim()) {
            return page(
                StatusCode::BAD_REQUEST,
                "<p>That code is not right. Try the current one.</p>".to_owned(),
            );
        }
        enrollment.confirmed_at = Some(now_iso());
        let user_id = enrollment.user_id.clone();
        t.tickets.remove(&form.ticket);
        if let Some(user) = t.users.get(&user_id).cloned() {
            t.log_event(
                "gd_enrollment_complete",
                &user,
                "Guardian enrollment complete",
            );
        }
        page(
            StatusCode::OK,
            "<p>Your authenticator app is enrolled.</p>".to_owned(),
        )
    })
}

/// An MFA API refusal: `{error, error_description}`.
fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Associate {
    authenticator_types: Option<Vec<String>>,
}

/// `POST /mfa/associate`: with an MFA token whose scope holds `enroll`, a
/// new pending enrollment of an authenticator app for the token's user; the
/// `mfa-otp` grant with its first code confirms it.
pub(crate) async fn associate(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let base = sim.with(|t| t.base_url.clone());
    let claims = match bearer.map(|token| tokens::mfa_claims(&base, token)) {
        Some(MfaToken::Valid(claims)) => claims,
        Some(MfaToken::Expired) => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "expired_token",
                "The mfa_token is expired",
            )
        }
        Some(MfaToken::Invalid) | None => {
            return refusal(StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token")
        }
    };
    let scopes = claims["scope"].as_str().unwrap_or_default();
    if !scopes.split_whitespace().any(|s| s == "enroll") {
        return refusal(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Insufficient scope, expected: enroll",
        );
    }
    let Ok(request) = serde_json::from_slice::<Associate>(&body) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is malformed",
        );
    };
    match request.authenticator_types.as_deref() {
        Some([only]) if only == "otp" => {}
        Some(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "unsupported_challenge_type",
                "The simulator associates only the otp authenticator type",
            )
        }
        None => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: authenticator_types",
            )
        }
    }
    let user_id = claims["sub"].as_str().unwrap_or_default().to_owned();
    sim.with(|t| {
        let Some(user) = t.users.get(&user_id) else {
            return refusal(StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token");
        };
        let account = user["email"].as_str().unwrap_or(&user_id).to_owned();
        // A new association replaces one the user never confirmed.
        t.enrollments
            .retain(|e| e.user_id != user_id || e.confirmed_at.is_some() || e.ticket.is_some());
        let enrollment = Enrollment::new(&user_id, None);
        t.enrollments.push(enrollment.clone());
        let recovery_code: String = (0..24)
            .map(|_| {
                let i = rand::random_range(0..36u32);
                char::from_digit(i, 36)
                    .expect("a base-36 digit")
                    .to_ascii_uppercase()
            })
            .collect();
        Json(json!({
            "authenticator_type": "otp",
            "secret": enrollment.base32(),
            "barcode_uri": enrollment.otpauth_uri(&account),
            "recovery_codes": [recovery_code],
        }))
        .into_response()
    })
}

/// The `http://auth0.com/oauth/grant-type/mfa-otp` grant: the code of the
/// MFA token's user's authenticator app. It confirms a pending association
/// (the newest), or else checks a confirmed one, and answers tokens for the
/// MFA token's audience.
pub(crate) fn otp_grant(
    sim: &Simulator,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    mfa_token: Option<&str>,
    otp: Option<&str>,
) -> Response {
    let known_client = sim.with(|t| {
        t.clients.iter().any(|c| {
            Some(c.client_id.as_str()) == client_id
                && client_secret.is_none_or(|secret| secret == c.client_secret)
        })
    });
    if !known_client {
        return refusal(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let (Some(mfa_token), Some(otp)) = (mfa_token, otp) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: mfa_token and otp",
        );
    };
    let base = sim.with(|t| t.base_url.clone());
    let claims = match tokens::mfa_claims(&base, mfa_token) {
        MfaToken::Valid(claims) => claims,
        MfaToken::Expired => {
            return refusal(
                StatusCode::FORBIDDEN,
                "expired_token",
                "mfa_token is expired",
            )
        }
        MfaToken::Invalid => {
            return refusal(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Malformed mfa_token",
            )
        }
    };
    let user_id = claims["sub"].as_str().unwrap_or_default().to_owned();
    let confirmed = sim.with(|t| {
        let mine = |e: &&mut Enrollment| e.user_id == user_id;
        let pending = t
            .enrollments
            .iter_mut()
            .rev()
            .filter(mine)
            .find(|e| e.confirmed_at.is_none() && e.ticket.is_none());
        let enrollment = match pending {
            Some(pending) => Some(pending),
            None => t
                .enrollments
                .iter_mut()
                .filter(mine)
                .find(|e| e.confirmed_at.is_some()),
        };
        let Some(enrollment) = enrollment else {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "User is not enrolled.",
            ));
        };
        if !enrollment.accepts(otp.trim()) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Invalid otp_code.",
            ));
        }
        let newly = enrollment.confirmed_at.is_none();
        enrollment.confirmed_at.get_or_insert_with(now_iso);
        if newly {
            if let Some(user) = t.users.get(&user_id).cloned() {
                t.log_event(
                    "gd_enrollment_complete",
                    &user,
                    "Guardian enrollment complete",
                );
            }
        }
        Ok(())
    });
    if let Err(response) = confirmed {
        return response;
    }
    let now = now_seconds();
    let access = json!({
        "iss": format!("{base}/"), "sub": user_id, "aud": claims["aud"], "iat": now,
        "exp": now + 86_400, "azp": client_id, "scope": claims["scope"], "amr": ["mfa"],
    });
    Json(
        json!({"access_token": tokens::sign(&access), "token_type": "Bearer",
        "expires_in": 86_400, "scope": claims["scope"]}),
    )
    .into_response()
}

/// `GET /users/{id}/enrollments`: the user's confirmed enrollments.
pub(crate) async fn list_enrollments(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize_on_user(&sim, &headers, &["read:users"], &id) {
        return response;
    }
    sim.with(|t| {
        let confirmed: Vec<Value> = t
            .enrollments
            .iter()
            .filter(|e| e.user_id == id)
            .filter_map(|e| {
                let at = e.confirmed_at.as_ref()?;
                Some(
                    json!({"id": e.id, "status": "confirmed", "type": "authenticator",
                    "auth_method": "authenticator", "enrolled_at": at}),
                )
            })
            .collect();
        Json(confirmed).into_response()
    })
}
