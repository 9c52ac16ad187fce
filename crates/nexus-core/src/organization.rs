use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::values::OrganizationType;
use crate::{Timestamp, ValidationErrors};

/// An organization (the `organization` of a user). The collections other
/// than those Nexus keeps are empty arrays; inside a user, `aliases`,
/// `domains` and `members` are empty too (read the organization for them).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: i32,
    pub name: String,
    #[serde(rename = "type")]
    pub organization_type: OrganizationType,
    /// Its ids in other systems.
    pub aliases: Vec<crate::organization_alias::OrganizationAlias>,
    pub contact: Option<String>,
    pub created: Timestamp,
    /// The organization's domains (`GET /v1/organizations/{organizationId}/domains`).
    pub domains: Vec<crate::organization_domain::OrganizationDomain>,
    /// Its memberships (without their users) with `$expand=members`, else
    /// empty; `GET /v1/organizations/{organizationId}/members` pages through
    /// them.
    pub members: Vec<Membership>,
    pub is_active: bool,
    pub modified: Timestamp,
    /// The products of its subscriptions, each once, by id (without their
    /// subscriptions).
    pub products: Vec<crate::product::Product>,
    pub created_by: String,
    pub modified_by: String,
    pub display_name: String,
    /// The applications deployed to it (empty inside a user).
    pub applications: Vec<crate::application::Application>,
    pub crm_account_id: String,
    pub is_mfa_required: bool,
    pub is_self_service: bool,
    /// Its subscriptions (without their logs).
    pub subscriptions: Vec<crate::subscription::Subscription>,
    pub technical_contact: Option<String>,
    pub is_enabled_for_preview_features: bool,
    pub is_domain_verification_required: bool,
    /// The IdP tenant (its numeric id) where invited and imported members
    /// who have no user yet are created; null when none is set.
    pub default_idp_tenant_id: Option<i32>,
}

/// A user's membership of an organization (an item of the user's `memberOf`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: String,
    /// The member, when one membership is fetched on its own; null in lists
    /// and inside a user's `memberOf`.
    #[schema(no_recursion)]
    pub user: Option<Box<crate::user::User>>,
    /// Membership role names, e.g. `organization-admin`.
    pub roles: Vec<String>,
    pub user_id: String,
    pub created: Timestamp,
    pub is_guest: bool,
    pub modified: Timestamp,
    pub created_by: String,
    pub modified_by: String,
    /// Whether MFA applies to this member: the organization requires it or the
    /// membership does.
    pub is_mfa_required: bool,
    pub organization_id: i32,
    pub organization_name: String,
    /// The membership's own MFA flag.
    pub is_membership_mfa_required: bool,
    pub organization_display_name: String,
}

/// The fields of an Organization, for `$select`.
pub const ORGANIZATION_FIELDS: &[&str] = &[
    "id",
    "name",
    "type",
    "aliases",
    "contact",
    "created",
    "domains",
    "members",
    "isActive",
    "modified",
    "products",
    "createdBy",
    "modifiedBy",
    "displayName",
    "applications",
    "crmAccountId",
    "isMfaRequired",
    "isSelfService",
    "subscriptions",
    "technicalContact",
    "isEnabledForPreviewFeatures",
    "isDomainVerificationRequired",
    "defaultIdpTenantId",
];

/// The fields of a Membership, for `$select`.
pub const MEMBERSHIP_FIELDS: &[&str] = &[
    "id",
    "user",
    "roles",
    "userId",
    "created",
    "isGuest",
    "modified",
    "createdBy",
    "modifiedBy",
    "isMfaRequired",
    "organizationId",
    "organizationName",
    "isMembershipMfaRequired",
    "organizationDisplayName",
];

const TEXT_250: Len = Len::between(1, 250); // reference: CreateOrganization 1-250
const CONTACT: Len = Len::at_most(250);

/// Body of `POST /v1/organizations` (CreateOrganization).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrganizationBody {
    /// Unique (case-insensitively); not all digits.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "welcome-woods")]
    pub name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "Welcome Woods Inc.")]
    pub display_name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250)]
    pub crm_account_id: Option<String>,
    #[serde(rename = "type")]
    #[schema(required = true, value_type = OrganizationType)]
    pub organization_type: Option<String>,
    #[schema(max_length = 250)]
    pub contact: Option<String>,
    #[schema(max_length = 250)]
    pub technical_contact: Option<String>,
    pub is_mfa_required: Option<bool>,
    pub is_self_service: Option<bool>,
    pub is_enabled_for_preview_features: Option<bool>,
    /// The IdP tenant where invited and imported members who have no user
    /// yet are created: its numeric id, name, azoTenantName or loginDomain.
    #[schema(min_length = 1, max_length = 200, example = "us-1")]
    pub default_idp_tenant_id: Option<String>,
}

/// Body of `PATCH /v1/organizations/{organizationId}` (UpdateOrganizationMfa).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateOrganizationBody {
    #[schema(max_length = 250)]
    pub contact: Option<String>,
    #[schema(max_length = 250)]
    pub technical_contact: Option<String>,
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    #[schema(min_length = 1, max_length = 250)]
    pub crm_account_id: Option<String>,
    pub is_active: Option<bool>,
    pub is_mfa_required: Option<bool>,
    pub is_enabled_for_preview_features: Option<bool>,
    /// Turns off domain verification at account creation; should almost never be used.
    pub is_domain_verification_required: Option<bool>,
    /// The IdP tenant where invited and imported members who have no user
    /// yet are created: its numeric id, name, azoTenantName or loginDomain.
    /// Unlike the other fields, `null` clears it (absent leaves it).
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, example = "us-1")]
    pub default_idp_tenant_id: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub display_name: String,
    pub crm_account_id: String,
    pub organization_type: OrganizationType,
    pub contact: Option<String>,
    pub technical_contact: Option<String>,
    pub is_mfa_required: bool,
    pub is_self_service: bool,
    pub is_enabled_for_preview_features: bool,
    /// The default IdP tenant, as the body names it (resolved by the service).
    pub default_idp_tenant: Option<String>,
}

/// Checked changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationChanges {
    pub contact: Option<String>,
    pub technical_contact: Option<String>,
    pub display_name: Option<String>,
    pub crm_account_id: Option<String>,
    pub is_active: Option<bool>,
    pub is_mfa_required: Option<bool>,
    pub is_enabled_for_preview_features: Option<bool>,
    pub is_domain_verification_required: Option<bool>,
    /// `Some(None)` clears the default IdP tenant; `Some(Some(reference))`
    /// sets it to the tenant the reference names (resolved by the service).
    pub default_idp_tenant: Option<Option<String>>,
}

/// An IdP tenant named in a body: CreateUser's idpTenantId, 1-200.
const TENANT_REF: Len = crate::user::TENANT_REF;

impl CreateOrganizationBody {
    pub fn into_new(self) -> Result<NewOrganization, ValidationErrors> {
        let mut check = Check::new();
        let name = check.required_text("name", self.name, TEXT_250);
        if name
            .as_deref()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            check.fail("name", "must not consist of digits only (digits address an organization by its numeric id)");
        }
        let display_name = check.required_text("displayName", self.display_name, TEXT_250);
        let crm_account_id = check.required_text("crmAccountId", self.crm_account_id, TEXT_250);
        let organization_type = check.required("type", self.organization_type);
        let organization_type = check.parse("type", organization_type, OrganizationType::parse);
        let contact = check.text("contact", self.contact, CONTACT);
        let technical_contact = check.text("technicalContact", self.technical_contact, CONTACT);
        let default_idp_tenant =
            check.text("defaultIdpTenantId", self.default_idp_tenant_id, TENANT_REF);
        check.finish_with(|| NewOrganization {
            name: name.expect("checked"),
            display_name: display_name.expect("checked"),
            crm_account_id: crm_account_id.expect("checked"),
            organization_type: organization_type.expect("checked"),
            contact,
            technical_contact,
            is_mfa_required: self.is_mfa_required.unwrap_or(false),
            is_self_service: self.is_self_service.unwrap_or(false),
            is_enabled_for_preview_features: self.is_enabled_for_preview_features.unwrap_or(false),
            default_idp_tenant,
        })
    }
}

impl UpdateOrganizationBody {
    pub fn into_changes(self) -> Result<OrganizationChanges, ValidationErrors> {
        let mut check = Check::new();
        let changes = OrganizationChanges {
            contact: check.text("contact", self.contact, CONTACT),
            technical_contact: check.text("technicalContact", self.technical_contact, CONTACT),
            display_name: check.text("displayName", self.display_name, TEXT_250),
            crm_account_id: check.text("crmAccountId", self.crm_account_id, TEXT_250),
            is_active: self.is_active,
            is_mfa_required: self.is_mfa_required,
            is_enabled_for_preview_features: self.is_enabled_for_preview_features,
            is_domain_verification_required: self.is_domain_verification_required,
            default_idp_tenant: self
                .default_idp_tenant_id
                .map(|set| set.and_then(|t| check.text("defaultIdpTenantId", Some(t), TENANT_REF))),
        };
        check.finish_with(|| changes)
    }
}

/// Body of `POST /v1/organizations/{organizationId}/members` (AddOrganizationMember).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMemberBody {
    #[schema(required = true, value_type = String, min_length = 1, max_length = 40)]
    pub user_id: Option<String>,
    /// Whether MFA is required of this member.
    #[schema(required = true, value_type = bool)]
    pub is_mfa_required: Option<bool>,
    pub is_guest: Option<bool>,
    /// Gives the membership the `organization-admin` role.
    pub make_admin: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub user_id: String,
    pub is_mfa_required: bool,
    pub is_guest: bool,
    pub make_admin: bool,
}

/// Body of `PATCH /v1/organizations/{organizationId}/members/{userId}`:
/// absent or null fields are left as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMemberBody {
    /// The membership's own MFA flag (`isMembershipMfaRequired`).
    pub is_mfa_required: Option<bool>,
    pub is_guest: Option<bool>,
}

/// The membership roles Nexus knows (RemoveOrganizationMemberRole: "currently
/// only organization-admin is supported").
pub const MEMBERSHIP_ROLES: &[&str] = &["organization-admin"];

impl AddMemberBody {
    pub fn into_new(self) -> Result<NewMember, ValidationErrors> {
        let mut check = Check::new();
        let user_id = check.required_text("userId", self.user_id, Len::between(1, 40));
        let is_mfa_required = check.required("isMfaRequired", self.is_mfa_required);
        check.finish_with(|| NewMember {
            user_id: user_id.expect("checked"),
            is_mfa_required: is_mfa_required.expect("checked"),
            is_guest: self.is_guest.unwrap_or(false),
            make_admin: self.make_admin.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_reports_every_missing_field() {
        let errors = CreateOrganizationBody::default().into_new().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["crmAccountId", "displayName", "name", "type"]);
    }

    fn keys(value: impl Serialize) -> Vec<String> {
        match serde_json::to_value(value).unwrap() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        fields.sort();
        fields
    }

    #[test]
    fn the_selectable_fields_are_the_fields_answered() {
        let now = Timestamp::now();
        let membership = Membership {
            id: "m".into(),
            user: None,
            roles: vec![],
            user_id: "u".into(),
            created: now,
            is_guest: false,
            modified: now,
            created_by: "a".into(),
            modified_by: "a".into(),
            is_mfa_required: false,
            organization_id: 1,
            organization_name: "o".into(),
            is_membership_mfa_required: false,
            organization_display_name: "O".into(),
        };
        let organization = Organization {
            id: 1,
            name: "o".into(),
            organization_type: OrganizationType::Customer,
            aliases: vec![],
            contact: None,
            created: now,
            domains: vec![],
            members: vec![membership.clone()],
            is_active: true,
            modified: now,
            products: vec![],
            created_by: "a".into(),
            modified_by: "a".into(),
            display_name: "O".into(),
            applications: vec![],
            crm_account_id: "c".into(),
            is_mfa_required: false,
            is_self_service: false,
            subscriptions: vec![],
            technical_contact: None,
            is_enabled_for_preview_features: false,
            is_domain_verification_required: true,
            default_idp_tenant_id: None,
        };
        let mut answered = keys(&membership);
        answered.sort();
        assert_eq!(answered, sorted(MEMBERSHIP_FIELDS));
        let mut answered = keys(&organization);
        answered.sort();
        assert_eq!(answered, sorted(ORGANIZATION_FIELDS));
    }

    #[test]
    fn contact_edge() {
        let ok = UpdateOrganizationBody {
            contact: Some("c".repeat(250)),
            ..Default::default()
        };
        assert!(ok.into_changes().is_ok());
        let bad = UpdateOrganizationBody {
            contact: Some("c".repeat(251)),
            ..Default::default()
        };
        assert!(bad.into_changes().is_err());
    }
}
