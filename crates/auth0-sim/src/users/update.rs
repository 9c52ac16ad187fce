//! `PATCH /users/{id}`: the schema's checks of the body, and how Auth0
//! applies it to the stored user.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::clock::now_iso;
use crate::middleware::validation::BOOLEAN_FIELDS;

/// Auth0's metadata merge: top-level keys merge, nested objects are
/// replaced, `null` deletes a key, and `{}` clears the whole object.
pub fn merge_metadata(current: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return current.clone();
    };
    if patch.is_empty() {
        return json!({});
    }
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    Value::Object(merged)
}

const PROFILE_FIELDS: &[&str] = &[
    "blocked",
    "email_verified",
    "email",
    "phone_number",
    "phone_verified",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "username",
    "password",
    "verify_email",
    "verify_phone_number",
    "connection",
    "client_id",
];

/// Length limits of `UpdateUserRequestContent`'s text fields (Management
/// API v2 schema): (field, minLength, maxLength).
const UPDATE_LENGTHS: &[(&str, usize, usize)] = &[
    ("given_name", 1, 150),
    ("family_name", 1, 150),
    ("name", 1, 300),
    ("nickname", 1, 300),
    ("username", 1, 128),
    ("password", 1, usize::MAX),
    ("connection", 1, usize::MAX),
    ("client_id", 1, usize::MAX),
];

/// The schema's rules for a PATCH body, each failure worded as Auth0 words
/// it: `'<rule>' on property <field>.`
pub(crate) fn check_update(patch: &Map<String, Value>) -> Result<(), String> {
    static PHONE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\+[0-9]{1,15}$").expect("valid regex"));
    static EMAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("valid regex"));
    let on = |field: &str, rule: String| format!("'{rule}' on property {field}.");
    for field in BOOLEAN_FIELDS {
        if patch.get(*field).is_some_and(|value| !value.is_boolean()) {
            return Err(on(field, "Expected type boolean".into()));
        }
    }
    for field in ["app_metadata", "user_metadata"] {
        if patch.get(field).is_some_and(|value| !value.is_object()) {
            return Err(on(field, "Expected type object".into()));
        }
    }
    for field in ["email", "phone_number", "picture"] {
        if patch
            .get(field)
            .is_some_and(|value| !value.is_string() && !value.is_null())
        {
            return Err(on(field, "Expected type string".into()));
        }
    }
    for (field, min, max) in UPDATE_LENGTHS {
        let Some(value) = patch.get(*field) else {
            continue;
        };
        let nullable = !matches!(*field, "connection" | "client_id");
        let text = match value {
            Value::String(text) => text,
            Value::Null if nullable => continue,
            _ => return Err(on(field, "Expected type string".into())),
        };
        let count = text.chars().count();
        if count < *min {
            return Err(on(
                field,
                format!("String is too short ({count} chars), minimum {min}"),
            ));
        }
        if count > *max {
            return Err(on(
                field,
                format!("String is too long ({count} chars), maximum {max}"),
            ));
        }
    }
    let text = |field: &str| patch.get(field).and_then(Value::as_str);
    if text("email").is_some_and(|email| !EMAIL.is_match(email)) {
        return Err(on(
            "email",
            "Object didn't pass validation for format email".into(),
        ));
    }
    if text("phone_number").is_some_and(|phone| !PHONE.is_match(phone)) {
        return Err(on(
            "phone_number",
            "String does not match pattern ^\\+[0-9]{1,15}$".into(),
        ));
    }
    let strict_uri = |value: &str| url::Url::parse(value).is_ok_and(|url| url.has_host());
    if text("picture").is_some_and(|picture| !strict_uri(picture)) {
        return Err(on(
            "picture",
            "Object didn't pass validation for format strict-uri".into(),
        ));
    }
    Ok(())
}

/// Applies a checked PATCH body to the stored user.
pub(crate) fn apply(user: &mut Value, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match key.as_str() {
            "app_metadata" | "user_metadata" => {
                user[key.as_str()] = merge_metadata(&user[key.as_str()], value)
            }
            "password" | "verify_email" | "verify_phone_number" | "connection" | "client_id" => {}
            // The schema allows other properties; Auth0 does not store them.
            _ if !PROFILE_FIELDS.contains(&key.as_str()) => {}
            _ if value.is_null() => {
                user.as_object_mut().expect("a user object").remove(key);
            }
            _ => user[key.as_str()] = value.clone(),
        }
    }
    user["updated_at"] = json!(now_iso());
    user["updated_at"] = json!(now_iso());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_merge_follows_auth0() {
        let current = json!({"a": 1, "nested": {"x": 1, "y": 2}, "gone": true});
        let merged = merge_metadata(&current, &json!({"b": 2, "nested": {"x": 9}, "gone": null}));
        assert_eq!(merged, json!({"a": 1, "b": 2, "nested": {"x": 9}}));
        assert_eq!(merge_metadata(&current, &json!({})), json!({}));
    }
}
