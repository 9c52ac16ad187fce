//! Application deployments: an application made available to an
//! organization under one of its subscriptions, and the users assigned to
//! it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::entitlement::Terms;
use crate::validation::{json_object, opt_int32, present, present_int32, Check, Len};
use crate::values::wire_enum;
use crate::{Timestamp, ValidationErrors};

wire_enum!(
    /// Only an `Active` deployment lets its users in.
    DeploymentStatus {
        Pending,
        Active,
        Suspended,
        Retired
    }
);

/// ApplicationDeployment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDeployment {
    pub id: i32,
    pub name: String,
    /// Nexus runs no deployment steps: always empty.
    pub steps: Vec<Value>,
    pub status: DeploymentStatus,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub created_by: String,
    pub modified_by: String,
    /// Not expanded: read the application by `applicationId`.
    #[schema(value_type = Option<Object>)]
    pub application: Option<Value>,
    pub display_name: String,
    /// How many users may be assigned; unlimited when null.
    pub max_user_count: Option<i32>,
    /// Not expanded: read the subscription by `subscriptionId`.
    #[schema(value_type = Option<Object>)]
    pub subscription: Option<Value>,
    pub application_id: i32,
    pub configuration: Option<String>,
    #[schema(value_type = Object)]
    pub custom_metadata: Map<String, Value>,
    pub subscription_id: i32,
    /// Nexus keeps no deployment targets: always null.
    #[schema(value_type = Option<Object>)]
    pub deployment_target: Option<Value>,
    /// Nothing writes it yet: always an empty object.
    #[schema(value_type = Object)]
    pub readonly_metadata: Map<String, Value>,
    pub status_resolution: Option<String>,
    /// Nexus keeps no deployment targets: always null.
    pub deployment_target_id: Option<i32>,
    /// When the deployment ends; its users are refused from then on.
    pub expires: Option<Timestamp>,
    /// The organization that holds the subscription.
    pub organization_id: i32,
    /// How many users are assigned.
    pub user_count: i32,
}

/// A user assigned to an application deployment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentUser {
    pub application_deployment_id: i32,
    pub user_id: String,
    /// When the assignment ends; never when null.
    pub expires: Option<Timestamp>,
    pub is_active: bool,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

const NAME: Len = Len::between(1, 100);
const DISPLAY_NAME: Len = Len::between(1, 250);
const STATUS_RESOLUTION: Len = Len::at_most(1000);
const CONFIGURATION: Len = Len::at_most(16 * 1024);
/// The longest user id (AddOrganizationMember's bound).
const USER_ID: Len = Len::between(1, 40);

/// Body of `POST /v1/application-deployments`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDeploymentBody {
    /// The application to deploy.
    #[schema(required = true, value_type = i32)]
    #[serde(default, deserialize_with = "opt_int32")]
    pub application_id: Option<i32>,
    /// The subscription it is deployed under: a subscription to the
    /// application's product.
    #[schema(required = true, value_type = i32)]
    #[serde(default, deserialize_with = "opt_int32")]
    pub subscription_id: Option<i32>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The name by default.
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    /// `Active` by default.
    #[schema(value_type = Option<DeploymentStatus>)]
    pub status: Option<String>,
    #[schema(max_length = 1000)]
    pub status_resolution: Option<String>,
    #[schema(max_length = 16384)]
    pub configuration: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_metadata: Option<Map<String, Value>>,
    /// Unlimited when absent or null.
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "opt_int32")]
    pub max_user_count: Option<i32>,
    #[schema(format = DateTime)]
    pub expires: Option<String>,
}

/// A checked deployment to create.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub application_id: i32,
    pub subscription_id: i32,
    pub fields: DeploymentFields,
}

/// What a deployment says of itself (everything but what it deploys).
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentFields {
    pub name: String,
    pub display_name: String,
    pub status: DeploymentStatus,
    pub status_resolution: Option<String>,
    pub configuration: Option<String>,
    pub custom_metadata: Map<String, Value>,
    pub max_user_count: Option<i32>,
    pub expires: Option<Timestamp>,
}

impl CreateDeploymentBody {
    pub fn into_new(self) -> Result<NewDeployment, ValidationErrors> {
        let mut check = Check::new();
        let application_id = check.required("applicationId", self.application_id);
        let subscription_id = check.required("subscriptionId", self.subscription_id);
        let name = check.required_text("name", self.name, NAME);
        let display_name = check.text("displayName", self.display_name, DISPLAY_NAME);
        let status = check.parse("status", self.status, DeploymentStatus::parse);
        let status_resolution = check.text(
            "statusResolution",
            self.status_resolution,
            STATUS_RESOLUTION,
        );
        let configuration = check.text("configuration", self.configuration, CONFIGURATION);
        let custom_metadata = json_object(&mut check, "customMetadata", self.custom_metadata);
        let max_user_count = max_user_count(&mut check, self.max_user_count);
        let expires = check.parse("expires", self.expires, Timestamp::parse);
        check.finish_with(|| {
            let name = name.expect("checked");
            NewDeployment {
                application_id: application_id.expect("checked"),
                subscription_id: subscription_id.expect("checked"),
                fields: DeploymentFields {
                    display_name: display_name.unwrap_or_else(|| name.clone()),
                    name,
                    status: status.unwrap_or(DeploymentStatus::Active),
                    status_resolution,
                    configuration,
                    custom_metadata,
                    max_user_count,
                    expires,
                },
            }
        })
    }
}

fn max_user_count(check: &mut Check, value: Option<i32>) -> Option<i32> {
    if value.is_some_and(|n| n < 0) {
        check.fail("maxUserCount", "must be 0 or more");
    }
    value
}

/// Body of `PATCH /v1/application-deployments/{appDeploymentId}`: absent
/// fields are kept; null clears a nullable one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchDeploymentBody {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    /// Null leaves it as it is.
    #[schema(value_type = Option<DeploymentStatus>)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub status_resolution: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 16384)]
    pub configuration: Option<Option<String>>,
    /// Replaces the stored object; null leaves it as it is.
    #[schema(value_type = Option<Object>)]
    pub custom_metadata: Option<Map<String, Value>>,
    /// Not below the number of users assigned.
    #[serde(default, deserialize_with = "present_int32")]
    #[schema(value_type = Option<i32>, minimum = 0)]
    pub max_user_count: Option<Option<i32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires: Option<Option<String>>,
}

impl PatchDeploymentBody {
    /// The deployment's fields after the patch.
    pub fn apply(self, current: &DeploymentFields) -> Result<DeploymentFields, ValidationErrors> {
        let mut check = Check::new();
        let name = check.text("name", self.name, NAME);
        let display_name = check.text("displayName", self.display_name, DISPLAY_NAME);
        let status = check.parse("status", self.status, DeploymentStatus::parse);
        let status_resolution = self
            .status_resolution
            .map(|v| check.text("statusResolution", v, STATUS_RESOLUTION));
        let configuration = self
            .configuration
            .map(|v| check.text("configuration", v, CONFIGURATION));
        let custom_metadata = self
            .custom_metadata
            .map(|m| json_object(&mut check, "customMetadata", Some(m)));
        let max_user_count = self.max_user_count.map(|v| max_user_count(&mut check, v));
        let expires = self
            .expires
            .map(|v| check.parse("expires", v, Timestamp::parse));
        check.finish_with(|| DeploymentFields {
            name: name.unwrap_or_else(|| current.name.clone()),
            display_name: display_name.unwrap_or_else(|| current.display_name.clone()),
            status: status.unwrap_or(current.status),
            status_resolution: status_resolution
                .unwrap_or_else(|| current.status_resolution.clone()),
            configuration: configuration.unwrap_or_else(|| current.configuration.clone()),
            custom_metadata: custom_metadata.unwrap_or_else(|| current.custom_metadata.clone()),
            max_user_count: max_user_count.unwrap_or(current.max_user_count),
            expires: expires.unwrap_or(current.expires),
        })
    }
}

impl ApplicationDeployment {
    pub fn fields(&self) -> DeploymentFields {
        DeploymentFields {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            status: self.status,
            status_resolution: self.status_resolution.clone(),
            configuration: self.configuration.clone(),
            custom_metadata: self.custom_metadata.clone(),
            max_user_count: self.max_user_count,
            expires: self.expires,
        }
    }

    /// Whether one more user may be assigned.
    pub fn has_room(&self) -> bool {
        self.max_user_count.is_none_or(|max| self.user_count < max)
    }
}

/// Body of `POST /v1/application-deployments/{appDeploymentId}/users`
/// (CreateApplicationDeploymentUsers). Assigning a user already assigned
/// replaces the assignment's `expires`, `isActive` and `metadata`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddDeploymentUserBody {
    /// A member of the organization that holds the deployment's
    /// subscription, unless `addToOrganization`.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 40)]
    pub user_id: Option<String>,
    /// Make the user a member of that organization first, if it is not one.
    pub add_to_organization: Option<bool>,
    /// When the assignment ends (UTC); never when absent or null.
    #[schema(format = DateTime)]
    pub expires: Option<String>,
    /// True when absent or null.
    pub is_active: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// A checked assignment.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub user_id: String,
    pub add_to_organization: bool,
    pub expires: Option<Timestamp>,
    pub is_active: bool,
    pub metadata: Map<String, Value>,
}

impl AddDeploymentUserBody {
    pub fn into_new(self) -> Result<NewAssignment, ValidationErrors> {
        let mut check = Check::new();
        let user_id = check.required_text("userId", self.user_id, USER_ID);
        let expires = check.parse("expires", self.expires, Timestamp::parse);
        let metadata = json_object(&mut check, "metadata", self.metadata);
        check.finish_with(|| NewAssignment {
            user_id: user_id.expect("checked"),
            add_to_organization: self.add_to_organization.unwrap_or(false),
            expires,
            is_active: self.is_active.unwrap_or(true),
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create() -> CreateDeploymentBody {
        CreateDeploymentBody {
            application_id: Some(1),
            subscription_id: Some(2),
            name: Some("eu".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let new = create().into_new().unwrap();
        assert_eq!(new.fields.display_name, "eu");
        assert_eq!(new.fields.status, DeploymentStatus::Active);
        assert_eq!(new.fields.max_user_count, None);
        assert!(new.fields.custom_metadata.is_empty());
    }

    #[test]
    fn edges() {
        let with = |f: fn(&mut CreateDeploymentBody)| {
            let mut body = create();
            f(&mut body);
            body.into_new()
        };
        assert!(with(|b| b.name = Some("n".repeat(100))).is_ok());
        assert!(with(|b| b.name = Some("n".repeat(101))).is_err());
        assert!(with(|b| b.name = Some(String::new())).is_err());
        assert!(with(|b| b.display_name = Some("d".repeat(250))).is_ok());
        assert!(with(|b| b.display_name = Some("d".repeat(251))).is_err());
        assert!(with(|b| b.status_resolution = Some("r".repeat(1000))).is_ok());
        assert!(with(|b| b.status_resolution = Some("r".repeat(1001))).is_err());
        assert!(with(|b| b.max_user_count = Some(0)).is_ok());
        assert!(with(|b| b.max_user_count = Some(-1)).is_err());
        assert!(with(|b| b.status = Some("retired".into())).is_ok());
        assert!(with(|b| b.status = Some("Gone".into())).is_err());
        assert!(with(|b| b.expires = Some("tomorrow".into())).is_err());
    }

    #[test]
    fn every_missing_field_is_reported() {
        let errors = CreateDeploymentBody::default().into_new().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["applicationId", "name", "subscriptionId"]);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name_and_clears_nulls() {
        let current = CreateDeploymentBody {
            max_user_count: Some(5),
            status_resolution: Some("why".into()),
            ..create()
        }
        .into_new()
        .unwrap()
        .fields;
        let patched = PatchDeploymentBody {
            status: Some("Suspended".into()),
            max_user_count: Some(None),
            ..Default::default()
        }
        .apply(&current)
        .unwrap();
        assert_eq!(patched.status, DeploymentStatus::Suspended);
        assert_eq!(patched.max_user_count, None);
        assert_eq!(patched.status_resolution.as_deref(), Some("why"));
        assert_eq!(patched.name, "eu");
        assert_eq!(
            PatchDeploymentBody::default().apply(&current).unwrap(),
            current
        );
    }

    #[test]
    fn an_assignment_is_active_by_default() {
        let new = AddDeploymentUserBody {
            user_id: Some("u1".into()),
            ..Default::default()
        }
        .into_new()
        .unwrap();
        assert!(new.is_active && !new.add_to_organization);
        assert!(AddDeploymentUserBody {
            user_id: Some("u".repeat(41)),
            ..Default::default()
        }
        .into_new()
        .is_err());
    }
}

/// A deployment in an organization, as CreateUser's `applications` chooses
/// among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub deployment_id: i32,
    pub application_id: i32,
    pub application_name: String,
    pub deployment: Terms,
    /// The subscription the deployment is under.
    pub subscription: Terms,
}

/// The deployment CreateUser assigns for one entry of `applications`: the
/// one live deployment (it and its subscription active and unexpired at
/// `now`) of the application `reference` names among `offered` — by id when
/// an offered application has that id, else by name without regard to case.
/// The error says why none can be chosen.
pub fn choose(offered: &[Offered], reference: &str, now: Timestamp) -> Result<i32, String> {
    let by_id = reference
        .parse::<i32>()
        .ok()
        .filter(|id| offered.iter().any(|o| o.application_id == *id));
    let named: Vec<&Offered> = offered
        .iter()
        .filter(|o| match by_id {
            Some(id) => o.application_id == id,
            None => o.application_name.to_lowercase() == reference.to_lowercase(),
        })
        .collect();
    if named.is_empty() {
        return Err(format!(
            "no application with the id or name '{reference}' is deployed to the organization"
        ));
    }
    let live: Vec<i32> = named
        .iter()
        .filter(|o| o.deployment.hold_at(now) && o.subscription.hold_at(now))
        .map(|o| o.deployment_id)
        .collect();
    match live.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "the organization's deployments of '{reference}' ({}) are not active, expired, or \
             under a subscription that is not",
            ids(named.iter().map(|o| o.deployment_id))
        )),
        several => Err(format!(
            "'{reference}' names {} live deployments of the organization ({}); assign the user \
             with POST /v1/application-deployments/{{appDeploymentId}}/users",
            several.len(),
            ids(several.iter().copied())
        )),
    }
}

fn ids(ids: impl Iterator<Item = i32>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod choose_tests {
    use super::*;
    use crate::entitlement::tests::{now, open};

    fn offered(deployment_id: i32, application_id: i32, name: &str) -> Offered {
        Offered {
            deployment_id,
            application_id,
            application_name: name.to_owned(),
            deployment: open(),
            subscription: open(),
        }
    }

    #[test]
    fn an_application_is_named_by_id_or_by_name_in_any_case() {
        let all = [offered(10, 1, "Portal"), offered(11, 2, "Payroll")];
        assert_eq!(choose(&all, "2", now()), Ok(11));
        assert_eq!(choose(&all, "portal", now()), Ok(10));
        assert_eq!(choose(&all, "PAYROLL", now()), Ok(11));
    }

    #[test]
    fn an_id_wins_over_a_name_made_of_digits_and_an_unknown_id_is_a_name() {
        let all = [
            offered(10, 1, "2"),
            offered(11, 2, "Payroll"),
            offered(12, 3, "77"),
        ];
        assert_eq!(choose(&all, "2", now()), Ok(11));
        assert_eq!(choose(&all, "77", now()), Ok(12));
    }

    #[test]
    fn nothing_named_is_refused() {
        let all = [offered(10, 1, "Portal")];
        let error = choose(&all, "Billing", now()).unwrap_err();
        assert!(error.contains("'Billing'"), "{error}");
        assert!(choose(&[], "1", now()).is_err());
    }

    #[test]
    fn only_a_live_deployment_under_a_live_subscription_is_chosen() {
        let past = Timestamp::parse("2026-06-01T11:59:59Z").unwrap();
        let mut retired = offered(10, 1, "Portal");
        retired.deployment.is_active = false;
        let mut expired = offered(11, 1, "Portal");
        expired.deployment.expires = Some(past);
        let mut suspended = offered(12, 1, "Portal");
        suspended.subscription.is_active = false;
        let mut lapsed = offered(13, 1, "Portal");
        lapsed.subscription.expires = Some(now());
        let dead = [retired, expired, suspended, lapsed];
        let error = choose(&dead, "Portal", now()).unwrap_err();
        assert!(error.contains("10, 11, 12, 13"), "{error}");
        let mut with_live = dead.to_vec();
        with_live.push(offered(14, 1, "Portal"));
        assert_eq!(choose(&with_live, "portal", now()), Ok(14));
    }

    #[test]
    fn two_live_deployments_are_ambiguous() {
        let all = [offered(10, 1, "Portal"), offered(11, 5, "portal")];
        let error = choose(&all, "Portal", now()).unwrap_err();
        assert!(
            error.contains("2 live deployments") && error.contains("10, 11"),
            "{error}"
        );
        assert_eq!(choose(&all, "5", now()), Ok(11));
    }
}
