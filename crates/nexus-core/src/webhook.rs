//! Webhook subscriptions: which change events other systems receive, where,
//! and signed with which secret (the Standard Webhooks form).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

/// The one table of change events: the operation (an OpenAPI operation id)
/// whose audit event becomes a webhook event, and the event's type.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("CreateUser", "user.created"),
    ("PatchUser", "user.updated"),
    // Only logins that change groups or attributes are audited.
    ("SyncUserIdentity", "user.updated"),
    ("DeleteUser", "user.deleted"),
    ("AddUserRoles", "user.roles.changed"),
    ("RemoveUserRole", "user.roles.changed"),
    ("LinkUserToTenant", "identity.linked"),
    ("UnlinkUserFromTenant", "identity.unlinked"),
    ("CreateCustomUpn", "customUpn.created"),
    ("PatchCustomUpn", "customUpn.updated"),
    ("DeleteCustomUpn", "customUpn.deleted"),
    ("AddMember", "membership.added"),
    ("RemoveMember", "membership.removed"),
    ("RemoveMemberRoles", "membership.roles.changed"),
    ("CreateOrganization", "organization.created"),
    ("UpdateOrganization", "organization.updated"),
    ("UpdateOrganizationMfa", "organization.updated"),
    ("DeleteOrganization", "organization.deleted"),
    ("VerifyOrganizationDomain", "organization.domain.verified"),
    ("CreateRole", "role.created"),
    ("UpdateRole", "role.updated"),
    ("DeleteRole", "role.deleted"),
];

/// The event type of a change made by `operation`, if it has one.
pub fn event_type(operation: &str) -> Option<&'static str> {
    EVENT_TYPES
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, event_type)| *event_type)
}

/// Every event type, each once, in the table's order.
pub fn known_event_types() -> Vec<&'static str> {
    let mut types: Vec<&'static str> = Vec::new();
    for (_, event_type) in EVENT_TYPES {
        if !types.contains(event_type) {
            types.push(event_type);
        }
    }
    types
}

/// The selector of every event type: held only by built-in sinks, which
/// take every change (a subscription made through the API names its types).
pub const EVERY_EVENT_TYPE: &str = "*";

/// The subscription entries that select `event_type`: the type itself, each
/// wildcard over its prefixes (`user.*`, `user.roles.*` for
/// `user.roles.changed`) and `EVERY_EVENT_TYPE`.
pub fn selectors_of(event_type: &str) -> Vec<String> {
    let mut selectors = vec![event_type.to_owned(), EVERY_EVENT_TYPE.to_owned()];
    for (at, _) in event_type.match_indices('.') {
        selectors.push(format!("{}.*", &event_type[..at]));
    }
    selectors
}

/// One entry of a subscription's `eventTypes`: a known type, or `prefix.*`
/// covering at least one known type.
fn parse_selector(text: &str) -> Result<String, String> {
    let known = known_event_types();
    let matches = match text.strip_suffix(".*") {
        Some(prefix) if !prefix.is_empty() && !prefix.contains('*') => known
            .iter()
            .any(|t| t.starts_with(prefix) && t[prefix.len()..].starts_with('.')),
        Some(_) => false,
        None => known.contains(&text),
    };
    if matches {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not a known event type or a wildcard over some (`prefix.*`); known: {}",
            known.join(", ")
        ))
    }
}

const URL_LEN: Len = Len::between(1, 2048);
const DESCRIPTION: Len = Len::at_most(250);
/// Event type entries one subscription may name.
pub const MAX_EVENT_TYPES: usize = 50;
const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a secret's key: at least 128 bits, at most what HMAC-SHA256
/// takes without hashing the key first.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=64;
/// Bytes of a secret Nexus generates (as Standard Webhooks suggests).
pub const GENERATED_SECRET_BYTES: usize = 32;

/// Where deliveries go: an absolute `https` URL (`http` too when the
/// operator allows private addresses, for local receivers), with a host, no
/// credentials and no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(text: &str, allow_http: bool) -> Result<WebhookUrl, String> {
        let url = url::Url::parse(text).map_err(|e| format!("is not an absolute URL ({e})"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(
                    "must use https (http is accepted only where private addresses are allowed)"
                        .to_owned(),
                )
            }
            other => return Err(format!("must use https, not '{other}'")),
        }
        if url.host().is_none() {
            return Err("must name a host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials; the signature authenticates Nexus".to_owned());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".to_owned());
        }
        Ok(WebhookUrl(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A signing secret in the Standard Webhooks form `whsec_<base64 key>`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let usage = format!(
            "must be `{SECRET_PREFIX}` followed by {} to {} bytes in base64",
            SECRET_BYTES.start(),
            SECRET_BYTES.end()
        );
        let key = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .ok_or_else(|| usage.clone())?;
        if !SECRET_BYTES.contains(&key.len()) {
            return Err(usage);
        }
        Ok(WebhookSecret(text.to_owned()))
    }

    /// The secret of these random bytes.
    pub fn from_key(key: &[u8]) -> WebhookSecret {
        WebhookSecret(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A subscription, as the API shows it (the secret never).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    #[schema(example = "https://hooks.example.com/nexus")]
    pub url: String,
    pub description: Option<String>,
    /// The event types delivered: exact types or `prefix.*` wildcards.
    #[schema(example = json!(["user.created", "customUpn.*"]))]
    pub event_types: Vec<String>,
    pub created: Timestamp,
    pub created_by: String,
}

/// The answer of `POST /v1/webhooks`: the subscription and, this once, its
/// signing secret.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_<base64>`: verifies the `webhook-signature` of deliveries.
    /// Shown only now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// Body of `POST /v1/webhooks`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookBody {
    /// Where deliveries are POSTed: `https` (`http` only where the operator
    /// allows private addresses). Its host must resolve to public addresses
    /// unless the operator allows private ones.
    #[schema(required = true, value_type = String, format = "uri", min_length = 1, max_length = 2048,
        example = "https://hooks.example.com/nexus")]
    pub url: Option<String>,
    #[schema(max_length = 250)]
    pub description: Option<String>,
    /// Event types (`user.created`, …) or wildcards over them (`customUpn.*`).
    #[schema(required = true, value_type = Vec<String>, min_items = 1, max_items = 50,
        example = json!(["user.created", "user.updated", "customUpn.*"]))]
    pub event_types: Option<Vec<String>>,
    /// A secret of your own, `whsec_` and 16 to 64 bytes in base64; Nexus
    /// generates one when absent.
    #[schema(value_type = String, pattern = "^whsec_[A-Za-z0-9+/]+={0,2}$",
        example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    /// Absent: Nexus generates one.
    pub secret: Option<WebhookSecret>,
}

impl WebhookBody {
    /// Checks every field; `allow_http` as `WebhookUrl::parse` takes it.
    pub fn into_new(self, allow_http: bool) -> Result<NewWebhook, ValidationErrors> {
        let mut check = Check::new();
        let url = check.required_text("url", self.url, URL_LEN);
        let url = check.parse("url", url, |text| WebhookUrl::parse(text, allow_http));
        let description = check.text("description", self.description, DESCRIPTION);
        let event_types = check.required("eventTypes", self.event_types);
        let mut selectors = Vec::new();
        match event_types {
            Some(types) if types.is_empty() => {
                check.fail("eventTypes", "must name at least one event type")
            }
            Some(types) if types.len() > MAX_EVENT_TYPES => check.fail(
                "eventTypes",
                format!("must name at most {MAX_EVENT_TYPES} event types"),
            ),
            Some(types) => {
                for text in types {
                    match parse_selector(&text) {
                        Ok(selector) if !selectors.contains(&selector) => selectors.push(selector),
                        Ok(_) => check.fail("eventTypes", format!("'{text}' appears twice")),
                        Err(message) => check.fail("eventTypes", message),
                    }
                }
            }
            None => {}
        }
        let secret = check.parse("secret", self.secret, WebhookSecret::parse);
        check.finish_with(|| NewWebhook {
            url: url.expect("checked"),
            description,
            event_types: selectors,
            secret,
        })
    }
}

/// How a subscription's deliveries are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// Signed POSTs to its URL (Standard Webhooks): what the API manages.
    Http,
    /// Published to NATS JetStream, on the subject its URL holds the prefix
    /// of: a built-in sink, registered from the server's configuration.
    Nats,
}

impl WebhookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Http => "http",
            WebhookKind::Nats => "nats",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [WebhookKind::Http, WebhookKind::Nats]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Every attempt of the retry period failed; only a redelivery sends it again.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: i64,
    /// The audit event delivered (`data.id` of the payload).
    pub event_id: i64,
    /// The `webhook-id` header: the same on every attempt, for de-duplication.
    #[schema(example = "msg_42")]
    pub message_id: String,
    #[schema(example = "user.updated")]
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last answer.
    pub last_response_status: Option<i32>,
    /// Why the last attempt failed, shortly.
    pub last_error: Option<String>,
    pub last_attempt_at: Option<Timestamp>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<Timestamp>,
    pub created: Timestamp,
}

/// The `webhook-id` of an event's deliveries: derived from the event id, so
/// that retries and redeliveries carry the same one.
pub fn message_id(event_id: i64) -> String {
    format!("msg_{event_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_is_found_by_its_operation_and_selectors() {
        assert_eq!(event_type("PatchUser"), Some("user.updated"));
        assert_eq!(event_type("CreateApiKey"), None);
        assert_eq!(
            selectors_of("user.roles.changed"),
            ["user.roles.changed", "*", "user.*", "user.roles.*"]
        );
        assert_eq!(known_event_types().len(), 19);
    }

    #[test]
    fn selectors_are_known_types_or_wildcards_over_some() {
        assert!(parse_selector("user.created").is_ok());
        assert!(parse_selector("customUpn.*").is_ok());
        assert!(parse_selector("user.roles.*").is_ok());
        assert!(parse_selector("user.*").is_ok());
        for bad in [
            "user.creat",
            "us.*",
            "*",
            ".*",
            "user.*.*",
            "subscription.*",
            "",
        ] {
            assert!(parse_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_https_absolute_and_clean() {
        assert!(WebhookUrl::parse("https://hooks.example.com/x?a=1", false).is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/x", false).is_err());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/x", true).is_ok());
        for bad in [
            "ftp://example.com/",
            "https://u:p@example.com/",
            "https://example.com/#f",
            "/relative",
            "https://",
        ] {
            assert!(WebhookUrl::parse(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_whsec_and_enough_bytes() {
        let good = WebhookSecret::from_key(&[7u8; 32]);
        assert!(WebhookSecret::parse(good.expose()).is_ok());
        assert!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 8]))).is_err());
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(WebhookSecret::parse(&STANDARD.encode([1u8; 32])).is_err());
        assert!(!format!("{good:?}").contains("whsec"));
    }
}
