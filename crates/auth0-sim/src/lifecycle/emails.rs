//! What reaches a user by e-mail: the Authentication API's
//! `POST /dbconnections/change_password`, the inbox of every e-mail sent
//! (`GET /__sim/emails`), and the pages their links open (`/lo/reset`,
//! `/lo/verify`), which a test follows the way a user would.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::passwords::{allowed, database_connection, TOO_WEAK};
use super::tickets::DEFAULT_TTL;
use crate::clock::now_seconds;
use crate::state::{EmailKind, Ticket};
use crate::Simulator;

pub(crate) async fn inbox(State(sim): State<Simulator>) -> Json<Value> {
    Json(sim.with(|t| json!(t.emails)))
}

#[derive(Deserialize)]
pub(crate) struct ChangePassword {
    client_id: Option<String>,
    email: Option<String>,
    connection: Option<String>,
}

/// Sends a reset link to the database user with that e-mail on that
/// connection; answers the same whether or not there is one, as Auth0
/// does, so that the answer tells nobody who has an account.
pub(crate) async fn change_password(
    State(sim): State<Simulator>,
    Json(request): Json<ChangePassword>,
) -> Response {
    let (Some(client_id), Some(email), Some(connection)) =
        (request.client_id, request.email, request.connection)
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "client_id, email and connection are required"})),
        )
            .into_response();
    };
    sim.with(|t| {
        if !t.clients.iter().any(|c| c.client_id == client_id) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_request", "error_description": "Unknown client"})),
            )
                .into_response();
        }
        let user = t
            .users
            .values()
            .find(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                    && database_connection(t, u).is_some_and(|c| c.name == connection)
            })
            .and_then(|u| u["user_id"].as_str().map(str::to_owned));
        if let Some(user_id) = user {
            t.send_email(
                EmailKind::ResetPassword,
                &email,
                &user_id,
                DEFAULT_TTL,
                None,
            );
        }
        Json(json!(
            "We've just sent you an email to reset your password."
        ))
        .into_response()
    })
}

#[derive(Deserialize)]
pub(crate) struct TicketQuery {
    ticket: String,
}

/// The ticket, if it is of `kind` and current; it stays unused.
fn current(sim: &Simulator, id: &str, kind: EmailKind) -> Option<Ticket> {
    sim.with(|t| t.tickets.get(id).cloned())
        .filter(|ticket| ticket.kind == kind && ticket.expires >= now_seconds())
}

fn expired() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html("<p>This link has expired or was already used.</p>"),
    )
        .into_response()
}

fn done(ticket: &Ticket, message: &str) -> Response {
    match &ticket.result_url {
        Some(url) => Redirect::to(url).into_response(),
        None => Html(format!("<p>{message}</p>")).into_response(),
    }
}

/// The page of a reset link: a form for the new password.
pub(crate) async fn reset_page(
    State(sim): State<Simulator>,
    Query(q): Query<TicketQuery>,
) -> Response {
    if current(&sim, &q.ticket, EmailKind::ResetPassword).is_none() {
        return expired();
    }
    Html(format!(
        "<form method=\"post\" action=\"/lo/reset\"><input type=\"hidden\" name=\"ticket\" value=\"{}\">\
         <input type=\"password\" name=\"password\"><button>Reset password</button></form>",
        q.ticket
    ))
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct Reset {
    ticket: String,
    password: String,
}

/// The reset form's submission: the connection's policy applies, and the
/// ticket is used up only by a password it allows.
pub(crate) async fn reset(State(sim): State<Simulator>, Form(reset): Form<Reset>) -> Response {
    let Some(ticket) = current(&sim, &reset.ticket, EmailKind::ResetPassword) else {
        return expired();
    };
    sim.with(|t| {
        let Some(connection) = t
            .users
            .get(&ticket.user_id)
            .and_then(|u| database_connection(t, u))
        else {
            return expired();
        };
        if !allowed(&connection, &reset.password) {
            return (StatusCode::BAD_REQUEST, Html(format!("<p>{TOO_WEAK}</p>"))).into_response();
        }
        t.tickets.remove(&reset.ticket);
        t.passwords.insert(ticket.user_id.clone(), reset.password);
        t.login_blocks.remove(&ticket.user_id);
        t.failed_logins.remove(&ticket.user_id);
        if let Some(user) = t.users.get(&ticket.user_id).cloned() {
            t.log_event("scp", &user, "Password changed");
        }
        done(&ticket, "Your password has been changed.")
    })
}

/// The page of a verification link: the e-mail address is verified.
pub(crate) async fn verify(State(sim): State<Simulator>, Query(q): Query<TicketQuery>) -> Response {
    let Some(ticket) = current(&sim, &q.ticket, EmailKind::VerifyEmail) else {
        return expired();
    };
    sim.with(|t| {
        let Some(user) = t.users.get_mut(&ticket.user_id) else {
            return expired();
        };
        let newly = user["email_verified"] != Value::Bool(true);
        user["email_verified"] = Value::Bool(true);
        let user = user.clone();
        t.tickets.remove(&q.ticket);
        if newly {
            t.log_event("sv", &user, "Email verified");
        }
        done(&ticket, "Your email address was verified.")
    })
    .into_response()
}
