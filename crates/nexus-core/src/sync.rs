//! `PUT /v1/users/{userId}/$sync` (seed 002): what the IdP asserted at a login,
//! and what Nexus answers for the tokens.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::role::GROUP_NAME;
use crate::user::{User, UserRole};
use crate::validation::{check_text, Check, Len};
use crate::values::{AzoClientId, ClientUpnKey};
use crate::ValidationErrors;

const AUDIENCE: Len = Len::between(1, 250); // seed 002: minLength 1
const ATTRIBUTE_KEY: Len = Len::between(1, 100);
const ATTRIBUTE_VALUE: Len = Len::at_most(2000);
const MAX_GROUPS: usize = 1000;
const MAX_ATTRIBUTES: usize = 100;

/// Body of `$sync`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncBody {
    /// The API the token is for; roles are resolved for it.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "https://api.example.com")]
    pub audience: Option<String>,
    /// Attributes the IdP asserted; each is stored under its key (a key
    /// given twice keeps its last value).
    #[schema(required = true, value_type = Vec<SyncAttribute>, max_items = 100)]
    pub attributes: Option<Vec<SyncAttribute>>,
    #[schema(required = true, value_type = SyncConnection)]
    pub connection: Option<SyncConnection>,
    /// Selects the custom UPN returned as `upn`.
    #[schema(min_length = 1, max_length = 255)]
    pub client_upn_key: Option<String>,
    /// The Auth0 client (application) the user is logging in through
    /// (`event.client.client_id` in a post-login Action). When it runs an
    /// application Nexus manages, the answer's `isEntitled` says whether the
    /// user may use it.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub client_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncAttribute {
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100)]
    pub key: Option<String>,
    #[schema(required = true, value_type = String, max_length = 2000)]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncConnection {
    /// The group names the IdP asserted; they replace the identity's groups.
    #[schema(required = true, value_type = Vec<String>, max_items = 1000)]
    pub groups: Option<Vec<String>>,
    /// The Auth0 connection id or name the user logged in through.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 50)]
    pub connection_id: Option<String>,
}

/// A checked `$sync` request.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRequest {
    pub audience: String,
    /// Value by name.
    pub attributes: BTreeMap<String, String>,
    pub connection_id: String,
    /// Without duplicates.
    pub groups: BTreeSet<String>,
    pub client_upn_key: Option<ClientUpnKey>,
    pub client_id: Option<AzoClientId>,
}

impl SyncBody {
    pub fn into_request(self) -> Result<SyncRequest, ValidationErrors> {
        let mut check = Check::new();
        let audience = check.required_text("audience", self.audience, AUDIENCE);
        let attributes = check
            .required("attributes", self.attributes)
            .map(|a| attributes(&mut check, a));
        let connection = check.required("connection", self.connection);
        let (connection_id, groups) = match connection {
            Some(c) => {
                let id = check.required_text(
                    "connection.connectionId",
                    c.connection_id,
                    crate::identity::AZO_CONNECTION_ID_LEN,
                );
                let groups = check
                    .required("connection.groups", c.groups)
                    .map(|g| groups(&mut check, g));
                (id, groups)
            }
            None => (None, None),
        };
        let client_upn_key = check.parse("clientUpnKey", self.client_upn_key, ClientUpnKey::parse);
        let client_id = check.parse("clientId", self.client_id, AzoClientId::parse);
        check.finish_with(|| SyncRequest {
            audience: audience.expect("checked"),
            attributes: attributes.expect("checked"),
            connection_id: connection_id.expect("checked"),
            groups: groups.expect("checked"),
            client_upn_key,
            client_id,
        })
    }
}

fn attributes(check: &mut Check, items: Vec<SyncAttribute>) -> BTreeMap<String, String> {
    if items.len() > MAX_ATTRIBUTES {
        check.fail(
            "attributes",
            format!("must have at most {MAX_ATTRIBUTES} items"),
        );
    }
    let mut out = BTreeMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let key = check.required_text(&format!("attributes[{i}].key"), item.key, ATTRIBUTE_KEY);
        let value = check.required(&format!("attributes[{i}].value"), item.value);
        let value = check.text(&format!("attributes[{i}].value"), value, ATTRIBUTE_VALUE);
        if let (Some(key), Some(value)) = (key, value) {
            // A key asserted again takes its last value, as a repeated member
            // of a JSON object would.
            out.insert(key, value);
        }
    }
    out
}

fn groups(check: &mut Check, names: Vec<String>) -> BTreeSet<String> {
    if names.len() > MAX_GROUPS {
        check.fail(
            "connection.groups",
            format!("must have at most {MAX_GROUPS} items"),
        );
    }
    for (i, name) in names.iter().enumerate() {
        if let Err(message) = check_text(name, GROUP_NAME) {
            check.fail(&format!("connection.groups[{i}]"), message);
        }
    }
    names.into_iter().collect()
}

/// The `$sync` answer (`UserInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub user: User,
    /// The user's unexpired roles for the requested audience.
    pub roles: Vec<UserRole>,
    pub user_id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: String,
    /// False when the user is not active: the login must be denied.
    pub is_authenticated: bool,
    /// True when the login must use multi-factor authentication: the user's
    /// primary organization or one of their memberships requires it (a
    /// membership does when it or its organization has `isMfaRequired`), and
    /// the user is not exempt (`isMfaDisabled`).
    pub mfa_required: bool,
    /// The custom UPN for `clientUpnKey`, if the user has one.
    pub upn: Option<String>,
    /// Whether the user may use the application that `clientId` runs: an
    /// active, unexpired deployment of it to one of the user's
    /// organizations, under an enabled, active, unexpired subscription, with
    /// the user's assignment to it active and unexpired. Absent when no
    /// `clientId` was given or the client runs no application Nexus manages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_entitled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(groups: Vec<&str>) -> SyncBody {
        SyncBody {
            audience: Some("https://api.example.com".into()),
            attributes: Some(vec![SyncAttribute {
                key: Some("dept".into()),
                value: Some("eng".into()),
            }]),
            connection: Some(SyncConnection {
                groups: Some(groups.into_iter().map(String::from).collect()),
                connection_id: Some("corp-ad".into()),
            }),
            client_upn_key: None,
            client_id: None,
        }
    }

    #[test]
    fn groups_are_a_set() {
        let request = body(vec!["b", "a", "b"]).into_request().unwrap();
        assert_eq!(request.groups.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_repeated_attribute_keeps_its_last_value() {
        let mut repeated = body(vec![]);
        let attribute = |value: &str| SyncAttribute {
            key: Some("dept".into()),
            value: Some(value.into()),
        };
        repeated.attributes = Some(vec![attribute("eng"), attribute("ops")]);
        let request = repeated.into_request().unwrap();
        assert_eq!(
            request.attributes,
            BTreeMap::from([("dept".to_owned(), "ops".to_owned())])
        );
    }

    #[test]
    fn every_missing_part_is_reported() {
        let errors = SyncBody::default().into_request().unwrap_err();
        assert_eq!(
            errors.fields().keys().collect::<Vec<_>>(),
            ["attributes", "audience", "connection"]
        );
        let errors = SyncBody {
            connection: Some(SyncConnection::default()),
            ..body(vec![])
        }
        .into_request()
        .unwrap_err();
        assert_eq!(
            errors.fields().keys().collect::<Vec<_>>(),
            ["connection.connectionId", "connection.groups"]
        );
    }

    #[test]
    fn empty_group_names_are_rejected() {
        let errors = body(vec!["a", ""]).into_request().unwrap_err();
        assert_eq!(
            errors.fields().keys().collect::<Vec<_>>(),
            ["connection.groups[1]"]
        );
    }
}
