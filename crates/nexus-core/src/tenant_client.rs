//! The applications (Auth0 clients) of an IdP tenant as Nexus shows them
//! (`TenantClient`), who owns one, and the body that enables or disables one
//! on a connection. Nexus stores none of it: the service reads Auth0.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::list_query::{Field, FieldKind, ListSpec};
use crate::validation::{Check, Len};
use crate::ValidationErrors;

/// The `client_metadata` keys Nexus reads where Auth0 has no field of its
/// own. Auth0 keeps metadata values as strings of at most 255 characters.
pub mod metadata {
    /// Comma-separated Nexus user ids, role ids and role names.
    pub const OWNERS: &str = "owners";
    /// The key of the custom UPN the application's ID tokens carry.
    pub const APP_UPN_KEY: &str = "app_upn_key";
    pub const PRODUCT_NAME: &str = "product_name";
    pub const APPLICATION_NAME: &str = "application_name";
    /// `true` for an application made by hand in Auth0's dashboard.
    pub const MANUALLY_CREATED: &str = "manually_created";
}

/// An Auth0 application (client) of the tenant, read from Auth0's
/// Management API at each request. Fields Auth0 has no place for come from
/// the client's `client_metadata`. With `$select`, only the fields named are
/// present.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantClient {
    /// Auth0's `client_id`.
    #[schema(required = false)]
    pub id: String,
    pub name: Option<String>,
    /// Auth0's `app_type`: `native`, `spa`, `regular_web`,
    /// `non_interactive`, …
    #[serde(rename = "type")]
    pub client_type: Option<String>,
    /// Auth0's `mobile` settings.
    pub mobile: Option<ClientMobile>,
    /// From `client_metadata.owners`: comma-separated Nexus user ids, role
    /// ids and role names. A caller with `client.read` (not
    /// `client.read.all`) sees the applications whose owners name its user,
    /// or one of its roles.
    #[schema(required = false)]
    pub owners: Vec<String>,
    /// Always null: Nexus never returns an application's secret, which
    /// would hand a confidential client's credentials to every reader of
    /// the list. Read it in Auth0.
    #[schema(value_type = Option<String>, nullable = true)]
    pub secret: Option<String>,
    /// Auth0's `logo_uri`.
    pub logo_url: Option<String>,
    /// Auth0's `grant_types`.
    #[schema(required = false)]
    pub grant_types: Vec<String>,
    /// From `client_metadata.product_name`.
    pub product_name: Option<String>,
    /// Auth0's `callbacks`.
    #[schema(required = false)]
    pub callback_urls: Vec<String>,
    /// From `client_metadata.app_upn_key`: the `clientUpnKey` of the custom
    /// UPN this application's ID tokens carry.
    #[serde(rename = "client_upn_key")]
    pub client_upn_key: Option<String>,
    /// From `client_metadata.application_name`.
    pub application_name: Option<String>,
    /// From `client_metadata.manually_created` (`"true"`); false otherwise.
    #[schema(required = false)]
    pub manually_created: bool,
    /// Auth0's `token_endpoint_auth_method`: `none`, `client_secret_post`,
    /// `client_secret_basic`.
    pub client_auth_method: Option<String>,
    /// Auth0's `allowed_logout_urls`.
    #[schema(required = false)]
    pub allowed_logout_urls: Vec<String>,
    /// Auth0's `web_origins`.
    #[schema(required = false)]
    pub allowed_web_origins: Vec<String>,
    /// Auth0's `allowed_origins` (CORS).
    #[schema(required = false)]
    pub allowed_cors_origins: Vec<String>,
    /// Seconds; Auth0's `jwt_configuration.lifetime_in_seconds`.
    pub id_token_expiration: Option<i64>,
    /// Seconds; Auth0's `refresh_token.leeway`.
    pub refresh_token_reuse_interval: Option<i64>,
    /// Seconds; Auth0's `refresh_token.token_lifetime`.
    pub refresh_token_absolute_lifetime: Option<i64>,
    /// Seconds; Auth0's `refresh_token.idle_token_lifetime`.
    pub refresh_token_inactivity_lifetime: Option<i64>,
    /// Auth0's `refresh_token.rotation_type` is `rotating`.
    #[schema(required = false)]
    pub is_refresh_token_rotation_enabled: bool,
    /// Refresh tokens expire (`expiration_type` `expiring`) and their
    /// lifetime is not infinite.
    #[schema(required = false)]
    pub is_refresh_token_absolute_expiration_enabled: bool,
    /// Refresh tokens expire and their idle lifetime is not infinite.
    #[schema(required = false)]
    pub is_refresh_token_inactivity_lifetime_enabled: bool,
    /// Auth0's `cross_origin_authentication`.
    #[schema(required = false)]
    pub allow_cross_origin_authentication: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ClientMobile {
    pub ios: Option<ClientMobileIos>,
    pub android: Option<ClientMobileAndroid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientMobileIos {
    pub team_id: Option<String>,
    pub app_bundle_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientMobileAndroid {
    pub app_package_name: Option<String>,
    #[schema(required = false)]
    pub sha256_cert_fingerprints: Vec<String>,
}

/// Every field of `TenantClient`, as `$select` names them.
pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "type",
    "mobile",
    "owners",
    "secret",
    "logoUrl",
    "grantTypes",
    "productName",
    "callbackUrls",
    "client_upn_key",
    "applicationName",
    "manuallyCreated",
    "clientAuthMethod",
    "allowedLogoutUrls",
    "allowedWebOrigins",
    "allowedCorsOrigins",
    "idTokenExpiration",
    "refreshTokenReuseInterval",
    "refreshTokenAbsoluteLifetime",
    "refreshTokenInactivityLifetime",
    "isRefreshTokenRotationEnabled",
    "isRefreshTokenAbsoluteExpirationEnabled",
    "isRefreshTokenInactivityLifetimeEnabled",
    "allowCrossOriginAuthentication",
];

const fn text(name: &'static str) -> Field {
    Field::new(name, name, FieldKind::Text)
        .sortable()
        .nullable()
}

/// What `$orderby` and `$search` take. The list is ordered in Nexus, not
/// in SQL: the column names are unused.
pub static LIST: ListSpec = ListSpec {
    fields: &[
        Field::new("id", "id", FieldKind::Text).sortable(),
        text("name"),
        text("type"),
        text("productName"),
        text("applicationName"),
        text("client_upn_key"),
        text("clientAuthMethod"),
        Field::new("idTokenExpiration", "idTokenExpiration", FieldKind::Integer)
            .sortable()
            .nullable(),
    ],
    search: &["id", "name", "productName", "applicationName"],
    id_field: "id",
};

/// The owners a `client_metadata.owners` value names: comma-separated,
/// blanks ignored.
pub fn parse_owners(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|owner| !owner.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Who asks, as ownership sees it: the caller's Nexus user, and its roles
/// (a user's roles, or an API key's role), by id and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCaller {
    pub user_id: Option<String>,
    pub roles: Vec<(String, String)>,
}

impl ClientCaller {
    /// Whether `owners` names the caller's user or one of its roles. A
    /// caller with neither owns nothing.
    pub fn owns(&self, owners: &[String]) -> bool {
        owners.iter().any(|owner| {
            self.user_id.as_deref() == Some(owner.as_str())
                || self
                    .roles
                    .iter()
                    .any(|(id, name)| id == owner || name == owner)
        })
    }
}

/// Which applications a reader sees, and which a writer may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    /// `client.read.all` / `client.write.all`.
    All,
    /// `client.read` / `client.write`: those the caller owns.
    Owned(ClientCaller),
}

impl ClientScope {
    pub fn covers(&self, client: &TenantClient) -> bool {
        match self {
            ClientScope::All => true,
            ClientScope::Owned(caller) => caller.owns(&client.owners),
        }
    }
}

/// Auth0 client ids are short; a longer one names nothing.
const CLIENT_ID: Len = Len::between(1, 128);

/// Body of `PATCH /v1/tenants/{tenantId}/connections/{connectionId}/clients`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConnectionClientBody {
    /// The Auth0 client id of the application.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 128)]
    pub client_id: Option<String>,
    /// Whether users may sign in to the application through the connection.
    #[schema(required = true, value_type = bool)]
    pub enabled: Option<bool>,
}

/// What the body asks for: the application and its state on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionClientChange {
    pub client_id: String,
    pub enabled: bool,
}

impl UpdateConnectionClientBody {
    pub fn into_change(self) -> Result<ConnectionClientChange, ValidationErrors> {
        let mut check = Check::new();
        let client_id = check.required_text("clientId", self.client_id, CLIENT_ID);
        let enabled = check.required("enabled", self.enabled);
        check.finish_with(|| ConnectionClientChange {
            client_id: client_id.expect("checked"),
            enabled: enabled.expect("checked"),
        })
    }
}

/// An application's state on a connection, after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionClient {
    /// The Auth0 connection id.
    pub connection_id: String,
    pub client_id: String,
    pub enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_comma_separated_and_blanks_ignored() {
        assert_eq!(
            parse_owners(" u-1 ,, developers ,r-2,"),
            ["u-1", "developers", "r-2"]
        );
        assert!(parse_owners(" , ").is_empty());
    }

    #[test]
    fn a_caller_owns_by_user_or_role_id_or_name() {
        let owners = parse_owners("u-1,developers,r-9");
        let user = ClientCaller {
            user_id: Some("u-1".into()),
            roles: vec![],
        };
        let by_name = ClientCaller {
            user_id: None,
            roles: vec![("r-2".into(), "developers".into())],
        };
        let by_id = ClientCaller {
            user_id: Some("u-2".into()),
            roles: vec![("r-9".into(), "other".into())],
        };
        let stranger = ClientCaller {
            user_id: Some("u-2".into()),
            roles: vec![("r-3".into(), "testers".into())],
        };
        assert!(user.owns(&owners) && by_name.owns(&owners) && by_id.owns(&owners));
        assert!(!stranger.owns(&owners));
        assert!(!ClientCaller::default().owns(&owners));
        assert!(!user.owns(&[]));
    }

    #[test]
    fn the_body_needs_a_client_and_a_state() {
        let errors = UpdateConnectionClientBody::default()
            .into_change()
            .unwrap_err();
        assert_eq!(
            errors.fields().keys().collect::<Vec<_>>(),
            ["clientId", "enabled"]
        );
        let empty = UpdateConnectionClientBody {
            client_id: Some(String::new()),
            enabled: Some(true),
        };
        assert!(empty
            .into_change()
            .unwrap_err()
            .fields()
            .contains_key("clientId"));
        let change = UpdateConnectionClientBody {
            client_id: Some("abc".into()),
            enabled: Some(false),
        }
        .into_change()
        .unwrap();
        assert_eq!(
            change,
            ConnectionClientChange {
                client_id: "abc".into(),
                enabled: false
            }
        );
    }

    #[test]
    fn every_field_is_selectable_and_sortable_fields_exist() {
        let client = serde_json::to_value(TenantClient {
            id: "c".into(),
            name: None,
            client_type: None,
            mobile: None,
            owners: vec![],
            secret: None,
            logo_url: None,
            grant_types: vec![],
            product_name: None,
            callback_urls: vec![],
            client_upn_key: None,
            application_name: None,
            manually_created: false,
            client_auth_method: None,
            allowed_logout_urls: vec![],
            allowed_web_origins: vec![],
            allowed_cors_origins: vec![],
            id_token_expiration: None,
            refresh_token_reuse_interval: None,
            refresh_token_absolute_lifetime: None,
            refresh_token_inactivity_lifetime: None,
            is_refresh_token_rotation_enabled: false,
            is_refresh_token_absolute_expiration_enabled: false,
            is_refresh_token_inactivity_lifetime_enabled: false,
            allow_cross_origin_authentication: false,
        })
        .unwrap();
        let keys: std::collections::BTreeSet<&str> = client
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, FIELDS.iter().copied().collect());
        assert_eq!(keys.len(), FIELDS.len());
        for field in LIST.fields {
            assert!(FIELDS.contains(&field.name), "{}", field.name);
        }
    }
}
