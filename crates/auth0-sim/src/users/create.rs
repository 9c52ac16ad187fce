//! `POST /users` (and the control API's seeding): a user as Auth0 makes one.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::clock::now_iso;
use crate::error::error;
use crate::lifecycle::passwords::{allowed, TOO_WEAK};
use crate::lifecycle::tickets::DEFAULT_TTL;
use crate::middleware::validation::body_object;
use crate::state::{Connection, EmailKind};
use crate::Simulator;

/// The defaults Auth0 gives a new user: `name` and `nickname` from the
/// e-mail (or the phone number or username), a picture, and no logins yet.
fn profile_defaults(user: &mut Map<String, Value>) {
    let handle = ["email", "phone_number", "username"]
        .iter()
        .find_map(|field| user.get(*field).and_then(Value::as_str))
        .map(str::to_owned);
    if let Some(handle) = handle {
        let nickname = handle.split('@').next().unwrap_or(&handle).to_owned();
        let initials: String = nickname
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(2)
            .collect::<String>()
            .to_ascii_lowercase();
        let initials = if initials.is_empty() {
            "u".to_owned()
        } else {
            initials
        };
        user.entry("name").or_insert(json!(handle));
        user.entry("nickname").or_insert(json!(nickname));
        user.entry("picture").or_insert(json!(format!(
            "https://cdn.auth0.com/avatars/{initials}.png"
        )));
    }
    user.insert("logins_count".into(), json!(0));
}

pub(crate) fn insert_user(
    sim: &Simulator,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Response> {
    let bad = |message: &str| error(StatusCode::BAD_REQUEST, message, "invalid_body");
    let body = body_object(headers, body)?;
    let connection_name = body
        .get("connection")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Payload validation error: 'Missing required property: connection'"))?;
    let connection = sim
        .with(|t| {
            t.connections
                .iter()
                .find(|c| c.name == connection_name)
                .cloned()
        })
        .ok_or_else(|| bad("The connection does not exist."))?;
    let email = body.get("email").and_then(Value::as_str).map(str::to_owned);
    if connection.strategy == "auth0" {
        if email.is_none() {
            return Err(bad(
                "Payload validation error: 'Missing required property: email'",
            ));
        }
        let password = body.get("password").and_then(Value::as_str);
        if !password.is_some_and(|p| allowed(&connection, p)) {
            return Err(bad(TOO_WEAK));
        }
    }
    let (user_id, user) = build_user(&connection, &body);
    sim.with(|t| {
        let taken = t.users.values().any(|u| {
            u["identities"][0]["connection"] == json!(connection.name)
                && (u["user_id"] == json!(user_id)
                    || (email.is_some()
                        && u["email"].as_str().map(str::to_lowercase)
                            == email.as_deref().map(str::to_lowercase)))
        });
        if taken {
            return Err(error(
                StatusCode::CONFLICT,
                "The user already exists.",
                "auth0_idp_error",
            ));
        }
        t.users.insert(user_id.clone(), user.clone());
        if let Some(password) = body.get("password").and_then(Value::as_str) {
            if connection.strategy == "auth0" {
                t.passwords.insert(user_id.clone(), password.to_owned());
            }
        }
        if let Some(email) = email
            .as_deref()
            .filter(|_| body.get("verify_email") == Some(&json!(true)))
        {
            t.send_email(EmailKind::VerifyEmail, email, &user_id, DEFAULT_TTL, None);
        }
        Ok(user)
    })
}

/// A user as `POST /users` makes one from `body` on `connection`: its id and
/// its JSON.
fn build_user(connection: &Connection, body: &Map<String, Value>) -> (String, Value) {
    let provider = if connection.strategy == "auth0" {
        "auth0"
    } else {
        connection.strategy.as_str()
    };
    let local_id = body
        .get("user_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string()[8..].to_owned());
    let user_id = format!("{provider}|{local_id}");
    let now = now_iso();
    let mut user = Map::new();
    for field in [
        "email",
        "username",
        "phone_number",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
    ] {
        if let Some(value) = body.get(field) {
            user.insert(field.to_owned(), value.clone());
        }
    }
    user.insert("user_id".into(), json!(user_id));
    user.insert(
        "email_verified".into(),
        body.get("email_verified").cloned().unwrap_or(json!(false)),
    );
    user.insert(
        "blocked".into(),
        body.get("blocked").cloned().unwrap_or(json!(false)),
    );
    user.insert("created_at".into(), json!(now));
    user.insert("updated_at".into(), json!(now));
    user.insert(
        "identities".into(),
        json!([{"connection": connection.name, "user_id": local_id, "provider": provider, "isSocial": false}]),
    );
    user.insert(
        "app_metadata".into(),
        body.get("app_metadata").cloned().unwrap_or(json!({})),
    );
    user.insert(
        "user_metadata".into(),
        body.get("user_metadata").cloned().unwrap_or(json!({})),
    );
    profile_defaults(&mut user);
    (user_id, Value::Object(user))
}

impl Simulator {
    /// Seeds `count` verified database users on the default connection,
    /// `{prefix}{n}@example.com`, as `POST /users` makes them but without
    /// its checks (the addresses are unique by construction): a large
    /// tenant for benchmarks, made in seconds.
    pub fn seed_users(&self, count: usize, prefix: &str) {
        self.with(|t| {
            let connection = t
                .connections
                .iter()
                .find(|c| c.name == crate::DEFAULT_CONNECTION)
                .cloned()
                .expect("the default connection");
            for n in 0..count {
                let mut body = Map::new();
                body.insert("email".into(), json!(format!("{prefix}{n}@example.com")));
                body.insert("email_verified".into(), json!(true));
                let (user_id, user) = build_user(&connection, &body);
                t.users.insert(user_id, user);
            }
        })
    }
}
