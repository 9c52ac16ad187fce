//! The audit trail: who changed what, when, through which request, and what
//! the change was. One event per write, recorded in the write's transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::Timestamp;

/// Who makes a change, and through what: stamped on records as `createdBy`
/// / `modifiedBy` (the id) and recorded whole in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// An API key id, a Nexus user id, an Auth0 client id, or the name of a
    /// part of Nexus (`system`, `cli`, `push-worker`).
    pub id: String,
    pub kind: ActorType,
    /// The IdP tenant whose token authenticated the caller.
    pub tenant_id: Option<i32>,
    /// The operation the change is made by (an OpenAPI operation id, or the
    /// name of a background task).
    pub operation: String,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

impl Actor {
    /// Nexus itself, running `operation` outside any request.
    pub fn system(operation: &str) -> Self {
        Actor::internal("system", operation)
    }

    /// A part of Nexus (`cli`, `push-worker`) running `operation`.
    pub fn internal(id: &str, operation: &str) -> Self {
        Actor {
            id: id.to_owned(),
            kind: ActorType::System,
            tenant_id: None,
            operation: operation.to_owned(),
            request_id: None,
            client_address: None,
        }
    }

    /// The Nexus user the actor is, when a user's own access token
    /// authenticated it; an API key or a client acts as no user.
    pub fn user_id(&self) -> Option<&str> {
        (self.kind == ActorType::User).then_some(self.id.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActorType {
    /// An API key (Basic authentication); the actor is the key id.
    ApiKey,
    /// A Nexus user, by an Auth0 access token; the actor is the user id.
    User,
    /// An application, by a client-credentials token; the actor is the
    /// Auth0 client id.
    Client,
    /// Nexus itself: start-up tasks, the command line, the push worker.
    System,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::ApiKey => "apiKey",
            ActorType::User => "user",
            ActorType::Client => "client",
            ActorType::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ActorType::ApiKey,
            ActorType::User,
            ActorType::Client,
            ActorType::System,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The change was made.
    Success,
    /// The caller lacked the permission the operation requires (403).
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Denied]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// The `resourceType` of each audited resource. Resources without an id of
/// their own are named by their parent's and theirs: `parentId/childId`.
pub mod resource_type {
    pub const USER: &str = "user";
    pub const CUSTOM_UPN: &str = "customUpn";
    /// `userId/idpTenantId` (the tenant's numeric id).
    pub const IDENTITY: &str = "identity";
    pub const IDP_TENANT: &str = "idpTenant";
    /// An Auth0 connection of a tenant: `idpTenantId/connectionId`.
    pub const CONNECTION: &str = "connection";
    pub const ORGANIZATION: &str = "organization";
    /// `organizationId/domainId`.
    pub const ORGANIZATION_DOMAIN: &str = "organizationDomain";
    /// `organizationId/userId`.
    pub const MEMBER: &str = "member";
    /// `organizationId/systemName/systemId`.
    pub const ORGANIZATION_ALIAS: &str = "organizationAlias";
    pub const PRODUCT: &str = "product";
    pub const APPLICATION: &str = "application";
    pub const ROLE: &str = "role";
    /// An organization's subscription to a product (its log entries are
    /// part of it).
    pub const SUBSCRIPTION: &str = "subscription";
    /// `roleId/mapId`.
    pub const CONNECTION_MAP: &str = "connectionMap";
    pub const API_KEY: &str = "apiKey";
    pub const STS_CLIENT: &str = "stsClient";
    pub const WEBHOOK: &str = "webhook";
    pub const APPLICATION_DEPLOYMENT: &str = "applicationDeployment";
    /// `appDeploymentId/userId`.
    pub const APPLICATION_DEPLOYMENT_USER: &str = "applicationDeploymentUser";
    /// A module a product sells on top of a subscription:
    /// `productId/moduleString`.
    pub const UPSELL_MODULE: &str = "upsellModule";
    pub const UPSELL_REQUEST: &str = "upsellRequest";
    /// A sign-in to the administration console.
    pub const CONSOLE_SESSION: &str = "consoleSession";
    /// The push of an Auth0 user: `idpTenantId/azoUserId`.
    pub const PUSH: &str = "push";
    /// A request refused for want of a permission; its id is the path.
    pub const REQUEST: &str = "request";
}

/// A field's value before and after a change; `null` where it did not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// Any JSON value: the field's value as the resource shows it.
    pub before: Value,
    /// Any JSON value.
    pub after: Value,
}

impl Change {
    /// A secret that changed: neither value is recorded.
    pub fn redacted() -> Change {
        Change {
            before: Value::String(REDACTED.to_owned()),
            after: Value::String(REDACTED.to_owned()),
        }
    }
}

/// What changed, by field; nested fields as dotted paths (`profile.givenName`).
pub type Changes = BTreeMap<String, Change>;

/// Bookkeeping fields: they change with every write and say nothing the
/// event does not say itself.
const STAMPS: &[&str] = &["created", "createdBy", "modified", "modifiedBy"];

/// Fields whose values are never recorded, only that they changed.
const SECRETS: &[&str] = &[
    "secret",
    "password",
    "credential",
    "clientSecret",
    "managementClientSecret",
    "logStreamToken",
];

/// What stands in for a secret's value.
pub const REDACTED: &str = "[redacted]";

/// The changed fields between two JSON representations of a resource
/// (`None` before a create, after a delete).
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Changes {
    let mut changes = Changes::new();
    let empty = Map::new();
    let object = |value: Option<&Value>| match value {
        Some(Value::Object(map)) => map.clone(),
        _ => empty.clone(),
    };
    diff("", &object(before), &object(after), &mut changes);
    changes
}

/// The changes of a value that is not a whole resource (the roles of a
/// user, say): one field, before and after.
pub fn change_of(field: &str, before: Value, after: Value) -> Changes {
    let mut changes = Changes::new();
    if before != after {
        changes.insert(field.to_owned(), Change { before, after });
    }
    changes
}

fn diff(prefix: &str, before: &Map<String, Value>, after: &Map<String, Value>, out: &mut Changes) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        if prefix.is_empty() && STAMPS.contains(&key.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let old = before.get(key).unwrap_or(&Value::Null);
        let new = after.get(key).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        if SECRETS.contains(&key.as_str()) {
            let hidden = |value: &Value| {
                if value.is_null() {
                    Value::Null
                } else {
                    Value::from(REDACTED)
                }
            };
            out.insert(
                path,
                Change {
                    before: hidden(old),
                    after: hidden(new),
                },
            );
            continue;
        }
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => diff(&path, old, new, out),
            _ => {
                out.insert(
                    path,
                    Change {
                        before: old.clone(),
                        after: new.clone(),
                    },
                );
            }
        }
    }
}

/// What a write records, besides its actor.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub resource_type: &'static str,
    pub resource_id: String,
    pub changes: Changes,
    pub outcome: Outcome,
}

impl NewAuditEvent {
    pub fn success(resource_type: &'static str, resource_id: impl Into<String>) -> Self {
        NewAuditEvent {
            resource_type,
            resource_id: resource_id.into(),
            changes: Changes::new(),
            outcome: Outcome::Success,
        }
    }

    pub fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }
}

/// An event of the audit trail, as `GET /v1/audit-events` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Increases with every event.
    pub id: i64,
    pub time: Timestamp,
    pub actor: String,
    pub actor_type: ActorType,
    /// The IdP tenant whose access token the actor used.
    pub actor_tenant_id: Option<i32>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub operation: String,
    pub resource_type: String,
    pub resource_id: String,
    pub changes: Changes,
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_user_actor_is_a_user() {
        let mut actor = Actor::system("test");
        actor.id = "u1".to_owned();
        for kind in [ActorType::ApiKey, ActorType::Client, ActorType::System] {
            actor.kind = kind;
            assert_eq!(actor.user_id(), None, "{kind:?}");
        }
        actor.kind = ActorType::User;
        assert_eq!(actor.user_id(), Some("u1"));
    }

    #[test]
    fn an_update_records_only_the_fields_that_changed() {
        let before = json!({"id": "u1", "name": "a", "profile": {"givenName": "A", "city": "X"},
            "modified": "t1", "modifiedBy": "k1"});
        let after = json!({"id": "u1", "name": "b", "profile": {"givenName": "A", "city": "Y"},
            "modified": "t2", "modifiedBy": "k2"});
        let changes = changes(Some(&before), Some(&after));
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!({"name": {"before": "a", "after": "b"},
                   "profile.city": {"before": "X", "after": "Y"}})
        );
    }

    #[test]
    fn a_create_and_a_delete_record_every_field_from_or_to_null() {
        let value = json!({"id": "r1", "tags": ["a"], "created": "t"});
        let created = changes(None, Some(&value));
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({"id": {"before": null, "after": "r1"}, "tags": {"before": null, "after": ["a"]}})
        );
        let deleted = changes(Some(&value), None);
        assert_eq!(deleted["id"].before, json!("r1"));
        assert_eq!(deleted["id"].after, Value::Null);
    }

    #[test]
    fn secrets_are_recorded_only_as_changed() {
        let before = json!({"clientSecret": "old-secret"});
        let after = json!({"clientSecret": "new-secret"});
        let changes = changes(Some(&before), Some(&after));
        let text = serde_json::to_string(&changes).unwrap();
        assert!(!text.contains("old-secret") && !text.contains("new-secret"));
        assert_eq!(changes["clientSecret"].after, json!(REDACTED));
        // Unchanged secrets are not mentioned at all.
        let same = super::changes(Some(&after), Some(&after));
        assert!(same.is_empty());
    }

    #[test]
    fn enum_texts_round_trip() {
        for kind in [
            ActorType::ApiKey,
            ActorType::User,
            ActorType::Client,
            ActorType::System,
        ] {
            assert_eq!(ActorType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                json!(kind.as_str()),
                "the wire text is the stored text"
            );
        }
        for outcome in [Outcome::Success, Outcome::Denied] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                json!(outcome.as_str())
            );
        }
    }
}
