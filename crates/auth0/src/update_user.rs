//! `UpdateUserRequestContent` (seed 004): the body of `PATCH /api/v2/users/{id}`,
//! with its schema's constraints checked before anything is sent.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

/// A field is left alone when `None`, unset when `Some(None)` ("supported
/// attributes can be unset by supplying null"), and set when `Some(Some(v))`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateUserRequestContent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_email: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_phone_number: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Option<String>>,
}

/// A request the Management API would refuse, found before sending it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field,
        message: message.into(),
    }
}

fn length(
    field: &'static str,
    value: &Option<Option<String>>,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    if let Some(Some(text)) = value {
        let count = text.chars().count();
        if count < min || count > max {
            return Err(invalid(
                field,
                format!("must be {min} to {max} characters long"),
            ));
        }
    }
    Ok(())
}

impl UpdateUserRequestContent {
    pub fn is_empty(&self) -> bool {
        *self == UpdateUserRequestContent::default()
    }

    /// The schema's constraints and the documented combination rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        static PHONE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^\+[0-9]{1,15}$").expect("valid regex"));
        static EMAIL: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("valid regex"));
        if let Some(Some(email)) = &self.email {
            if !EMAIL.is_match(email) {
                return Err(invalid("email", "must be an email address"));
            }
        }
        if let Some(Some(phone)) = &self.phone_number {
            if !PHONE.is_match(phone) {
                return Err(invalid(
                    "phone_number",
                    "must match ^\\+[0-9]{1,15}$ (E.164)",
                ));
            }
        }
        length("given_name", &self.given_name, 1, 150)?;
        length("family_name", &self.family_name, 1, 150)?;
        length("name", &self.name, 1, 300)?;
        length("nickname", &self.nickname, 1, 300)?;
        length("username", &self.username, 1, 128)?;
        length("password", &self.password, 1, usize::MAX)?;
        if let Some(Some(picture)) = &self.picture {
            if url::Url::parse(picture).map_or(true, |u| !u.has_host()) {
                return Err(invalid("picture", "must be an absolute URI"));
            }
        }
        if self.connection.as_deref() == Some("") {
            return Err(invalid("connection", "must not be empty"));
        }
        if let Some(client_id) = &self.client_id {
            if client_id.is_empty() {
                return Err(invalid("client_id", "must not be empty"));
            }
            if self.email.is_none() && self.phone_number.is_none() {
                return Err(invalid(
                    "client_id",
                    "is only valid when updating email or phone_number",
                ));
            }
        }
        if self.verify_phone_number.is_some() && self.phone_number.is_none() {
            return Err(invalid(
                "verify_phone_number",
                "is only valid when changing phone_number",
            ));
        }
        for (field, metadata) in [
            ("app_metadata", &self.app_metadata),
            ("user_metadata", &self.user_metadata),
        ] {
            if metadata.as_ref().is_some_and(|m| !m.is_object()) {
                return Err(invalid(field, "must be an object"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_set_serialize_differently() {
        let body = UpdateUserRequestContent {
            given_name: Some(Some("Ada".into())),
            nickname: Some(None),
            app_metadata: Some(json!({"custom_upns": null})),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"given_name": "Ada", "nickname": null, "app_metadata": {"custom_upns": null}})
        );
    }

    #[test]
    fn schema_constraints() {
        let check = |body: UpdateUserRequestContent| body.validate().map_err(|e| e.field);
        assert_eq!(
            check(UpdateUserRequestContent {
                phone_number: Some(Some("+14155550123".into())),
                ..Default::default()
            }),
            Ok(())
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                phone_number: Some(Some("555-0123".into())),
                ..Default::default()
            }),
            Err("phone_number")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                email: Some(Some("nope".into())),
                ..Default::default()
            }),
            Err("email")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                given_name: Some(Some("g".repeat(150))),
                ..Default::default()
            }),
            Ok(())
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                given_name: Some(Some("g".repeat(151))),
                ..Default::default()
            }),
            Err("given_name")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                name: Some(Some(String::new())),
                ..Default::default()
            }),
            Err("name")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                username: Some(Some("u".repeat(129))),
                ..Default::default()
            }),
            Err("username")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                picture: Some(Some("not a uri".into())),
                ..Default::default()
            }),
            Err("picture")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                client_id: Some("app".into()),
                ..Default::default()
            }),
            Err("client_id")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                verify_phone_number: Some(true),
                ..Default::default()
            }),
            Err("verify_phone_number")
        );
        assert_eq!(
            check(UpdateUserRequestContent {
                app_metadata: Some(json!([1])),
                ..Default::default()
            }),
            Err("app_metadata")
        );
    }
}
