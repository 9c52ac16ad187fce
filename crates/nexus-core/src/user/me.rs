use serde::Deserialize;
use utoipa::ToSchema;

use super::patch::{PatchUserBody, UserChanges};
use crate::ValidationErrors;

/// Body of `PATCH /v1/me` (UpdateMeProfile): the part of their profile a
/// user may change themselves. Absent or null fields are left as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMeProfileBody {
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub nickname: Option<String>,
    #[schema(min_length = 1, max_length = 35)]
    pub language: Option<String>,
    #[schema(max_length = 250, format = "uri")]
    pub picture: Option<String>,
}

impl UpdateMeProfileBody {
    /// PatchUser's changes of the same fields, by PatchUser's rules.
    pub fn into_changes(self) -> Result<UserChanges, ValidationErrors> {
        PatchUserBody {
            given_name: self.given_name,
            family_name: self.family_name,
            nickname: self.nickname,
            language: self.language,
            picture: self.picture,
            ..PatchUserBody::default()
        }
        .into_changes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_only_the_profile() {
        let body: UpdateMeProfileBody =
            serde_json::from_str(r#"{"nickname": "jb", "language": null}"#).unwrap();
        assert_eq!(
            body.into_changes().unwrap(),
            UserChanges {
                nickname: Some("jb".to_owned()),
                ..UserChanges::default()
            }
        );
    }

    #[test]
    fn refuses_what_a_user_may_not_change() {
        for field in ["displayName", "isBlocked", "username", "emailVerified"] {
            let body = format!(r#"{{"{field}": null}}"#);
            assert!(
                serde_json::from_str::<UpdateMeProfileBody>(&body).is_err(),
                "{field}"
            );
        }
    }

    #[test]
    fn limits_are_patch_users() {
        let body = UpdateMeProfileBody {
            nickname: Some("n".repeat(101)),
            picture: Some(format!("https://cdn.example.com/{}", "p".repeat(227))),
            ..Default::default()
        };
        let errors = body.into_changes().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["nickname", "picture"]);
    }
}
