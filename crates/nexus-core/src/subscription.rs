//! An organization's subscriptions to products, and the log of what
//! happened to each: every create and every change writes one entry whose
//! message says what changed (`log_message`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::validation::{json_object, Check, Len};
use crate::{Timestamp, ValidationErrors};

crate::values::wire_enum!(
    /// Where a subscription stands. Only an `Active` one entitles anyone.
    SubscriptionStatus {
        Pending,
        Active,
        Suspended,
        Cancelled,
        Expired
    }
);

crate::values::wire_enum!(
    /// How much a log entry matters. Nexus writes `Information` entries.
    SubscriptionLogSeverity {
        Information,
        Warning,
        Error
    }
);

impl SubscriptionStatus {
    /// Whether the subscription has ended for good: an organization whose
    /// subscriptions have all ended may be deleted.
    pub fn has_ended(&self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Cancelled | SubscriptionStatus::Expired
        )
    }
}

/// A subscription of an organization to a product.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: i32,
    /// Its log entries, newest first, with `$expand=logs`; else empty
    /// (`GET /v1/subscriptions/{subscriptionId}/logs` pages through them).
    pub logs: Vec<SubscriptionLog>,
    #[serde(rename = "type")]
    pub subscription_type: Option<String>,
    pub status: SubscriptionStatus,
    pub created: Timestamp,
    /// Deprecated: use `description` and `customMetadata`.
    #[schema(deprecated)]
    pub details: Option<String>,
    /// When the subscription ends; never when null.
    pub expires: Option<Timestamp>,
    /// The product; not filled in yet: always null (read it at
    /// `/v1/products/{productId}`).
    #[schema(value_type = Option<Object>)]
    pub product: Option<Value>,
    pub modified: Timestamp,
    pub created_by: String,
    pub is_enabled: bool,
    pub product_id: i32,
    pub modified_by: String,
    pub status_text: Option<String>,
    pub description: Option<String>,
    pub sf_license_id: Option<String>,
    /// The organization; not filled in yet: always null (read it at
    /// `/v1/organizations/{organizationId}`).
    #[schema(no_recursion)]
    pub organization: Option<Box<crate::organization::Organization>>,
    pub sf_contract_id: Option<String>,
    /// Any JSON object the subscriber's systems keep with it.
    #[schema(value_type = Object)]
    pub custom_metadata: Map<String, Value>,
    pub organization_id: i32,
    /// Kept by Nexus itself; nothing writes it yet, so it is always `{}`.
    #[schema(value_type = Object)]
    pub readonly_metadata: Map<String, Value>,
    pub sf_subscription_id: Option<String>,
    /// The applications deployed under the subscription (on GET and in
    /// lists; empty inside a user and an organization).
    pub application_deployments: Vec<crate::application_deployment::ApplicationDeployment>,
}

/// An entry of a subscription's log.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionLog {
    pub id: i32,
    pub severity: SubscriptionLogSeverity,
    /// What happened, e.g. `status: Active → Suspended; expires: (none) →
    /// 2027-01-01T00:00:00.000000Z`.
    pub log_message: String,
    pub subscription_id: i32,
    /// The subscription, when one entry is read on its own
    /// (GetSubscriptionLog); absent in lists and inside a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub subscription: Option<Box<Subscription>>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// The fields of a Subscription, for `$select`.
pub const SUBSCRIPTION_FIELDS: &[&str] = &[
    "id",
    "logs",
    "type",
    "status",
    "created",
    "details",
    "expires",
    "product",
    "modified",
    "createdBy",
    "isEnabled",
    "productId",
    "modifiedBy",
    "statusText",
    "description",
    "sfLicenseId",
    "organization",
    "sfContractId",
    "customMetadata",
    "organizationId",
    "readonlyMetadata",
    "sfSubscriptionId",
    "applicationDeployments",
];

/// Salesforce ids (`sfLicenseId`, `sfContractId`, `sfSubscriptionId`).
pub const SF_ID: Len = Len::between(1, 255);
/// `type` and `statusText`.
pub const SHORT_TEXT: Len = Len::at_most(250);
/// `description` and `details`.
pub const LONG_TEXT: Len = Len::at_most(4000);
/// The largest `customMetadata`, as compact JSON.
pub const MAX_METADATA_BYTES: usize = crate::validation::JSON_OBJECT_MAX_BYTES;

/// Body of `POST /v1/subscriptions` (CreateSubscription).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubscriptionBody {
    /// The subscribing organization.
    #[schema(required = true, value_type = i32)]
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    pub organization_id: Option<i32>,
    /// The product subscribed to.
    #[schema(required = true, value_type = i32)]
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    pub product_id: Option<i32>,
    /// `Active` when absent.
    #[schema(value_type = Option<SubscriptionStatus>)]
    pub status: Option<String>,
    #[schema(max_length = 250)]
    pub status_text: Option<String>,
    #[serde(rename = "type")]
    #[schema(max_length = 250, example = "Annual")]
    pub subscription_type: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Deprecated: use `description` and `customMetadata`.
    #[schema(max_length = 4000, deprecated)]
    pub details: Option<String>,
    /// When the subscription ends (to the microsecond at most); never when
    /// absent.
    #[schema(format = DateTime)]
    pub expires: Option<String>,
    /// `true` when absent.
    pub is_enabled: Option<bool>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_license_id: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_contract_id: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_subscription_id: Option<String>,
    /// A JSON object, at most 16 KiB as compact JSON (a larger one is
    /// refused with 422); `{}` when absent.
    #[schema(value_type = Option<Object>)]
    pub custom_metadata: Option<Map<String, Value>>,
}

/// Body of `PATCH /v1/subscriptions/{subscriptionId}` (PatchSubscription):
/// an absent field is left as it is; `null` clears a field, except
/// `status` and `customMetadata`, which cannot be null, and `isEnabled`,
/// which `null` leaves as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchSubscriptionBody {
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = SubscriptionStatus)]
    pub status: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 250)]
    pub status_text: Option<Option<String>>,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "crate::validation::present"
    )]
    #[schema(value_type = Option<String>, max_length = 250)]
    pub subscription_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// Deprecated: use `description` and `customMetadata`.
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 4000, deprecated)]
    pub details: Option<Option<String>>,
    /// When the subscription ends (to the microsecond at most); `null`:
    /// never.
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires: Option<Option<String>>,
    pub is_enabled: Option<bool>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub sf_license_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub sf_contract_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub sf_subscription_id: Option<Option<String>>,
    /// Replaces the whole object: a JSON object, at most 16 KiB as compact
    /// JSON (a larger one is refused with 422).
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Object)]
    pub custom_metadata: Option<Option<Map<String, Value>>>,
}

/// A checked subscription to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    pub organization_id: i32,
    pub product_id: i32,
    pub status: SubscriptionStatus,
    pub status_text: Option<String>,
    pub subscription_type: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    pub expires: Option<Timestamp>,
    pub is_enabled: bool,
    pub sf_license_id: Option<String>,
    pub sf_contract_id: Option<String>,
    pub sf_subscription_id: Option<String>,
    pub custom_metadata: Map<String, Value>,
}

/// Checked changes: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionChanges {
    pub status: Option<SubscriptionStatus>,
    pub status_text: Option<Option<String>>,
    pub subscription_type: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub details: Option<Option<String>>,
    pub expires: Option<Option<Timestamp>>,
    pub is_enabled: Option<bool>,
    pub sf_license_id: Option<Option<String>>,
    pub sf_contract_id: Option<Option<String>>,
    pub sf_subscription_id: Option<Option<String>>,
    pub custom_metadata: Option<Map<String, Value>>,
}

fn parse_expires(check: &mut Check, value: Option<String>) -> Option<Timestamp> {
    check.parse("expires", value, Timestamp::parse_micros)
}

fn parse_status(check: &mut Check, value: Option<String>) -> Option<SubscriptionStatus> {
    check.parse("status", value, SubscriptionStatus::parse)
}

/// A nullable text field of a PATCH: `Some(None)` clears it.
fn clearable(
    check: &mut Check,
    field: &str,
    value: Option<Option<String>>,
    len: Len,
) -> Option<Option<String>> {
    value.map(|set| set.and_then(|text| check.text(field, Some(text), len)))
}

impl CreateSubscriptionBody {
    pub fn into_new(self) -> Result<NewSubscription, ValidationErrors> {
        let mut check = Check::new();
        let organization_id = check.required("organizationId", self.organization_id);
        let product_id = check.required("productId", self.product_id);
        let status = parse_status(&mut check, self.status);
        let new = NewSubscription {
            organization_id: organization_id.unwrap_or_default(),
            product_id: product_id.unwrap_or_default(),
            status: status.unwrap_or(SubscriptionStatus::Active),
            status_text: check.text("statusText", self.status_text, SHORT_TEXT),
            subscription_type: check.text("type", self.subscription_type, SHORT_TEXT),
            description: check.text("description", self.description, LONG_TEXT),
            details: check.text("details", self.details, LONG_TEXT),
            expires: parse_expires(&mut check, self.expires),
            is_enabled: self.is_enabled.unwrap_or(true),
            sf_license_id: check.text("sfLicenseId", self.sf_license_id, SF_ID),
            sf_contract_id: check.text("sfContractId", self.sf_contract_id, SF_ID),
            sf_subscription_id: check.text("sfSubscriptionId", self.sf_subscription_id, SF_ID),
            custom_metadata: json_object(&mut check, "customMetadata", self.custom_metadata),
        };
        check.finish_with(|| new)
    }
}

impl PatchSubscriptionBody {
    pub fn into_changes(self) -> Result<SubscriptionChanges, ValidationErrors> {
        let mut check = Check::new();
        let status = match self.status {
            Some(None) => {
                check.fail("status", "must not be null: give a status, or leave it out");
                None
            }
            Some(status) => parse_status(&mut check, status),
            None => None,
        };
        let custom_metadata = match self.custom_metadata {
            Some(None) => {
                check.fail(
                    "customMetadata",
                    "must not be null: give {} to empty it, or leave it out",
                );
                None
            }
            Some(Some(metadata)) => Some(json_object(&mut check, "customMetadata", Some(metadata))),
            None => None,
        };
        let expires = self.expires.map(|set| parse_expires(&mut check, set));
        let changes = SubscriptionChanges {
            status,
            status_text: clearable(&mut check, "statusText", self.status_text, SHORT_TEXT),
            subscription_type: clearable(&mut check, "type", self.subscription_type, SHORT_TEXT),
            description: clearable(&mut check, "description", self.description, LONG_TEXT),
            details: clearable(&mut check, "details", self.details, LONG_TEXT),
            expires,
            is_enabled: self.is_enabled,
            sf_license_id: clearable(&mut check, "sfLicenseId", self.sf_license_id, SF_ID),
            sf_contract_id: clearable(&mut check, "sfContractId", self.sf_contract_id, SF_ID),
            sf_subscription_id: clearable(
                &mut check,
                "sfSubscriptionId",
                self.sf_subscription_id,
                SF_ID,
            ),
            custom_metadata,
        };
        check.finish_with(|| changes)
    }
}

impl SubscriptionChanges {
    /// `current` with these changes made (its stamps left as they are).
    pub fn apply(&self, current: &Subscription) -> Subscription {
        fn pick<T: Clone>(change: &Option<T>, current: &T) -> T {
            change.clone().unwrap_or_else(|| current.clone())
        }
        Subscription {
            status: self.status.unwrap_or(current.status),
            status_text: pick(&self.status_text, &current.status_text),
            subscription_type: pick(&self.subscription_type, &current.subscription_type),
            description: pick(&self.description, &current.description),
            details: pick(&self.details, &current.details),
            expires: pick(&self.expires, &current.expires),
            is_enabled: self.is_enabled.unwrap_or(current.is_enabled),
            sf_license_id: pick(&self.sf_license_id, &current.sf_license_id),
            sf_contract_id: pick(&self.sf_contract_id, &current.sf_contract_id),
            sf_subscription_id: pick(&self.sf_subscription_id, &current.sf_subscription_id),
            custom_metadata: pick(&self.custom_metadata, &current.custom_metadata),
            ..current.clone()
        }
    }
}

/// Whether the subscription entitles anyone at `now`: enabled, `Active`,
/// and not past its `expires`.
pub fn is_in_force(subscription: &Subscription, now: Timestamp) -> bool {
    crate::entitlement::Terms::of_subscription(
        subscription.status,
        subscription.is_enabled,
        subscription.expires,
    )
    .hold_at(now)
}

/// Texts longer than this are cut in a log message: the entry says that a
/// long text changed, not all of it.
const LOGGED_TEXT_CHARS: usize = 100;

/// A subscription's fields as a log message shows them, in a fixed order;
/// `None` for a field without a value.
fn logged_fields(subscription: &Subscription) -> [(&'static str, Option<String>); 10] {
    let text = |value: &Option<String>| {
        value.as_deref().map(|text| {
            let cut: String = text.chars().take(LOGGED_TEXT_CHARS).collect();
            let cut = if cut.len() < text.len() {
                format!("{cut}…")
            } else {
                cut
            };
            Value::String(cut).to_string()
        })
    };
    [
        ("status", Some(subscription.status.as_str().to_owned())),
        ("statusText", text(&subscription.status_text)),
        ("type", text(&subscription.subscription_type)),
        ("description", text(&subscription.description)),
        ("details", text(&subscription.details)),
        ("expires", subscription.expires.map(|t| t.to_text())),
        ("isEnabled", Some(subscription.is_enabled.to_string())),
        ("sfLicenseId", text(&subscription.sf_license_id)),
        ("sfContractId", text(&subscription.sf_contract_id)),
        ("sfSubscriptionId", text(&subscription.sf_subscription_id)),
    ]
}

/// The top-level keys whose values differ between two metadata objects,
/// sorted.
fn changed_keys(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = before
        .iter()
        .filter(|(key, value)| after.get(*key) != Some(*value))
        .map(|(key, _)| key.clone())
        .chain(
            after
                .keys()
                .filter(|key| !before.contains_key(*key))
                .cloned(),
        )
        .collect();
    keys.sort();
    keys
}

/// The log message of a subscription's creation (`before` is `None`) or
/// of a change from `before` to `after`: each field that changed as
/// `field: old → new` (`(none)` for no value), joined by `; `, in a fixed
/// order; texts are JSON-quoted and cut after 100 characters; of
/// `customMetadata`, only which keys changed. `None` when nothing changed:
/// such a change is not logged.
pub fn log_message(before: Option<&Subscription>, after: &Subscription) -> Option<String> {
    let Some(before) = before else {
        let mut parts = vec![
            format!("productId: {}", after.product_id),
            format!("organizationId: {}", after.organization_id),
        ];
        parts.extend(
            logged_fields(after)
                .into_iter()
                .filter_map(|(field, value)| Some(format!("{field}: {}", value?))),
        );
        if !after.custom_metadata.is_empty() {
            let mut keys: Vec<&str> = after.custom_metadata.keys().map(String::as_str).collect();
            keys.sort_unstable();
            parts.push(format!("customMetadata: keys {}", keys.join(", ")));
        }
        return Some(format!("created: {}", parts.join("; ")));
    };
    let none = || "(none)".to_owned();
    let mut parts: Vec<String> = logged_fields(before)
        .into_iter()
        .zip(logged_fields(after))
        .filter(|((_, old), (_, new))| old != new)
        .map(|((field, old), (_, new))| {
            format!(
                "{field}: {} → {}",
                old.unwrap_or_else(none),
                new.unwrap_or_else(none)
            )
        })
        .collect();
    let keys = changed_keys(&before.custom_metadata, &after.custom_metadata);
    if !keys.is_empty() {
        parts.push(format!("customMetadata: changed keys {}", keys.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subscription() -> Subscription {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        Subscription {
            id: 1,
            logs: vec![],
            subscription_type: None,
            status: SubscriptionStatus::Active,
            created: now,
            details: None,
            expires: None,
            product: None,
            modified: now,
            created_by: "a".into(),
            is_enabled: true,
            product_id: 7,
            modified_by: "a".into(),
            status_text: None,
            description: None,
            sf_license_id: None,
            organization: None,
            sf_contract_id: None,
            custom_metadata: Map::new(),
            organization_id: 3,
            readonly_metadata: Map::new(),
            sf_subscription_id: None,
            application_deployments: vec![],
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn patch(body: Value) -> Result<SubscriptionChanges, ValidationErrors> {
        serde_json::from_value::<PatchSubscriptionBody>(body)
            .unwrap()
            .into_changes()
    }

    fn create(body: Value) -> Result<NewSubscription, ValidationErrors> {
        serde_json::from_value::<CreateSubscriptionBody>(body)
            .unwrap()
            .into_new()
    }

    fn fields(errors: ValidationErrors) -> Vec<String> {
        errors.fields().keys().cloned().collect()
    }

    #[test]
    fn the_selectable_fields_are_the_fields_answered() {
        let value = serde_json::to_value(subscription()).unwrap();
        let mut answered: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        answered.sort();
        let mut fields = SUBSCRIPTION_FIELDS.to_vec();
        fields.sort();
        assert_eq!(answered, fields);
    }

    #[test]
    fn create_defaults_and_required_fields() {
        let new = create(json!({"organizationId": 3, "productId": 7})).unwrap();
        assert_eq!(new.status, SubscriptionStatus::Active);
        assert!(new.is_enabled);
        assert!(new.custom_metadata.is_empty());
        assert_eq!(
            fields(create(json!({})).unwrap_err()),
            ["organizationId", "productId"]
        );
        let bad = create(json!({
            "organizationId": 3, "productId": 7, "status": "Gone", "expires": "tomorrow",
            "sfLicenseId": "", "type": "t".repeat(251), "description": "d".repeat(4001),
        }))
        .unwrap_err();
        assert_eq!(
            fields(bad),
            ["description", "expires", "sfLicenseId", "status", "type"]
        );
    }

    #[test]
    fn length_edges() {
        let ok = create(json!({
            "organizationId": 3, "productId": 7, "sfLicenseId": "l".repeat(255),
            "sfContractId": "c", "statusText": "s".repeat(250), "details": "d".repeat(4000),
        }));
        assert!(ok.is_ok());
        for (field, value) in [
            ("sfLicenseId", "l".repeat(256)),
            ("sfContractId", "c".repeat(256)),
            ("sfSubscriptionId", "s".repeat(256)),
            ("statusText", "s".repeat(251)),
            ("details", "d".repeat(4001)),
        ] {
            let errors = patch(json!({ field: value })).unwrap_err();
            assert_eq!(fields(errors), [field]);
        }
    }

    #[test]
    fn status_parses_in_any_case_and_not_null_in_a_patch() {
        let changes = patch(json!({"status": "suspended"})).unwrap();
        assert_eq!(changes.status, Some(SubscriptionStatus::Suspended));
        assert_eq!(
            fields(patch(json!({"status": null})).unwrap_err()),
            ["status"]
        );
        assert_eq!(
            fields(patch(json!({"customMetadata": null})).unwrap_err()),
            ["customMetadata"]
        );
        assert_eq!(
            fields(patch(json!({"status": "Paused"})).unwrap_err()),
            ["status"]
        );
    }

    #[test]
    fn null_clears_and_absent_leaves() {
        let mut current = subscription();
        current.status_text = Some("why".into());
        current.expires = Some(at("2027-01-01T00:00:00Z"));
        let changes = patch(json!({"statusText": null, "isEnabled": null})).unwrap();
        let after = changes.apply(&current);
        assert_eq!(after.status_text, None);
        assert_eq!(after.expires, current.expires);
        assert!(after.is_enabled);
        let after = patch(json!({"expires": null})).unwrap().apply(&current);
        assert_eq!(after.expires, None);
    }

    #[test]
    fn metadata_size_edge() {
        // {"k":"…"} is 8 bytes besides the value.
        let metadata = |length: usize| json!({"customMetadata": {"k": "x".repeat(length)}});
        let new = |length: usize| {
            let mut body = metadata(length);
            body["organizationId"] = json!(1);
            body["productId"] = json!(2);
            create(body)
        };
        assert!(new(MAX_METADATA_BYTES - 8).is_ok());
        let refused = new(MAX_METADATA_BYTES - 7).unwrap_err();
        // The document cannot state a size in bytes: a 422, not a 400.
        assert!(refused.only_unstated());
        assert_eq!(fields(refused), ["customMetadata"]);
        assert!(patch(metadata(MAX_METADATA_BYTES - 8)).is_ok());
        assert!(patch(metadata(MAX_METADATA_BYTES - 7))
            .unwrap_err()
            .only_unstated());
    }

    #[test]
    fn a_change_is_logged_field_by_field_in_order() {
        let before = subscription();
        let mut after = before.clone();
        after.expires = Some(at("2027-01-01T00:00:00Z"));
        after.status = SubscriptionStatus::Suspended;
        after.status_text = Some("unpaid \"invoice\"".into());
        assert_eq!(
            log_message(Some(&before), &after).unwrap(),
            "status: Active → Suspended; statusText: (none) → \"unpaid \\\"invoice\\\"\"; \
             expires: (none) → 2027-01-01T00:00:00.000000Z"
        );
        let back = log_message(Some(&after), &before).unwrap();
        assert!(
            back.starts_with("status: Suspended → Active; statusText: \"unpaid"),
            "{back}"
        );
        assert!(
            back.ends_with("expires: 2027-01-01T00:00:00.000000Z → (none)"),
            "{back}"
        );
    }

    #[test]
    fn nothing_changed_is_not_logged() {
        let before = subscription();
        assert_eq!(log_message(Some(&before), &before), None);
        // The stamps are not the subscription's content.
        let mut later = before.clone();
        later.modified = at("2026-06-01T00:00:00Z");
        later.modified_by = "b".into();
        assert_eq!(log_message(Some(&before), &later), None);
    }

    #[test]
    fn flags_metadata_and_long_texts() {
        let mut before = subscription();
        before.custom_metadata = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
        let mut after = before.clone();
        after.is_enabled = false;
        after.custom_metadata = json!({"b": 3, "c": 4}).as_object().unwrap().clone();
        after.description = Some("d".repeat(150));
        let message = log_message(Some(&before), &after).unwrap();
        assert_eq!(
            message,
            format!(
                "description: (none) → \"{}…\"; isEnabled: true → false; \
                 customMetadata: changed keys a, b, c",
                "d".repeat(100)
            )
        );
    }

    #[test]
    fn creation_lists_what_is_set() {
        let mut created = subscription();
        created.sf_contract_id = Some("800X".into());
        created.custom_metadata = json!({"seats": 5, "plan": "gold"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            log_message(None, &created).unwrap(),
            "created: productId: 7; organizationId: 3; status: Active; isEnabled: true; \
             sfContractId: \"800X\"; customMetadata: keys plan, seats"
        );
    }

    #[test]
    fn in_force_needs_enabled_active_and_unexpired() {
        let now = at("2026-06-01T00:00:00Z");
        let active = subscription();
        assert!(is_in_force(&active, now));
        let mut disabled = active.clone();
        disabled.is_enabled = false;
        assert!(!is_in_force(&disabled, now));
        for status in SubscriptionStatus::ALL {
            let mut other = active.clone();
            other.status = *status;
            assert_eq!(
                is_in_force(&other, now),
                *status == SubscriptionStatus::Active
            );
        }
        let mut expiring = active.clone();
        expiring.expires = Some(now.plus_seconds(1));
        assert!(is_in_force(&expiring, now));
        // It ends at `expires`: at that instant it is no longer in force.
        expiring.expires = Some(now);
        assert!(!is_in_force(&expiring, now));
        expiring.expires = Some(now.plus_seconds(-1));
        assert!(!is_in_force(&expiring, now));
    }

    #[test]
    fn ended_statuses() {
        let ended: Vec<_> = SubscriptionStatus::ALL
            .iter()
            .filter(|s| s.has_ended())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(ended, ["Cancelled", "Expired"]);
    }
}
