//! Upsell: the modules a product sells on top of a subscription, each with
//! rules on which other modules it needs or cannot go with; the catalog of
//! what an organization's live subscriptions could add; and requests for
//! more of a module, which add to the subscription's quantities when they
//! are completed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

crate::values::wire_enum!(
    /// How a rule ties a module to another: `Requires` — the other one must
    /// be held by the subscription or requested with it; `Excludes` — it
    /// must be neither.
    UpsellRuleMode { Requires, Excludes }
);

crate::values::wire_enum!(
    /// Where an upsell request stands: `Pending` → `Submitted` →
    /// `Completed` | `Rejected` (a `Pending` one may go straight to
    /// `Completed` or `Rejected`); `Completed` and `Rejected` are final.
    UpsellRequestStatus {
        Pending,
        Submitted,
        Completed,
        Rejected
    }
);

impl UpsellRequestStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UpsellRequestStatus::Completed | UpsellRequestStatus::Rejected
        )
    }

    /// Whether a request may move from this status to `next` (a different
    /// one).
    pub fn may_become(self, next: UpsellRequestStatus) -> bool {
        use UpsellRequestStatus::*;
        matches!(
            (self, next),
            (Pending, Submitted | Completed | Rejected) | (Submitted, Completed | Rejected)
        )
    }
}

/// `moduleString`: 1–100 characters.
pub const MODULE_STRING: Len = Len::between(1, 100);
/// The Salesforce ids and `softwareDeliveryType`.
pub const SF_TEXT: Len = Len::between(1, 255);
/// `statusText` of a request.
pub const STATUS_TEXT: Len = Len::at_most(250);
/// The most rules one module has.
pub const MAX_RULES: usize = 50;
/// The most items one request has.
pub const MAX_ITEMS: usize = 50;
/// The most of a module one request item asks for.
pub const MAX_ADDITIONAL_QUANTITY: i32 = 1_000_000;
/// The highest price per user per month a module may have.
pub const MAX_PUPM: f64 = 1_000_000_000.0;

/// A module's name within its product: ASCII letters, digits, `.`, `_`,
/// `:` and `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModuleString(String);

impl ModuleString {
    pub fn parse(text: &str) -> Result<ModuleString, String> {
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok =
            chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
        if first_ok && rest_ok && text.len() <= MODULE_STRING.max {
            Ok(ModuleString(text.to_owned()))
        } else {
            Err(format!(
                "must be 1-{} ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
                MODULE_STRING.max
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One dependency rule of a module.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellRule {
    pub mode: UpsellRuleMode,
    /// The other module (of the same product).
    pub module_string: String,
}

/// A module a product sells on top of a subscription, with its dependency
/// rules.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellModule {
    #[serde(skip)]
    pub id: i32,
    pub product_id: i32,
    /// Unique within the product (compared exactly).
    pub module_string: String,
    /// Its rules, in the order they were given.
    pub requires: Vec<UpsellRule>,
    pub sf_module_id: Option<String>,
    pub sf_product_id: Option<String>,
    pub software_delivery_type: Option<String>,
    /// Price per user per month.
    #[schema(format = Double)]
    pub pupm: Option<f64>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// Body of `PUT /v1/products/{productId}/upsell-dependencies`
/// (PutUpsellDependencies): declares the module, or replaces its rules and
/// data whole.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutUpsellDependenciesBody {
    /// The module (created when the product does not declare it yet).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, example = "PAYROLL")]
    pub module_string: Option<String>,
    /// The module's rules (none when absent or null); each names another
    /// module the product declares (422 otherwise), none twice and never
    /// the module itself (422).
    #[schema(max_items = 50)]
    pub requires: Option<Vec<UpsellRuleBody>>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_module_id: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_product_id: Option<String>,
    #[schema(min_length = 1, max_length = 255, example = "Cloud")]
    pub software_delivery_type: Option<String>,
    /// Price per user per month.
    #[schema(format = Double, minimum = 0, maximum = 1000000000)]
    pub pupm: Option<f64>,
}

/// A rule in PutUpsellDependencies.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsellRuleBody {
    #[schema(required = true, value_type = UpsellRuleMode)]
    pub mode: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100)]
    pub module_string: Option<String>,
}

/// A checked module declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpsellModule {
    pub module_string: ModuleString,
    pub requires: Vec<UpsellRule>,
    pub sf_module_id: Option<String>,
    pub sf_product_id: Option<String>,
    pub software_delivery_type: Option<String>,
    pub pupm: Option<f64>,
}

impl PutUpsellDependenciesBody {
    pub fn into_new(self) -> Result<NewUpsellModule, ValidationErrors> {
        let mut check = Check::new();
        let module_string = check
            .required_text("moduleString", self.module_string, MODULE_STRING)
            .and_then(|text| check.parse("moduleString", Some(text), ModuleString::parse));
        let rules = self.requires.unwrap_or_default();
        if rules.len() > MAX_RULES {
            check.fail(
                "requires",
                format!(
                    "must have at most {MAX_RULES} rules; it has {}",
                    rules.len()
                ),
            );
        }
        let mut requires = Vec::new();
        for (i, rule) in rules.into_iter().enumerate() {
            let mode = check
                .required(&format!("requires[{i}].mode"), rule.mode)
                .and_then(|mode| {
                    check.parse(
                        &format!("requires[{i}].mode"),
                        Some(mode),
                        UpsellRuleMode::parse,
                    )
                });
            let other = module_field(
                &mut check,
                &format!("requires[{i}].moduleString"),
                rule.module_string,
            );
            if let (Some(mode), Some(other)) = (mode, other) {
                requires.push(UpsellRule {
                    mode,
                    module_string: other.into_string(),
                });
            }
        }
        if let Some(pupm) = self.pupm {
            if !(0.0..=MAX_PUPM).contains(&pupm) {
                check.fail("pupm", format!("must be from 0 to {MAX_PUPM}"));
            }
        }
        let new = NewUpsellModule {
            module_string: module_string.unwrap_or_else(|| ModuleString(String::new())),
            requires,
            sf_module_id: check.text("sfModuleId", self.sf_module_id, SF_TEXT),
            sf_product_id: check.text("sfProductId", self.sf_product_id, SF_TEXT),
            software_delivery_type: check.text(
                "softwareDeliveryType",
                self.software_delivery_type,
                SF_TEXT,
            ),
            // -0 is 0.
            pupm: self.pupm.map(|price| price + 0.0),
        };
        check.finish_with(|| new)
    }
}

/// A required `moduleString` of an item or rule.
fn module_field(check: &mut Check, field: &str, value: Option<String>) -> Option<ModuleString> {
    let text = check.required_text(field, value, MODULE_STRING)?;
    check.parse(field, Some(text), ModuleString::parse)
}

impl NewUpsellModule {
    /// Refuses rules that the document cannot state: a rule naming the
    /// module itself, one naming a module that another rule names, or one
    /// naming a module the product does not declare (`declared`).
    pub fn check_rules(&self, declared: &BTreeSet<&str>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut seen = BTreeSet::new();
        for (i, rule) in self.requires.iter().enumerate() {
            let field = format!("requires[{i}].moduleString");
            let other = rule.module_string.as_str();
            if other == self.module_string.as_str() {
                errors.add(&field, "names the module itself");
            } else if !seen.insert(other) {
                errors.add(&field, format!("'{other}' is named by another rule"));
            } else if !declared.contains(other) {
                errors.add(&field, format!("the product declares no module '{other}'"));
            }
        }
        errors.into_result()
    }

    /// Whether `current` already says what this declaration says.
    pub fn is_same_as(&self, current: &UpsellModule) -> bool {
        self.module_string.as_str() == current.module_string
            && self.requires == current.requires
            && self.sf_module_id == current.sf_module_id
            && self.sf_product_id == current.sf_product_id
            && self.software_delivery_type == current.software_delivery_type
            && self.pupm == current.pupm
    }
}

/// A module an organization could add to one of its live subscriptions
/// (GetUpsellCatalog).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellCatalogItem {
    pub subscription_id: i32,
    pub sf_module_id: Option<String>,
    pub sf_product_id: Option<String>,
    /// Always null: Nexus keeps no CRM account.
    pub sf_account_id: Option<String>,
    pub sf_license_id: Option<String>,
    pub sf_contract_id: Option<String>,
    pub sf_subscription_id: Option<String>,
    pub module_string: String,
    /// How many of the module the subscription holds (0 when none).
    pub current_quantity: i32,
    /// The module's price per user per month.
    #[schema(format = Double)]
    pub current_pupm: Option<f64>,
    pub software_delivery_type: Option<String>,
    /// The module's rules.
    pub dependencies: Vec<UpsellRule>,
}

/// The catalog of one subscription: each module its product declares
/// (`modules`, by `moduleString`) with what the subscription holds of it.
pub fn catalog_of(
    subscription: &crate::subscription::Subscription,
    modules: &[UpsellModule],
    held: &BTreeMap<String, i32>,
) -> Vec<UpsellCatalogItem> {
    modules
        .iter()
        .map(|module| UpsellCatalogItem {
            subscription_id: subscription.id,
            sf_module_id: module.sf_module_id.clone(),
            sf_product_id: module.sf_product_id.clone(),
            sf_account_id: None,
            sf_license_id: subscription.sf_license_id.clone(),
            sf_contract_id: subscription.sf_contract_id.clone(),
            sf_subscription_id: subscription.sf_subscription_id.clone(),
            module_string: module.module_string.clone(),
            current_quantity: held.get(&module.module_string).copied().unwrap_or(0),
            current_pupm: module.pupm,
            software_delivery_type: module.software_delivery_type.clone(),
            dependencies: module.requires.clone(),
        })
        .collect()
}

/// Body of `POST /v1/upsell-requests` (CreateUpsellRequest).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUpsellRequestBody {
    /// The subscription's organization; when given, it must be that one
    /// (422 otherwise).
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    #[schema(value_type = Option<i32>)]
    pub organization_id: Option<i32>,
    /// The subscription to add to; it must be live: enabled, `Active` and
    /// not expired (409 otherwise).
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    #[schema(required = true, value_type = i32)]
    pub subscription_id: Option<i32>,
    /// What to add: modules of the subscription's product, each once
    /// (422 otherwise).
    #[schema(required = true, value_type = Vec<UpsellRequestItemBody>, min_items = 1, max_items = 50)]
    pub request_items: Option<Vec<UpsellRequestItemBody>>,
}

/// An item of CreateUpsellRequest. The `sf*` ids and `currentQuantity` are
/// optional; when given they must be the server's (the `sf*` ids: 422;
/// `currentQuantity`: 409, the quantity changed meanwhile).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsellRequestItemBody {
    #[schema(min_length = 1, max_length = 255)]
    pub sf_module_id: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_product_id: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub sf_subscription_id: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, example = "PAYROLL")]
    pub module_string: Option<String>,
    /// How many of the module the caller believes the subscription holds.
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    #[schema(value_type = Option<i32>, minimum = 0)]
    pub current_quantity: Option<i32>,
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    #[schema(required = true, value_type = i32, minimum = 1, maximum = 1000000)]
    pub requested_additional_quantity: Option<i32>,
}

/// A checked item of a request to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequestItem {
    pub module_string: ModuleString,
    pub sf_module_id: Option<String>,
    pub sf_product_id: Option<String>,
    pub sf_subscription_id: Option<String>,
    pub current_quantity: Option<i32>,
    pub requested_additional_quantity: i32,
}

/// A checked CreateUpsellRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub organization_id: Option<i32>,
    pub subscription_id: i32,
    pub items: Vec<NewRequestItem>,
}

impl CreateUpsellRequestBody {
    pub fn into_new(self) -> Result<NewRequest, ValidationErrors> {
        let mut check = Check::new();
        let subscription_id = check.required("subscriptionId", self.subscription_id);
        let items = check
            .required("requestItems", self.request_items)
            .unwrap_or_default();
        if check.has_errors() {
        } else if items.is_empty() || items.len() > MAX_ITEMS {
            check.fail(
                "requestItems",
                format!("must have 1 to {MAX_ITEMS} items; it has {}", items.len()),
            );
        }
        let mut checked = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let field = |name: &str| format!("requestItems[{i}].{name}");
            let module_string =
                module_field(&mut check, &field("moduleString"), item.module_string);
            let quantity = check
                .required(
                    &field("requestedAdditionalQuantity"),
                    item.requested_additional_quantity,
                )
                .filter(|quantity| {
                    let ok = (1..=MAX_ADDITIONAL_QUANTITY).contains(quantity);
                    if !ok {
                        check.fail(
                            &field("requestedAdditionalQuantity"),
                            format!("must be from 1 to {MAX_ADDITIONAL_QUANTITY}"),
                        );
                    }
                    ok
                });
            if item.current_quantity.is_some_and(|current| current < 0) {
                check.fail(&field("currentQuantity"), "must not be negative");
            }
            let sf_module_id = check.text(&field("sfModuleId"), item.sf_module_id, SF_TEXT);
            let sf_product_id = check.text(&field("sfProductId"), item.sf_product_id, SF_TEXT);
            let sf_subscription_id =
                check.text(&field("sfSubscriptionId"), item.sf_subscription_id, SF_TEXT);
            if let (Some(module_string), Some(quantity)) = (module_string, quantity) {
                checked.push(NewRequestItem {
                    module_string,
                    sf_module_id,
                    sf_product_id,
                    sf_subscription_id,
                    current_quantity: item.current_quantity,
                    requested_additional_quantity: quantity,
                });
            }
        }
        let new = NewRequest {
            organization_id: self.organization_id,
            subscription_id: subscription_id.unwrap_or_default(),
            items: checked,
        };
        check.finish_with(|| new)
    }
}

/// An item of an upsell request as stored: completed with the server's
/// ids and the quantity held when the request was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellRequestItem {
    pub sf_module_id: Option<String>,
    pub sf_product_id: Option<String>,
    pub sf_subscription_id: Option<String>,
    pub module_string: String,
    /// What the subscription held of the module when the request was made.
    pub current_quantity: i32,
    pub requested_additional_quantity: i32,
}

/// A request for more of some modules of a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellRequest {
    pub id: i32,
    pub status: UpsellRequestStatus,
    pub status_text: Option<String>,
    pub organization_id: i32,
    pub subscription_id: i32,
    /// The subscription's, when the request was made.
    pub sf_license_id: Option<String>,
    /// The subscription's, when the request was made.
    pub sf_contract_id: Option<String>,
    /// The CRM opportunity of the request, once someone records it.
    pub sf_opportunity_id: Option<String>,
    pub request_items: Vec<UpsellRequestItem>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// The fields of an UpsellRequest, for `$select`.
pub const UPSELL_REQUEST_FIELDS: &[&str] = &[
    "id",
    "status",
    "statusText",
    "organizationId",
    "subscriptionId",
    "sfLicenseId",
    "sfContractId",
    "sfOpportunityId",
    "requestItems",
    "created",
    "createdBy",
    "modified",
    "modifiedBy",
];

/// A request ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub organization_id: i32,
    pub subscription_id: i32,
    pub sf_license_id: Option<String>,
    pub sf_contract_id: Option<String>,
    pub items: Vec<UpsellRequestItem>,
}

/// Which rule a set of modules breaks, said for a 409: the rules of the
/// requested modules, and the `Excludes` rules of held ones that name a
/// requested module (`modules` are the product's). A held module's
/// `Requires` was met or not before the request, which only adds modules.
pub fn broken_rule(
    modules: &[UpsellModule],
    held: &BTreeSet<&str>,
    requested: &BTreeSet<&str>,
) -> Option<String> {
    for module in modules {
        let name = module.module_string.as_str();
        let is_requested = requested.contains(name);
        if !is_requested && !held.contains(name) {
            continue;
        }
        let whose = if is_requested {
            format!("module '{name}'")
        } else {
            format!("module '{name}' (which the subscription holds)")
        };
        for rule in &module.requires {
            let other = rule.module_string.as_str();
            let other_requested = requested.contains(other);
            match rule.mode {
                UpsellRuleMode::Requires
                    if is_requested && !other_requested && !held.contains(other) =>
                {
                    return Some(format!(
                        "{whose} requires '{other}', which the subscription neither holds nor requests"
                    ));
                }
                UpsellRuleMode::Excludes if other_requested => {
                    return Some(format!("{whose} excludes '{other}', which is requested"));
                }
                UpsellRuleMode::Excludes if is_requested && held.contains(other) => {
                    return Some(format!(
                        "{whose} excludes '{other}', which the subscription holds"
                    ));
                }
                _ => {}
            }
        }
    }
    None
}

/// The subscription log message of a request's creation: `Upsell request
/// 12 created: PAYROLL +5, TIME +2`.
pub fn created_message(request: &UpsellRequest) -> String {
    format!(
        "Upsell request {} created: {}",
        request.id,
        items_text(&request.request_items)
    )
}

/// The subscription log message of a request's change of status; a
/// completion says what it added.
pub fn status_message(
    request: &UpsellRequest,
    from: UpsellRequestStatus,
    to: UpsellRequestStatus,
) -> String {
    if to == UpsellRequestStatus::Completed {
        format!(
            "Upsell request {} completed: {}",
            request.id,
            items_text(&request.request_items)
        )
    } else {
        format!(
            "Upsell request {}: {} → {}",
            request.id,
            from.as_str(),
            to.as_str()
        )
    }
}

fn items_text(items: &[UpsellRequestItem]) -> String {
    items
        .iter()
        .map(|item| {
            format!(
                "{} +{}",
                item.module_string, item.requested_additional_quantity
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Body of `PATCH /v1/upsell-requests/{upsellRequestId}`
/// (PatchUpsellRequest): absent fields are left as they are; `null`
/// leaves `status` and clears the others.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchUpsellRequestBody {
    #[schema(value_type = Option<UpsellRequestStatus>)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 250)]
    pub status_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub sf_opportunity_id: Option<Option<String>>,
}

/// Checked changes of a request: `None` leaves a field; `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestChanges {
    pub status: Option<UpsellRequestStatus>,
    pub status_text: Option<Option<String>>,
    pub sf_opportunity_id: Option<Option<String>>,
}

impl PatchUpsellRequestBody {
    pub fn into_changes(self) -> Result<RequestChanges, ValidationErrors> {
        let mut check = Check::new();
        let status = check.parse("status", self.status, UpsellRequestStatus::parse);
        let status_text = self
            .status_text
            .map(|set| set.and_then(|text| check.text("statusText", Some(text), STATUS_TEXT)));
        let sf_opportunity_id = self
            .sf_opportunity_id
            .map(|set| set.and_then(|text| check.text("sfOpportunityId", Some(text), SF_TEXT)));
        let changes = RequestChanges {
            status,
            status_text,
            sf_opportunity_id,
        };
        check.finish_with(|| changes)
    }
}

impl RequestChanges {
    pub fn is_empty(&self) -> bool {
        self == &RequestChanges::default()
    }

    /// `current` with these changes made (stamps left as they are).
    pub fn apply(&self, current: &UpsellRequest) -> UpsellRequest {
        let mut next = current.clone();
        if let Some(status) = self.status {
            next.status = status;
        }
        if let Some(text) = &self.status_text {
            next.status_text = text.clone();
        }
        if let Some(id) = &self.sf_opportunity_id {
            next.sf_opportunity_id = id.clone();
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
    }

    fn module(name: &str, rules: &[(UpsellRuleMode, &str)]) -> UpsellModule {
        UpsellModule {
            id: 0,
            product_id: 1,
            module_string: name.into(),
            requires: rules
                .iter()
                .map(|(mode, other)| UpsellRule {
                    mode: *mode,
                    module_string: (*other).into(),
                })
                .collect(),
            sf_module_id: None,
            sf_product_id: None,
            software_delivery_type: None,
            pupm: None,
            created: at(),
            created_by: "a".into(),
            modified: at(),
            modified_by: "a".into(),
        }
    }

    fn put(body: Value) -> Result<NewUpsellModule, ValidationErrors> {
        serde_json::from_value::<PutUpsellDependenciesBody>(body)
            .unwrap()
            .into_new()
    }

    fn create(body: Value) -> Result<NewRequest, ValidationErrors> {
        serde_json::from_value::<CreateUpsellRequestBody>(body)
            .unwrap()
            .into_new()
    }

    fn fields(errors: ValidationErrors) -> Vec<String> {
        errors.fields().keys().cloned().collect()
    }

    #[test]
    fn module_strings() {
        for ok in ["A", "payroll", "HR:payroll.v2_x-1", &"m".repeat(100)] {
            assert!(ModuleString::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a b", "é", "a/b", &"m".repeat(101)] {
            assert!(ModuleString::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_declaration_is_checked_field_by_field() {
        let new = put(json!({"moduleString": "PAYROLL",
            "requires": [{"mode": "requires", "moduleString": "CORE"}], "pupm": 4.5}))
        .unwrap();
        assert_eq!(new.requires[0].mode, UpsellRuleMode::Requires);
        assert_eq!(new.pupm, Some(4.5));
        assert_eq!(fields(put(json!({})).unwrap_err()), ["moduleString"]);
        let bad = put(json!({"moduleString": "a b", "requires": [{"mode": "Needs"}, {"mode": "Excludes", "moduleString": ""}],
            "sfModuleId": "", "softwareDeliveryType": "t".repeat(256), "pupm": -0.5}))
        .unwrap_err();
        assert_eq!(
            fields(bad),
            [
                "moduleString",
                "pupm",
                "requires[0].mode",
                "requires[0].moduleString",
                "requires[1].moduleString",
                "sfModuleId",
                "softwareDeliveryType"
            ]
        );
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"mode": "Requires", "moduleString": format!("M{i}")}))
            .collect();
        assert_eq!(
            fields(put(json!({"moduleString": "A", "requires": many})).unwrap_err()),
            ["requires"]
        );
        assert!(put(json!({"moduleString": "A", "pupm": MAX_PUPM})).is_ok());
        assert!(put(json!({"moduleString": "A", "pupm": MAX_PUPM * 1.01})).is_err());
    }

    #[test]
    fn rules_name_other_declared_modules_once() {
        let declared = BTreeSet::from(["A", "B", "C"]);
        let new = put(json!({"moduleString": "A", "requires": [
            {"mode": "Requires", "moduleString": "B"},
            {"mode": "Excludes", "moduleString": "B"},
            {"mode": "Requires", "moduleString": "A"},
            {"mode": "Requires", "moduleString": "D"},
            {"mode": "Excludes", "moduleString": "C"},
        ]}))
        .unwrap();
        assert_eq!(
            fields(new.check_rules(&declared).unwrap_err()),
            [
                "requires[1].moduleString",
                "requires[2].moduleString",
                "requires[3].moduleString"
            ]
        );
    }

    #[test]
    fn requests_are_checked_item_by_item() {
        let new = create(json!({"subscriptionId": 3.0, "requestItems": [
            {"moduleString": "PAYROLL", "requestedAdditionalQuantity": 1000000}]}))
        .unwrap();
        assert_eq!(new.subscription_id, 3);
        assert_eq!(new.items[0].requested_additional_quantity, 1_000_000);
        assert_eq!(
            fields(create(json!({})).unwrap_err()),
            ["requestItems", "subscriptionId"]
        );
        assert_eq!(
            fields(create(json!({"subscriptionId": 1, "requestItems": []})).unwrap_err()),
            ["requestItems"]
        );
        let bad = create(json!({"subscriptionId": 1, "requestItems": [
            {"moduleString": "A", "requestedAdditionalQuantity": 0},
            {"moduleString": "B", "requestedAdditionalQuantity": 1000001, "currentQuantity": -1},
            {"requestedAdditionalQuantity": 1, "sfModuleId": ""},
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(bad),
            [
                "requestItems[0].requestedAdditionalQuantity",
                "requestItems[1].currentQuantity",
                "requestItems[1].requestedAdditionalQuantity",
                "requestItems[2].moduleString",
                "requestItems[2].sfModuleId"
            ]
        );
    }

    #[test]
    fn dependency_rules() {
        use UpsellRuleMode::*;
        let modules = [
            module("BASE", &[]),
            module("PAYROLL", &[(Requires, "BASE")]),
            module("LITE", &[(Excludes, "PAYROLL")]),
            module("TIME", &[]),
        ];
        let set = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<&str>>();
        // Requires: held or requested with it.
        assert!(broken_rule(&modules, &set(&["BASE"]), &set(&["PAYROLL"])).is_none());
        assert!(broken_rule(&modules, &set(&[]), &set(&["PAYROLL", "BASE"])).is_none());
        let missing = broken_rule(&modules, &set(&["TIME"]), &set(&["PAYROLL"])).unwrap();
        assert!(missing.contains("'PAYROLL' requires 'BASE'"), "{missing}");
        // Excludes, from either side, held or requested.
        let held = broken_rule(&modules, &set(&["BASE", "PAYROLL"]), &set(&["LITE"])).unwrap();
        assert!(held.contains("'LITE' excludes 'PAYROLL'"), "{held}");
        let by_held = broken_rule(&modules, &set(&["LITE", "BASE"]), &set(&["PAYROLL"])).unwrap();
        assert_eq!(
            by_held,
            "module 'LITE' (which the subscription holds) excludes 'PAYROLL', which is requested"
        );
        let together = broken_rule(&modules, &set(&["BASE"]), &set(&["PAYROLL", "LITE"])).unwrap();
        assert!(
            together.contains("'PAYROLL', which is requested"),
            "{together}"
        );
        // Rules among held modules alone are not the request's.
        assert!(broken_rule(&modules, &set(&["LITE", "PAYROLL"]), &set(&["TIME"])).is_none());
    }

    #[test]
    fn statuses_move_forward_only() {
        use UpsellRequestStatus::*;
        assert!(Pending.may_become(Submitted));
        assert!(Pending.may_become(Completed));
        assert!(Submitted.may_become(Rejected));
        assert!(!Submitted.may_become(Pending));
        for end in [Completed, Rejected] {
            assert!(end.is_final());
            for next in UpsellRequestStatus::ALL {
                assert!(!end.may_become(*next));
            }
        }
    }

    #[test]
    fn log_messages() {
        let request = UpsellRequest {
            id: 12,
            status: UpsellRequestStatus::Pending,
            status_text: None,
            organization_id: 1,
            subscription_id: 2,
            sf_license_id: None,
            sf_contract_id: None,
            sf_opportunity_id: None,
            request_items: ["PAYROLL", "TIME"]
                .iter()
                .map(|m| UpsellRequestItem {
                    sf_module_id: None,
                    sf_product_id: None,
                    sf_subscription_id: None,
                    module_string: (*m).into(),
                    current_quantity: 0,
                    requested_additional_quantity: if *m == "TIME" { 2 } else { 5 },
                })
                .collect(),
            created: at(),
            created_by: "a".into(),
            modified: at(),
            modified_by: "a".into(),
        };
        assert_eq!(
            created_message(&request),
            "Upsell request 12 created: PAYROLL +5, TIME +2"
        );
        use UpsellRequestStatus::*;
        assert_eq!(
            status_message(&request, Pending, Submitted),
            "Upsell request 12: Pending → Submitted"
        );
        assert_eq!(
            status_message(&request, Submitted, Completed),
            "Upsell request 12 completed: PAYROLL +5, TIME +2"
        );
    }

    #[test]
    fn the_selectable_fields_are_the_fields_answered() {
        let request = UpsellRequest {
            id: 1,
            status: UpsellRequestStatus::Pending,
            status_text: None,
            organization_id: 1,
            subscription_id: 1,
            sf_license_id: None,
            sf_contract_id: None,
            sf_opportunity_id: None,
            request_items: vec![],
            created: at(),
            created_by: "a".into(),
            modified: at(),
            modified_by: "a".into(),
        };
        let value = serde_json::to_value(request).unwrap();
        let mut answered: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        answered.sort();
        let mut fields = UPSELL_REQUEST_FIELDS.to_vec();
        fields.sort();
        assert_eq!(answered, fields);
    }
}
