//! Database users' passwords: the connection's policy, and who may sign in.

use serde_json::Value;

use crate::state::{Connection, Tenant};

/// Consecutive failed logins after which brute-force protection blocks the
/// user (Auth0's default threshold).
pub(crate) const BRUTE_FORCE_THRESHOLD: u32 = 10;

/// Auth0's refusal of a password its connection's policy does not allow.
pub(crate) const TOO_WEAK: &str = "PasswordStrengthError: Password is too weak";

/// Whether the connection's policy allows `password`.
pub(crate) fn allowed(connection: &Connection, password: &str) -> bool {
    password.chars().count() >= connection.password_min_length
}

/// The database connection of the user's `auth0` identity, if it has one.
pub(crate) fn database_connection(tenant: &Tenant, user: &Value) -> Option<Connection> {
    let identities = user["identities"].as_array()?;
    let name = identities
        .iter()
        .find(|i| i["provider"] == "auth0")?
        .get("connection")?
        .as_str()?;
    tenant
        .connections
        .iter()
        .find(|c| c.name == name && c.strategy == "auth0")
        .cloned()
}

/// Why a password login is refused.
#[derive(Debug, PartialEq)]
pub(crate) enum Refused {
    WrongCredentials,
    Blocked,
    TooManyAttempts,
}

/// Checks a password login of `username` (e-mail or username) on the
/// database connection `realm`, counting failures towards brute-force
/// protection; the user on success.
pub(crate) fn sign_in(
    tenant: &mut Tenant,
    realm: &str,
    username: &str,
    password: &str,
) -> Result<Value, Refused> {
    let user = tenant
        .users
        .values()
        .find(|u| {
            database_connection(tenant, u).is_some_and(|c| c.name == realm)
                && ["email", "username"].iter().any(|field| {
                    u[*field]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(username))
                })
        })
        .cloned()
        .ok_or(Refused::WrongCredentials)?;
    let id = user["user_id"].as_str().unwrap_or_default().to_owned();
    if tenant.login_blocks.contains_key(&id) {
        return Err(Refused::TooManyAttempts);
    }
    if tenant.passwords.get(&id).map(String::as_str) != Some(password) {
        let failures = tenant.failed_logins.entry(id.clone()).or_default();
        *failures += 1;
        if *failures >= BRUTE_FORCE_THRESHOLD {
            tenant.failed_logins.remove(&id);
            tenant.login_blocks.insert(id, vec![username.to_owned()]);
            tenant.log_event("limit_wc", &user, "Blocked account");
            return Err(Refused::TooManyAttempts);
        }
        return Err(Refused::WrongCredentials);
    }
    tenant.failed_logins.remove(&id);
    if user["blocked"] == Value::Bool(true) {
        return Err(Refused::Blocked);
    }
    let stored = tenant.users.get_mut(&id).expect("found above");
    let logins = stored["logins_count"].as_u64().unwrap_or(0) + 1;
    stored["logins_count"] = logins.into();
    stored["last_login"] = crate::clock::now_iso().into();
    Ok(stored.clone())
}
