use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

/// A user's account in one Auth0 tenant.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: i32,
    pub groups: Vec<Group>,
    /// The Auth0 connection strategy of the identity.
    pub strategy: String,
    /// The Auth0 user id; unique within one tenant.
    pub azo_user_id: String,
    pub idp_tenant_id: i32,
    pub login_domain: Option<String>,
    pub azo_tenant_name: String,
    pub idp_tenant_fqdn: String,
    pub idp_tenant_name: String,
    /// The Auth0 connection id or name.
    pub azo_connection_id: String,
    /// Present when a reconciliation of the tenant found the Auth0 user
    /// missing: since when. The identity is kept; the mark is cleared
    /// when a later reconciliation finds the user again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_in_auth0_since: Option<Timestamp>,
}

/// An IdP group carried by an identity, as asserted at the last login.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: i32,
    pub expires: Option<Timestamp>,
    pub group_name: String,
    pub identity_id: i32,
    /// The identity the group belongs to (the same value as `identityId`).
    pub user_identity_id: i32,
}

/// Whether `connection` (a login's connection, or a connection map's) is the
/// identity's Auth0 connection: its id, or its name when that is known. The
/// store's SQL spells the same rule (`nexus_store::identities::on_connection`).
pub fn is_on_connection(
    connection: &str,
    azo_connection_id: &str,
    azo_connection_name: Option<&str>,
) -> bool {
    connection == azo_connection_id || azo_connection_name == Some(connection)
}

pub const STRATEGY_LEN: Len = Len::between(1, 25); // seed 001
pub const AZO_USER_ID_LEN: Len = Len::between(1, 250); // seed 001
pub const AZO_CONNECTION_ID_LEN: Len = Len::between(1, 50); // seed 001

/// Body of `PUT /v1/users/{userId}/idp_tenants/{idpTenantId}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkBody {
    /// The Auth0 connection strategy for the identity.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 25, example = "auth0")]
    pub strategy: Option<String>,
    /// The Auth0 user id of the account in the tenant.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "auth0|64f1c0ffee")]
    pub azo_user_id: Option<String>,
    /// The unique ID or Name of the connection.
    #[schema(
        min_length = 1,
        max_length = 50,
        example = "Username-Password-Authentication"
    )]
    #[schema(required = true, value_type = String)]
    pub azo_connection_id: Option<String>,
}

/// A checked link of a user to a tenant account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    pub strategy: String,
    pub azo_user_id: String,
    pub azo_connection_id: String,
    /// The connection's name when `azo_connection_id` holds its id (known
    /// once the link was checked against Auth0), so either matches at login.
    pub azo_connection_name: Option<String>,
}

impl LinkBody {
    pub fn into_new(self) -> Result<NewIdentity, ValidationErrors> {
        let mut check = Check::new();
        let strategy = check.required_text("strategy", self.strategy, STRATEGY_LEN);
        let azo_user_id = check.required_text("azoUserId", self.azo_user_id, AZO_USER_ID_LEN);
        let azo_connection_id = check.required_text(
            "azoConnectionId",
            self.azo_connection_id,
            AZO_CONNECTION_ID_LEN,
        );
        check.finish_with(|| NewIdentity {
            strategy: strategy.expect("checked"),
            azo_user_id: azo_user_id.expect("checked"),
            azo_connection_id: azo_connection_id.expect("checked"),
            azo_connection_name: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(strategy: &str, user: &str, connection: &str) -> LinkBody {
        LinkBody {
            strategy: Some(strategy.into()),
            azo_user_id: Some(user.into()),
            azo_connection_id: Some(connection.into()),
        }
    }

    #[test]
    fn edges_of_every_field() {
        assert!(body(&"s".repeat(25), &"u".repeat(250), &"c".repeat(50))
            .into_new()
            .is_ok());
        let errors = body(&"s".repeat(26), &"u".repeat(251), &"c".repeat(51))
            .into_new()
            .unwrap_err();
        assert_eq!(errors.fields().len(), 3);
        let errors = body("", "", "").into_new().unwrap_err();
        assert_eq!(errors.fields()["azoUserId"], ["must not be empty"]);
    }

    #[test]
    fn all_fields_are_required() {
        let errors = LinkBody::default().into_new().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["azoConnectionId", "azoUserId", "strategy"]);
    }

    #[test]
    fn a_connection_is_named_by_its_id_or_its_name() {
        assert!(is_on_connection("con_1", "con_1", Some("corp-ad")));
        assert!(is_on_connection("corp-ad", "con_1", Some("corp-ad")));
        assert!(is_on_connection("corp-ad", "corp-ad", None));
        assert!(!is_on_connection("corp-ad", "con_1", None));
        assert!(!is_on_connection("Corp-AD", "con_1", Some("corp-ad")));
    }
}
