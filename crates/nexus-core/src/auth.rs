//! Who may do what: permissions, API keys and STS client mappings.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::user::TENANT_REF;
use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

/// A set of lowercase dotted permissions (`user.read`). The bare `read` and
/// `write` grant every `*.read` and `*.write` (DESIGN §2), and so the
/// `*.read.all` and `*.write.all` that widen one to what the caller does not
/// own (`client.read.all`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions(Vec<String>);

impl Permissions {
    /// Parses a space-delimited list, sorted and without duplicates.
    pub fn parse(text: &str) -> Result<Permissions, String> {
        static CODE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$").expect("valid regex"));
        let mut codes: Vec<String> = Vec::new();
        for code in text.split_whitespace() {
            if code.len() > 100 || !CODE.is_match(code) {
                return Err(format!(
                    "'{code}' is not a lowercase dotted permission such as user.read"
                ));
            }
            codes.push(code.to_owned());
        }
        Ok(Permissions::from_codes(codes))
    }

    pub fn from_codes(codes: impl IntoIterator<Item = String>) -> Permissions {
        let mut codes: Vec<String> = codes.into_iter().collect();
        codes.sort();
        codes.dedup();
        Permissions(codes)
    }

    /// Whether a held code grants `required`: the code itself; a bare
    /// `read`/`write`, every `*.read`/`*.write` and their widened
    /// `*.read.all`/`*.write.all`; a widened `x.read.all`, the `x.read` it
    /// widens; a write, the update of the same resource (`organization.write`
    /// and `write` grant `organization.update`).
    pub fn allows(&self, required: &str) -> bool {
        let kind = required.strip_suffix(".all").unwrap_or(required);
        let updated = required.strip_suffix(".update");
        self.0.iter().any(|held| {
            held == required
                || (held == "read" && kind.ends_with(".read"))
                || (held == "write" && (kind.ends_with(".write") || updated.is_some()))
                || held.strip_suffix(".all") == Some(required)
                || (updated.is_some() && held.strip_suffix(".write") == updated)
        })
    }

    pub fn union(mut self, other: &Permissions) -> Permissions {
        self.0.extend(other.0.iter().cloned());
        Permissions::from_codes(self.0)
    }

    pub fn codes(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The space-delimited form.
    pub fn to_text(&self) -> String {
        self.0.join(" ")
    }
}

/// The audience whose roles give Nexus permissions when no API audience is
/// configured (roles of any other audience are for other APIs).
pub const DEFAULT_NEXUS_AUDIENCE: &str = "urn:nexus:api";

/// What a caller holds. A permission is allowed when every grant allows it:
/// a Bearer caller holds its token's permissions intersected with its
/// application key's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Start-up tasks and the command line: the operator of the machine.
    Operator,
    Grants(Vec<Permissions>),
}

impl Authority {
    pub fn allows(&self, permission: &str) -> bool {
        match self {
            Authority::Operator => true,
            Authority::Grants(grants) => {
                !grants.is_empty() && grants.iter().all(|g| g.allows(permission))
            }
        }
    }

    /// The codes of `wanted` the caller does not hold itself and so may not
    /// give to anyone. A bare `read` or `write` stands for every present and
    /// future `*.read` or `*.write`, so only a holder of the bare code may
    /// give it.
    pub fn missing(&self, wanted: &Permissions) -> Vec<String> {
        let grants = match self {
            Authority::Operator => return Vec::new(),
            Authority::Grants(grants) if grants.is_empty() => return wanted.0.clone(),
            Authority::Grants(grants) => grants,
        };
        let holds = |code: &str| {
            grants.iter().all(|g| match code {
                "read" | "write" => g.0.iter().any(|held| held == code),
                _ => g.allows(code),
            })
        };
        wanted
            .0
            .iter()
            .filter(|code| !holds(code))
            .cloned()
            .collect()
    }
}

/// An API key as shown after creation: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// The public half of the credential: `Basic base64(id:secret)`.
    pub id: String,
    pub description: Option<String>,
    /// Space-delimited.
    pub permissions: String,
    /// A role whose permissions the key also holds.
    pub role_id: Option<String>,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// The answer to creating a key: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Shown once; Nexus keeps only a hash.
    pub secret: String,
    /// `id:secret`, for `Authorization: Basic base64(credential)` or the
    /// `ApplicationToken` header.
    pub credential: String,
}

/// Body of `POST /v1/api-keys`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyBody {
    #[schema(max_length = 250)]
    pub description: Option<String>,
    /// Space-delimited permissions, e.g. `user.read user.sync`.
    #[schema(example = "user.sync")]
    pub permissions: Option<String>,
    /// A role whose permissions the key also holds.
    #[schema(min_length = 1, max_length = 40)]
    pub role_id: Option<String>,
    /// When the key stops working; one year from now by default.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub description: Option<String>,
    pub permissions: Permissions,
    pub role_id: Option<String>,
    pub expires_at: Timestamp,
}

impl NewApiKey {
    /// A key that expires before it is made is a mistake, not a key; the
    /// rule depends on the clock, so a schema cannot state it.
    pub fn require_future_expiry(&self, now: Timestamp) -> Result<(), ValidationErrors> {
        if self.expires_at <= now {
            return Err(ValidationErrors::single(
                "expiresAt",
                "must be in the future",
            ));
        }
        Ok(())
    }
}

const DESCRIPTION: Len = Len::at_most(250);

impl ApiKeyBody {
    pub fn into_new(self, now: Timestamp) -> Result<NewApiKey, ValidationErrors> {
        let mut check = Check::new();
        let description = check.text("description", self.description, DESCRIPTION);
        let permissions = check
            .parse("permissions", self.permissions, Permissions::parse)
            .unwrap_or_default();
        if permissions.is_empty() && self.role_id.is_none() && !check.has_errors() {
            check.fail("permissions", "a key needs permissions or a roleId");
        }
        let role_id = check.text("roleId", self.role_id, Len::between(1, 40));
        let expires_at = check.parse("expiresAt", self.expires_at, Timestamp::parse);
        check.finish_with(|| NewApiKey {
            description,
            permissions,
            role_id,
            expires_at: expires_at.unwrap_or_else(|| now.plus_days(365)),
        })
    }
}

/// Maps an M2M client (token `sub` `{clientId}@clients`) to its permissions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StsClient {
    pub client_id: String,
    /// The IdP tenant whose tokens may use the mapping. A mapping without
    /// one (made before mappings named their tenant) is not used.
    pub idp_tenant_id: Option<i32>,
    pub description: Option<String>,
    /// Space-delimited: the only permissions the client has.
    pub permissions: String,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// Body of `POST /v1/sts-clients`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StsClientBody {
    /// The Auth0 client id (with or without the `@clients` suffix of its tokens' `sub`).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 128)]
    pub client_id: Option<String>,
    /// The IdP tenant that issues the client's tokens: its numeric id, name,
    /// Auth0 tenant name or login domain. Tokens from any other tenant do not
    /// use this mapping.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 200, example = "us-1")]
    pub idp_tenant_id: Option<String>,
    #[schema(max_length = 250)]
    pub description: Option<String>,
    #[schema(required = true, value_type = String, example = "user.read")]
    pub permissions: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewStsClient {
    pub client_id: String,
    /// As given; the service resolves it.
    pub idp_tenant: String,
    pub description: Option<String>,
    pub permissions: Permissions,
}

impl StsClientBody {
    pub fn into_new(self) -> Result<NewStsClient, ValidationErrors> {
        let mut check = Check::new();
        let client_id = check.required_text("clientId", self.client_id, Len::between(1, 128));
        if client_id
            .as_deref()
            .is_some_and(|c| c.chars().any(char::is_whitespace))
        {
            check.fail("clientId", "must not contain whitespace");
        }
        let idp_tenant = check.required_text("idpTenantId", self.idp_tenant_id, TENANT_REF);
        let description = check.text("description", self.description, DESCRIPTION);
        let permissions = check.required("permissions", self.permissions);
        let permissions = check.parse("permissions", permissions, Permissions::parse);
        if permissions.as_ref().is_some_and(Permissions::is_empty) {
            check.fail("permissions", "must name at least one permission");
        }
        check.finish_with(|| NewStsClient {
            client_id: client_id
                .expect("checked")
                .trim_end_matches("@clients")
                .to_owned(),
            idp_tenant: idp_tenant.expect("checked"),
            description,
            permissions: permissions.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_read_and_write_cover_their_kind() {
        let p = Permissions::parse("read user.sync").unwrap();
        assert!(p.allows("user.read") && p.allows("tenant.read") && p.allows("user.sync"));
        assert!(!p.allows("user.write") && !p.allows("role.write"));
        let w = Permissions::parse("write").unwrap();
        assert!(w.allows("user.write") && !w.allows("user.sync") && !w.allows("user.read"));
    }

    #[test]
    fn a_write_covers_the_update_of_its_resource() {
        let p = |text: &str| Permissions::parse(text).unwrap();
        assert!(p("organization.write").allows("organization.update"));
        assert!(p("write").allows("organization.update"));
        assert!(p("organization.update").allows("organization.update"));
        assert!(!p("organization.update").allows("organization.write"));
        assert!(!p("user.write").allows("organization.update"));
        assert!(!p("read").allows("organization.update"));
    }

    #[test]
    fn widened_permissions_cover_their_narrow_kind() {
        let p = |text: &str| Permissions::parse(text).unwrap();
        assert!(p("read").allows("client.read.all") && p("read").allows("client.read"));
        assert!(p("write").allows("client.write.all") && !p("write").allows("client.read.all"));
        assert!(!p("read").allows("client.write.all"));
        let all = p("client.read.all");
        assert!(all.allows("client.read") && all.allows("client.read.all"));
        assert!(!all.allows("client.write") && !all.allows("user.read"));
        let owned = p("client.read");
        assert!(owned.allows("client.read") && !owned.allows("client.read.all"));
        // Only the bare code stands for the widened ones when given.
        let readers = Authority::Grants(vec![p("client.read")]);
        assert_eq!(readers.missing(&p("client.read.all")), ["client.read.all"]);
        assert!(Authority::Grants(vec![p("read")])
            .missing(&p("client.read.all"))
            .is_empty());
    }

    #[test]
    fn only_what_is_held_can_be_given() {
        let p = |text: &str| Permissions::parse(text).unwrap();
        let key_writer = Authority::Grants(vec![p("apikey.write")]);
        assert_eq!(key_writer.missing(&p("read write")), ["read", "write"]);
        assert_eq!(key_writer.missing(&p("apikey.write")), Vec::<String>::new());

        let admin = Authority::Grants(vec![p("read write user.sync")]);
        assert!(admin
            .missing(&p("read write user.sync role.read"))
            .is_empty());
        assert_eq!(admin.missing(&p("user.sync audit.purge")), ["audit.purge"]);

        // Every read permission one by one is not the bare `read`.
        let readers = Authority::Grants(vec![p("user.read tenant.read")]);
        assert_eq!(readers.missing(&p("read user.read")), ["read"]);

        // A Bearer caller holds only what both its grants hold.
        let bearer = Authority::Grants(vec![p("read write"), p("user.read user.write")]);
        assert_eq!(
            bearer.missing(&p("user.write tenant.write write")),
            ["tenant.write", "write"]
        );
        assert!(bearer.allows("user.write") && !bearer.allows("tenant.write"));

        assert!(Authority::Operator.missing(&p("read write")).is_empty());
        assert_eq!(
            Authority::Grants(vec![]).missing(&p("user.read")),
            ["user.read"]
        );
        assert!(!Authority::Grants(vec![]).allows("user.read"));
    }

    #[test]
    fn parsing_normalises_and_rejects() {
        assert_eq!(
            Permissions::parse(" user.write  user.read user.read ")
                .unwrap()
                .to_text(),
            "user.read user.write"
        );
        assert!(Permissions::parse("User.Read").is_err());
        assert!(Permissions::parse("user..read").is_err());
    }

    #[test]
    fn keys_default_to_one_year_and_need_permissions() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let key = ApiKeyBody {
            permissions: Some("user.sync".into()),
            ..Default::default()
        }
        .into_new(now)
        .unwrap();
        assert_eq!(key.expires_at.to_text(), "2027-01-01T00:00:00.000000Z");
        assert!(ApiKeyBody::default().into_new(now).is_err());
        let past = ApiKeyBody {
            permissions: Some("read".into()),
            expires_at: Some("2025-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert!(past
            .into_new(now)
            .unwrap()
            .require_future_expiry(now)
            .unwrap_err()
            .fields()
            .contains_key("expiresAt"));
        assert!(key.require_future_expiry(now).is_ok());
    }

    #[test]
    fn sts_client_ids_drop_the_clients_suffix() {
        let body = StsClientBody {
            client_id: Some("abc@clients".into()),
            idp_tenant_id: Some("1".into()),
            permissions: Some("user.read".into()),
            ..Default::default()
        };
        assert_eq!(body.into_new().unwrap().client_id, "abc");
    }
}
