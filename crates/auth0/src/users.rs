//! Users as the Management API answers them (`GetUserResponseContent` and
//! its siblings) and the body Nexus sends to create one.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A user. The specification makes every field optional and lets Auth0 add
/// others, which are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct User {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub phone_verified: Option<bool>,
    pub created_at: Option<UserDate>,
    pub updated_at: Option<UserDate>,
    /// The user's accounts on connections; absent reads as none.
    #[serde(default)]
    pub identities: Vec<Identity>,
    pub app_metadata: Option<Map<String, Value>>,
    pub user_metadata: Option<Map<String, Value>>,
    pub picture: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    #[serde(default)]
    pub multifactor: Vec<String>,
    pub last_ip: Option<String>,
    pub last_login: Option<UserDate>,
    pub logins_count: Option<u64>,
    pub blocked: Option<bool>,
}

impl User {
    /// Whether the user has an account on the connection with this name.
    pub fn has_identity_on(&self, connection: &str) -> bool {
        self.identities
            .iter()
            .any(|identity| identity.connection.as_deref() == Some(connection))
    }
}

/// `UserDateSchema`: an ISO 8601 text, or an object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum UserDate {
    Text(String),
    Object(Map<String, Value>),
}

/// One of a user's accounts (`UserIdentitySchema`). The identity provider's
/// tokens are left out: Nexus has no use for them and should not hold them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Identity {
    pub connection: Option<String>,
    /// The id within the connection. Some providers give a number
    /// (the specification's `UserId` is a string or an integer); it is
    /// read as its decimal text.
    #[serde(default, deserialize_with = "text_or_integer")]
    pub user_id: Option<String>,
    pub provider: Option<String>,
    #[serde(rename = "isSocial")]
    pub is_social: Option<bool>,
    #[serde(rename = "profileData")]
    pub profile_data: Option<Map<String, Value>>,
}

fn text_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Signed(i64),
        Unsigned(u64),
    }
    Ok(match Option::<Id>::deserialize(deserializer)? {
        Some(Id::Text(text)) => Some(text),
        Some(Id::Signed(number)) => Some(number.to_string()),
        Some(Id::Unsigned(number)) => Some(number.to_string()),
        None => None,
    })
}

/// The fields Nexus sends to create a user (`POST /users`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateUser {
    pub connection: String,
    /// The id within the connection; `create_user` chooses one when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_email: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_reads_as_the_specification_allows() {
        let user: User = serde_json::from_value(json!({
            "user_id": "github|123",
            "created_at": "2024-01-01T00:00:00.000Z",
            "last_login": {"at": "somewhen"},
            "identities": [
                {"connection": "github", "user_id": 123, "provider": "github", "isSocial": true,
                 "access_token": "secret"},
                {"connection": "db", "user_id": "abc"}
            ],
            "app_metadata": {"nexus_user_id": "u1"},
            "logins_count": 3,
            "a_field_auth0_added_later": {"x": 1}
        }))
        .unwrap();
        assert_eq!(user.user_id.as_deref(), Some("github|123"));
        assert_eq!(
            user.created_at,
            Some(UserDate::Text("2024-01-01T00:00:00.000Z".into()))
        );
        assert!(matches!(user.last_login, Some(UserDate::Object(_))));
        assert_eq!(user.identities[0].user_id.as_deref(), Some("123"));
        assert_eq!(user.identities[0].is_social, Some(true));
        assert_eq!(user.identities[1].user_id.as_deref(), Some("abc"));
        assert_eq!(user.app_metadata.unwrap()["nexus_user_id"], "u1");
        assert_eq!(user.logins_count, Some(3));
        assert!(user.email.is_none());
    }

    #[test]
    fn every_field_may_be_missing_or_null() {
        let empty: User = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, User::default());
        let nulls: User = serde_json::from_value(json!({
            "user_id": null, "app_metadata": null, "identities": [{"user_id": null}]
        }))
        .unwrap();
        assert_eq!(nulls.user_id, None);
        assert_eq!(nulls.identities, vec![Identity::default()]);
    }

    #[test]
    fn identities_are_found_by_connection_name() {
        let user: User = serde_json::from_value(json!({
            "identities": [{"connection": "db", "user_id": "1"}, {"user_id": "2"}]
        }))
        .unwrap();
        assert!(user.has_identity_on("db"));
        assert!(!user.has_identity_on("other"));
    }
}
