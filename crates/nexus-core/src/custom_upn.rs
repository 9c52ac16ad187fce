use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::Check;
use crate::values::{ClientUpnKey, CustomUpnValue};
use crate::{Timestamp, ValidationErrors};

/// An extra user principal name for legacy AD/RDP applications.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomUpn {
    pub id: String,
    pub user_id: String,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub created_by: String,
    pub modified_by: String,
    /// The Auth0 client metadata `app_upn_key` this UPN is the `upn` claim for.
    pub client_upn_key: Option<String>,
    /// `user_part@domain_part`.
    pub custom_upn_value: String,
}

/// Body of `PATCH /v1/users/{userId}/custom-upns/{upnId}` (and, through
/// `NewCustomUpnBody`, of `POST`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomUpnBody {
    /// Associates the UPN with Auth0 clients whose metadata property
    /// `app_upn_key` has this value; at most one UPN per key per user.
    #[schema(max_length = 255, min_length = 1)]
    pub client_upn_key: Option<String>,
    /// Must take the form `user_part@domain_part`.
    #[schema(
        max_length = 1024,
        min_length = 3,
        example = "justin@acme.ecihosted.com"
    )]
    pub custom_upn_value: Option<String>,
}

/// Body of `POST /v1/users/{userId}/custom-upns`: `CustomUpnBody` with the
/// value required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCustomUpnBody {
    /// Associates the UPN with Auth0 clients whose metadata property
    /// `app_upn_key` has this value; at most one UPN per key per user.
    #[schema(max_length = 255, min_length = 1)]
    pub client_upn_key: Option<String>,
    /// Must take the form `user_part@domain_part`.
    #[schema(
        required = true,
        value_type = String,
        max_length = 1024,
        min_length = 3,
        example = "justin@acme.ecihosted.com"
    )]
    pub custom_upn_value: Option<String>,
}

impl From<NewCustomUpnBody> for CustomUpnBody {
    fn from(body: NewCustomUpnBody) -> Self {
        CustomUpnBody {
            client_upn_key: body.client_upn_key,
            custom_upn_value: body.custom_upn_value,
        }
    }
}

/// A checked custom UPN to create.
#[derive(Debug, Clone)]
pub struct NewCustomUpn {
    pub client_upn_key: Option<ClientUpnKey>,
    pub custom_upn_value: CustomUpnValue,
}

/// Checked changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomUpnChanges {
    pub client_upn_key: Option<ClientUpnKey>,
    pub custom_upn_value: Option<CustomUpnValue>,
}

impl CustomUpnBody {
    pub fn into_new(self) -> Result<NewCustomUpn, ValidationErrors> {
        let mut check = Check::new();
        let value = check.required("customUpnValue", self.custom_upn_value);
        let changes = parse_fields(&mut check, self.client_upn_key, value);
        check.finish_with(|| NewCustomUpn {
            client_upn_key: changes.client_upn_key,
            custom_upn_value: changes.custom_upn_value.expect("checked as required"),
        })
    }

    pub fn into_changes(self) -> Result<CustomUpnChanges, ValidationErrors> {
        let mut check = Check::new();
        let changes = parse_fields(&mut check, self.client_upn_key, self.custom_upn_value);
        check.finish_with(|| changes)
    }
}

fn parse_fields(check: &mut Check, key: Option<String>, value: Option<String>) -> CustomUpnChanges {
    CustomUpnChanges {
        client_upn_key: check.parse("clientUpnKey", key, ClientUpnKey::parse),
        custom_upn_value: check.parse("customUpnValue", value, CustomUpnValue::parse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requires_a_value() {
        let errors = CustomUpnBody::default().into_new().unwrap_err();
        assert_eq!(errors.fields()["customUpnValue"], ["is required"]);
    }

    #[test]
    fn patch_may_be_empty() {
        let changes = CustomUpnBody::default().into_changes().unwrap();
        assert!(changes.client_upn_key.is_none() && changes.custom_upn_value.is_none());
    }

    #[test]
    fn reports_both_fields() {
        let body = CustomUpnBody {
            client_upn_key: Some("k".repeat(256)),
            custom_upn_value: Some("nope".into()),
        };
        let errors = body.into_changes().unwrap_err();
        assert_eq!(errors.fields().len(), 2);
    }
}
