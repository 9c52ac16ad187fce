//! An organization's ids in other systems (CRM, billing, a legacy
//! directory): `(systemName, systemId)` names one organization at most.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

/// OrganizationAlias: the organization's id in the system `systemName`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationAlias {
    pub created: Timestamp,
    pub system_id: String,
    pub system_name: String,
    pub organization_id: i32,
    pub created_by: String,
}

/// Body of `POST /v1/organizations/{organizationId}/aliases/{systemName}`
/// (CreateOrganizationAlias).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAliasBody {
    /// The organization's id in the system; compared exactly.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 255, example = "0015g00000XyZaB")]
    pub system_id: Option<String>,
}

/// The name of another system, compared without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemName(String);

impl SystemName {
    pub fn parse(text: &str) -> Result<SystemName, String> {
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && text.len() <= 100 {
            Ok(SystemName(text.to_owned()))
        } else {
            Err("must be 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked alias to create.
#[derive(Debug, Clone)]
pub struct NewAlias {
    pub system_name: SystemName,
    pub system_id: String,
}

/// The system id's bounds (CreateOrganizationAlias: 1-255).
pub const SYSTEM_ID: Len = Len::between(1, 255);

impl CreateAliasBody {
    pub fn into_new(self, system_name: &str) -> Result<NewAlias, ValidationErrors> {
        let mut check = Check::new();
        let system_name = check.parse("systemName", Some(system_name.to_owned()), |s| {
            SystemName::parse(s)
        });
        let system_id = check.required_text("systemId", self.system_id, SYSTEM_ID);
        check.finish_with(|| NewAlias {
            system_name: system_name.expect("checked"),
            system_id: system_id.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(system_id: &str) -> CreateAliasBody {
        CreateAliasBody {
            system_id: Some(system_id.to_owned()),
        }
    }

    #[test]
    fn system_id_edges() {
        assert!(body("x").into_new("crm").is_ok());
        assert!(body(&"x".repeat(255)).into_new("crm").is_ok());
        assert!(body(&"x".repeat(256)).into_new("crm").is_err());
        assert!(body("").into_new("crm").is_err());
        assert!(CreateAliasBody::default().into_new("crm").is_err());
    }

    #[test]
    fn every_failing_field_is_reported() {
        let errors = CreateAliasBody::default().into_new("-crm").unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["systemId", "systemName"]);
    }
}
