use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::user::OrganizationRef;
use crate::validation::{Check, Len};
use crate::values::{DnsName, HttpUrl};
use crate::{Timestamp, ValidationErrors};

/// An Auth0 tenant Nexus knows. Management API credentials are write-only.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdpTenant {
    pub id: i32,
    /// Nexus's unique name for the tenant, e.g. `us-1`.
    pub name: String,
    /// The Auth0 tenant name, e.g. `eci-us-prod`.
    pub azo_tenant_name: String,
    /// The tenant's Auth0 domain.
    pub fqdn: String,
    /// The tenant's custom login domain.
    pub login_domain: Option<String>,
    /// Where the tenant's Auth0 endpoints are when not at `https://{fqdn}`
    /// (a local Auth0 simulator); null in production.
    pub base_url: Option<String>,
    /// Whether Management API credentials are stored (they are never returned).
    pub has_management_credentials: bool,
    pub jit_provisioning: JitProvisioning,
    /// Whether a log-stream token is set (it is never returned): Auth0's
    /// log stream can then post the tenant's events to
    /// `POST /v1/idp_tenants/{idpTenantId}/log-stream`.
    pub has_log_stream_token: bool,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// Just-in-time provisioning: the first login of an Auth0 user Nexus does
/// not know yet imports that user (as an import would: matched by
/// `app_metadata.nexus_user_id` or a verified address, else created in
/// `organizationId`) instead of being refused. Off unless set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JitProvisioning {
    pub enabled: bool,
    /// The organization users created at their first login join; null
    /// when off (also when that organization is deleted, which turns it off).
    pub organization_id: Option<i32>,
}

/// `jitProvisioning` in a tenant's body: replaces the setting whole.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JitProvisioningBody {
    #[schema(required = true, value_type = bool)]
    pub enabled: Option<bool>,
    /// The organization users created at their first login join: its id or
    /// its name, as in CreateUser. Required when `enabled`; refused otherwise.
    #[schema(min_length = 1, max_length = 250, example = "acme")]
    pub organization: Option<String>,
}

/// A checked `jitProvisioning`.
#[derive(Debug, Clone, PartialEq)]
pub enum Jit {
    Off,
    /// On, creating users in the organization with this id or name.
    On(OrganizationRef),
}

/// A value that must never be shown: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Every secret a body carries (a password, a client secret): text of
    /// this length, as the `Secret` schema states.
    pub const LEN: Len = Len::between(1, 512);

    pub fn check(&self) -> Result<(), String> {
        crate::validation::check_text(&self.0, Self::LEN)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl utoipa::PartialSchema for Secret {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Password,
            )))
            .write_only(Some(true))
            .min_length(Some(Secret::LEN.min))
            .max_length(Some(Secret::LEN.max))
            .pattern(Some(crate::patterns::NO_CONTROL_CHARACTERS))
            .into()
    }
}

impl utoipa::ToSchema for Secret {}

/// The token an Auth0 log stream authenticates with (`Authorization:
/// Bearer <token>`). Only its SHA-256 is stored; `Debug` prints a
/// placeholder.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct LogStreamToken(String);

impl LogStreamToken {
    /// Long enough not to be guessed, short enough for a header.
    pub const LEN: Len = Len::between(16, 512);

    pub fn new(value: String) -> Self {
        LogStreamToken(value)
    }

    /// Visible ASCII only: it travels in an HTTP header after `Bearer `.
    pub fn check(&self) -> Result<(), String> {
        crate::validation::check_text(&self.0, Self::LEN)?;
        if !self.0.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "must consist of visible ASCII characters (no spaces): it is sent in an HTTP header"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// What is stored and compared: the token's SHA-256, in hex.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

/// The SHA-256 of a presented token, in hex (as `LogStreamToken::hash`).
pub fn hash_token(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl std::fmt::Debug for LogStreamToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogStreamToken(***)")
    }
}

impl utoipa::PartialSchema for LogStreamToken {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Password,
            )))
            .write_only(Some(true))
            .min_length(Some(LogStreamToken::LEN.min))
            .max_length(Some(LogStreamToken::LEN.max))
            .pattern(Some(crate::patterns::LOG_STREAM_TOKEN))
            .into()
    }
}

impl utoipa::ToSchema for LogStreamToken {}

const NAME_LEN: Len = Len::between(1, 50);
const AZO_TENANT_NAME_LEN: Len = Len::between(1, 100);
const CLIENT_ID_LEN: Len = Len::between(1, 128);

/// Body of `PATCH /v1/idp_tenants/{idpTenantId}` (and, through
/// `NewIdpTenantBody`, of `POST`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdpTenantBody {
    /// Unique; not all digits (paths resolve digits as the numeric id).
    #[schema(min_length = 1, max_length = 50, example = "us-1")]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 100, example = "eci-us-prod")]
    pub azo_tenant_name: Option<String>,
    /// The tenant's Auth0 domain (a DNS name).
    #[schema(example = "eci-us-prod.us.auth0.com")]
    pub fqdn: Option<String>,
    /// The tenant's custom login domain (a DNS name).
    #[schema(example = "login.us.example.com")]
    pub login_domain: Option<String>,
    /// Client id of a machine-to-machine application authorised for the
    /// Management API. Write-only; give it together with the secret.
    #[schema(min_length = 1, max_length = 128)]
    pub management_client_id: Option<String>,
    /// Write-only.
    #[schema(min_length = 1, max_length = 512)]
    pub management_client_secret: Option<Secret>,
    /// Management API audience; defaults to `https://{fqdn}/api/v2/`.
    pub management_audience: Option<String>,
    /// Base URL of the tenant's Auth0 endpoints (token, JWKS, Management API)
    /// when they are not at `https://{fqdn}`: for a local Auth0 simulator.
    /// Plain http is accepted for loopback hosts only.
    #[schema(example = "http://127.0.0.1:4010")]
    pub base_url: Option<String>,
    /// Just-in-time provisioning of unknown Auth0 users at their first
    /// login (`PUT …/accounts/{azoUserId}/$sync`). Needs Management
    /// credentials.
    pub jit_provisioning: Option<JitProvisioningBody>,
    /// The token Auth0's log stream sends (as `Authorization: Bearer
    /// <token>`) to post the tenant's events to
    /// `/v1/idp_tenants/{idpTenantId}/log-stream`: 16–512 visible ASCII
    /// characters. Write-only; a new one replaces the old.
    pub log_stream_token: Option<LogStreamToken>,
}

/// Body of `POST /v1/idp_tenants`: `IdpTenantBody` with the tenant's names
/// and domain required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewIdpTenantBody {
    /// Unique; not all digits (paths resolve digits as the numeric id).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 50, example = "us-1")]
    pub name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, example = "eci-us-prod")]
    pub azo_tenant_name: Option<String>,
    /// The tenant's Auth0 domain (a DNS name).
    #[schema(required = true, value_type = String, example = "eci-us-prod.us.auth0.com")]
    pub fqdn: Option<String>,
    /// The tenant's custom login domain (a DNS name).
    #[schema(example = "login.us.example.com")]
    pub login_domain: Option<String>,
    /// Client id of a machine-to-machine application authorised for the
    /// Management API. Write-only; give it together with the secret.
    #[schema(min_length = 1, max_length = 128)]
    pub management_client_id: Option<String>,
    /// Write-only; give it together with the client id.
    #[schema(min_length = 1, max_length = 512)]
    pub management_client_secret: Option<Secret>,
    /// Management API audience; defaults to `https://{fqdn}/api/v2/`.
    /// Only together with the client id and secret.
    pub management_audience: Option<String>,
    /// Base URL of the tenant's Auth0 endpoints (token, JWKS, Management API)
    /// when they are not at `https://{fqdn}`: for a local Auth0 simulator.
    /// Plain http is accepted for loopback hosts only.
    #[schema(example = "http://127.0.0.1:4010")]
    pub base_url: Option<String>,
    /// Just-in-time provisioning of unknown Auth0 users at their first
    /// login (`PUT …/accounts/{azoUserId}/$sync`). Needs Management
    /// credentials.
    pub jit_provisioning: Option<JitProvisioningBody>,
    /// The token Auth0's log stream sends (as `Authorization: Bearer
    /// <token>`) to post the tenant's events to
    /// `/v1/idp_tenants/{idpTenantId}/log-stream`: 16–512 visible ASCII
    /// characters. Write-only; a new one replaces the old.
    pub log_stream_token: Option<LogStreamToken>,
}

impl From<NewIdpTenantBody> for IdpTenantBody {
    fn from(body: NewIdpTenantBody) -> Self {
        IdpTenantBody {
            name: body.name,
            azo_tenant_name: body.azo_tenant_name,
            fqdn: body.fqdn,
            login_domain: body.login_domain,
            management_client_id: body.management_client_id,
            management_client_secret: body.management_client_secret,
            management_audience: body.management_audience,
            base_url: body.base_url,
            jit_provisioning: body.jit_provisioning,
            log_stream_token: body.log_stream_token,
        }
    }
}

/// Management API credentials of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub audience: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewIdpTenant {
    pub name: String,
    pub azo_tenant_name: String,
    pub fqdn: DnsName,
    pub login_domain: Option<DnsName>,
    pub credentials: Option<ManagementCredentials>,
    pub base_url: Option<String>,
    pub jit: Option<Jit>,
    /// The SHA-256 (hex) of the log-stream token.
    pub log_stream_token_hash: Option<String>,
}

/// Checked changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IdpTenantChanges {
    pub name: Option<String>,
    pub azo_tenant_name: Option<String>,
    pub fqdn: Option<DnsName>,
    pub login_domain: Option<DnsName>,
    pub credentials: Option<ManagementCredentials>,
    pub management_audience: Option<String>,
    pub base_url: Option<String>,
    pub jit: Option<Jit>,
    /// The SHA-256 (hex) of a new log-stream token.
    pub log_stream_token_hash: Option<String>,
}

impl IdpTenantBody {
    pub fn into_new(self) -> Result<NewIdpTenant, ValidationErrors> {
        let mut check = Check::new();
        check.required("name", self.name.as_ref());
        check.required("azoTenantName", self.azo_tenant_name.as_ref());
        check.required("fqdn", self.fqdn.as_ref());
        let changes = self.parse(&mut check);
        if changes.management_audience.is_some() && changes.credentials.is_none() {
            check.fail(
                "managementAudience",
                "is only accepted together with managementClientId and managementClientSecret",
            );
        }
        if matches!(changes.jit, Some(Jit::On(_))) && changes.credentials.is_none() {
            check.fail(
                "jitProvisioning",
                "needs managementClientId and managementClientSecret: Nexus reads a new user from Auth0",
            );
        }
        check.finish_with(|| NewIdpTenant {
            name: changes.name.expect("checked"),
            azo_tenant_name: changes.azo_tenant_name.expect("checked"),
            fqdn: changes.fqdn.expect("checked"),
            login_domain: changes.login_domain,
            credentials: changes.credentials,
            base_url: changes.base_url,
            jit: changes.jit,
            log_stream_token_hash: changes.log_stream_token_hash,
        })
    }

    pub fn into_changes(self) -> Result<IdpTenantChanges, ValidationErrors> {
        let mut check = Check::new();
        let changes = self.parse(&mut check);
        check.finish_with(|| changes)
    }

    fn parse(self, check: &mut Check) -> IdpTenantChanges {
        let name = check.text("name", self.name, NAME_LEN);
        if name
            .as_deref()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            check.fail(
                "name",
                "must not consist of digits only (digits address a tenant by its numeric id)",
            );
        }
        let azo_tenant_name =
            check.text("azoTenantName", self.azo_tenant_name, AZO_TENANT_NAME_LEN);
        let fqdn = check.parse("fqdn", self.fqdn, DnsName::parse);
        let login_domain = check.parse("loginDomain", self.login_domain, DnsName::parse);
        let client_id = check.text(
            "managementClientId",
            self.management_client_id,
            CLIENT_ID_LEN,
        );
        let client_secret = self
            .management_client_secret
            .and_then(|secret| match secret.check() {
                Ok(()) => Some(secret),
                Err(message) => {
                    check.fail("managementClientSecret", message);
                    None
                }
            });
        let management_audience =
            check.parse("managementAudience", self.management_audience, |a| {
                HttpUrl::parse(a, 250).map(HttpUrl::into_inner)
            });
        let credentials = match (client_id, client_secret) {
            (Some(client_id), Some(client_secret)) => Some(ManagementCredentials {
                client_id,
                client_secret,
                audience: management_audience.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                check.fail(
                    "managementClientSecret",
                    "is required with managementClientId",
                );
                None
            }
            (None, Some(_)) => {
                check.fail(
                    "managementClientId",
                    "is required with managementClientSecret",
                );
                None
            }
        };
        let base_url = check.parse("baseUrl", self.base_url, parse_base_url);
        let jit = self
            .jit_provisioning
            .and_then(|body| parse_jit(check, body));
        let log_stream_token_hash = self.log_stream_token.and_then(|token| match token.check() {
            Ok(()) => Some(token.hash()),
            Err(message) => {
                check.fail("logStreamToken", message);
                None
            }
        });
        IdpTenantChanges {
            name,
            azo_tenant_name,
            fqdn,
            login_domain,
            credentials,
            management_audience,
            base_url,
            jit,
            log_stream_token_hash,
        }
    }
}

fn parse_jit(check: &mut Check, body: JitProvisioningBody) -> Option<Jit> {
    let enabled = check.required("jitProvisioning.enabled", body.enabled);
    let organization = check.text(
        "jitProvisioning.organization",
        body.organization,
        crate::import::ORGANIZATION,
    );
    match (enabled?, organization) {
        (true, Some(organization)) => Some(Jit::On(OrganizationRef::id_or_name(organization))),
        (true, None) => {
            check.fail(
                "jitProvisioning.organization",
                "is required when jitProvisioning is enabled",
            );
            None
        }
        (false, None) => Some(Jit::Off),
        (false, Some(_)) => {
            check.fail(
                "jitProvisioning.organization",
                "is only accepted when jitProvisioning is enabled",
            );
            None
        }
    }
}

/// An absolute URL without a trailing slash; https, or http on loopback.
pub(crate) fn parse_base_url(value: &str) -> Result<String, String> {
    static SHAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(crate::patterns::BASE_URL).expect("valid regex")
    });
    let url = HttpUrl::parse(value, 250)?;
    if !SHAPE.is_match(value) {
        return Err("must use https (plain http only for a loopback host)".to_owned());
    }
    let parsed = url::Url::parse(url.as_str()).map_err(|e| e.to_string())?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() == "http" && !loopback {
        return Err("must use https (plain http only for a loopback host)".to_owned());
    }
    Ok(url.into_inner().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> IdpTenantBody {
        IdpTenantBody {
            name: Some("us-1".into()),
            azo_tenant_name: Some("eci-us-prod".into()),
            fqdn: Some("eci-us-prod.us.auth0.com".into()),
            ..Default::default()
        }
    }

    #[test]
    fn minimal_tenant() {
        let tenant = body().into_new().unwrap();
        assert_eq!(tenant.fqdn.as_str(), "eci-us-prod.us.auth0.com");
        assert!(tenant.credentials.is_none());
    }

    #[test]
    fn credentials_come_in_pairs() {
        let mut b = body();
        b.management_client_id = Some("abc".into());
        let errors = b.into_new().unwrap_err();
        assert_eq!(
            errors.fields()["managementClientSecret"],
            ["is required with managementClientId"]
        );
    }

    #[test]
    fn numeric_names_are_rejected() {
        let mut b = body();
        b.name = Some("42".into());
        assert!(b.into_new().unwrap_err().fields().contains_key("name"));
    }

    #[test]
    fn base_url_is_https_or_loopback_http() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:4010/").unwrap(),
            "http://127.0.0.1:4010"
        );
        assert!(parse_base_url("https://sim.example.com").is_ok());
        assert!(parse_base_url("http://sim.example.com").is_err());
    }

    #[test]
    fn jit_needs_an_organization_when_enabled() {
        let jit = |enabled, organization: Option<&str>| {
            let mut b = body();
            b.jit_provisioning = Some(JitProvisioningBody {
                enabled,
                organization: organization.map(str::to_owned),
            });
            b.into_changes()
        };
        assert_eq!(
            jit(Some(true), Some("acme")).unwrap().jit,
            Some(Jit::On(OrganizationRef::Name("acme".into())))
        );
        assert_eq!(jit(Some(false), None).unwrap().jit, Some(Jit::Off));
        let mut b = body();
        b.jit_provisioning = Some(JitProvisioningBody {
            enabled: Some(true),
            organization: Some("acme".into()),
        });
        let refused = b.into_new().unwrap_err();
        assert!(
            refused.fields().contains_key("jitProvisioning"),
            "needs credentials"
        );
        for (enabled, organization, field) in [
            (Some(true), None, "jitProvisioning.organization"),
            (Some(false), Some("acme"), "jitProvisioning.organization"),
            (None, None, "jitProvisioning.enabled"),
            (Some(true), Some(""), "jitProvisioning.organization"),
        ] {
            let errors = jit(enabled, organization).unwrap_err();
            assert!(errors.fields().contains_key(field), "{errors:?}");
        }
    }

    #[test]
    fn log_stream_tokens_are_long_visible_ascii_and_stored_hashed() {
        let mut b = body();
        b.log_stream_token = Some(LogStreamToken::new("short".into()));
        let errors = b.into_new().unwrap_err();
        assert_eq!(
            errors.fields()["logStreamToken"],
            ["must be at least 16 characters long"]
        );
        let mut b = body();
        b.log_stream_token = Some(LogStreamToken::new("has a space in it!".into()));
        assert!(b
            .into_new()
            .unwrap_err()
            .fields()
            .contains_key("logStreamToken"));
        let mut b = body();
        let token = "0123456789abcdef-token";
        b.log_stream_token = Some(LogStreamToken::new(token.into()));
        let tenant = b.into_new().unwrap();
        let hash = tenant.log_stream_token_hash.unwrap();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, hash_token(token));
        assert!(!format!("{:?}", LogStreamToken::new(token.into())).contains(token));
    }

    #[test]
    fn secret_is_not_printed() {
        let secret = Secret::new("hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
