//! The users operations of the Management API.

mod create;
mod update;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::error::{error, invalid_body, no_user};
use crate::lifecycle::passwords::{allowed, database_connection, TOO_WEAK};
use crate::lifecycle::tickets::DEFAULT_TTL;
use crate::listing::{list_query, listed, Listing};
use crate::middleware::auth::authorize;
use crate::middleware::validation::{body_object, check_user_id};
use crate::state::EmailKind;
use crate::Simulator;

pub(crate) use create::insert_user;
pub use update::merge_metadata;

const USERS: Listing = Listing {
    key: "users",
    with_length: true,
    min_per_page: 0,
};

/// `q` supports the Lucene forms the client uses: `email:"x"` and `user_id:"x"`.
fn matches_query(user: &Value, q: &str) -> Result<bool, Response> {
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            "Only email:\"…\" and user_id:\"…\" queries are supported",
            "invalid_query_string",
        )
    };
    let (field, value) = q.split_once(':').ok_or_else(bad)?;
    let value = value.trim().trim_matches('"');
    match field.trim() {
        "email" => Ok(user["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(value))),
        "user_id" => Ok(user["user_id"].as_str() == Some(value)),
        _ => Err(bad()),
    }
}

pub(crate) async fn list_users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]) {
        return response;
    }
    let users: Vec<Value> = sim.with(|t| t.users.values().cloned().collect());
    listed(raw, &USERS, |query| {
        let mut selected = Vec::new();
        for user in users {
            let matches = match &query.q {
                Some(q) => matches_query(&user, q)?,
                None => true,
            };
            if matches {
                selected.push(user);
            }
        }
        Ok(selected)
    })
}

pub(crate) async fn users_by_email(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]) {
        return response;
    }
    let query = match list_query(raw.as_deref()) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(email) = query.email else {
        return error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: email'",
            "invalid_query_string",
        );
    };
    let users: Vec<Value> = sim.with(|t| {
        t.users
            .values()
            .filter(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            })
            .cloned()
            .collect()
    });
    Json(Value::Array(users)).into_response()
}

pub(crate) async fn get_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["read:users"]).and(check_user_id(&id)) {
        return response;
    }
    match sim.with(|t| t.users.get(&id).cloned()) {
        Some(user) => Json(user).into_response(),
        None => no_user(StatusCode::NOT_FOUND),
    }
}

pub(crate) async fn create_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["create:users"]) {
        return response;
    }
    match create::insert_user(&sim, &headers, &body) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(response) => response,
    }
}

pub(crate) async fn patch_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let granted = match authorize(
        &sim,
        &headers,
        &["update:users", "update:users_app_metadata"],
    ) {
        Ok(granted) => granted,
        Err(response) => return response,
    };
    if let Err(response) = check_user_id(&id) {
        return response;
    }
    let patch = match body_object(&headers, &body) {
        Ok(patch) => patch,
        Err(response) => return response,
    };
    let only_app_metadata = !granted.iter().any(|g| g == "update:users");
    if only_app_metadata && patch.keys().any(|k| k != "app_metadata") {
        return error(
            StatusCode::FORBIDDEN,
            "Insufficient scope, expected any of: update:users",
            "insufficient_scope",
        );
    }
    if let Err(message) = update::check_update(&patch) {
        return invalid_body(&message);
    }
    let refused = sim.with(|t| {
        t.faults
            .refuse_fields
            .iter()
            .find(|field| patch.contains_key(field.as_str()))
            .cloned()
    });
    if let Some(field) = refused {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Payload validation error: 'Value refused (injected fault)' on property {field}."
            ),
            "invalid_body",
        );
    }
    sim.with(|t| {
        let Some(user) = t.users.get(&id) else {
            return no_user(StatusCode::NOT_FOUND);
        };
        let password = patch.get("password").and_then(Value::as_str);
        if let Some(password) = password {
            let connection = database_connection(t, user);
            let named = patch.get("connection").and_then(Value::as_str);
            let Some(connection) = connection.filter(|c| named.is_none_or(|n| n == c.name)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Cannot update password for non-database connections",
                    "operation_not_supported",
                );
            };
            if !allowed(&connection, password) {
                return error(StatusCode::BAD_REQUEST, TOO_WEAK, "invalid_body");
            }
        }
        let user = t.users.get_mut(&id).expect("found above");
        let was_verified = user["email_verified"] == Value::Bool(true);
        let email_changed = patch
            .get("email")
            .is_some_and(|email| *email != user["email"]);
        update::apply(user, &patch);
        if email_changed && !patch.contains_key("email_verified") {
            user["email_verified"] = Value::Bool(false);
        }
        let answer = user.clone();
        if let Some(password) = password {
            t.passwords.insert(id.clone(), password.to_owned());
            t.log_event("scp", &answer, "Password changed");
        }
        if !was_verified && answer["email_verified"] == Value::Bool(true) {
            t.log_event("sv", &answer, "Email verified");
        }
        let verify = patch.get("verify_email") == Some(&Value::Bool(true));
        if let (true, Some(email)) = (verify, answer["email"].as_str()) {
            t.send_email(EmailKind::VerifyEmail, email, &id, DEFAULT_TTL, None);
        }
        Json(answer).into_response()
    })
}

pub(crate) async fn delete_user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = authorize(&sim, &headers, &["delete:users"]).and(check_user_id(&id)) {
        return response;
    }
    sim.with(|t| {
        if let Some(user) = t.users.remove(&id) {
            t.log_event("sdu", &user, "User deleted");
        }
        t.passwords.remove(&id);
        t.failed_logins.remove(&id);
        t.login_blocks.remove(&id);
    });
    StatusCode::NO_CONTENT.into_response()
}
