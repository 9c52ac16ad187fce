use serde::Serialize;
use utoipa::ToSchema;

use crate::application_deployment::ApplicationDeployment;
use crate::custom_upn::CustomUpn;
use crate::identity::Identity;
use crate::organization::{Membership, Organization};
use crate::values::AuthenticationMethod;
use crate::{Audit, Timestamp};

/// A person in the directory, as `$sync` answers it in `user`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    /// The owning user, one level deep (its own `owner` is null and its
    /// collections are empty).
    #[schema(no_recursion)]
    pub owner: Option<Box<User>>,
    pub roles: Vec<UserRole>,
    pub created: Timestamp,
    pub owner_id: Option<String>,
    pub picture: Option<String>,
    pub is_active: bool,
    pub language: Option<String>,
    pub member_of: Vec<Membership>,
    pub modified: Timestamp,
    pub nickname: Option<String>,
    pub username: Option<String>,
    pub created_by: String,
    pub given_name: Option<String>,
    pub attributes: Vec<Attribute>,
    pub custom_upns: Vec<CustomUpn>,
    pub family_name: Option<String>,
    pub identities: Vec<Identity>,
    pub modified_by: String,
    pub display_name: String,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    pub organization: Option<Organization>,
    pub is_mfa_disabled: bool,
    /// The subscriptions of the application deployments the user is
    /// assigned to (their own `applicationDeployments` and `logs` empty).
    pub subscriptions: Vec<crate::subscription::Subscription>,
    #[serde(rename = "email-verified")]
    pub email_verified: bool,
    pub organization_id: Option<i32>,
    pub mfa_enrollment_status: Option<String>,
    pub authentication_method: AuthenticationMethod,
    pub recovery_email_address: Option<String>,
    /// The application deployments the user is assigned to.
    pub application_deployments: Vec<ApplicationDeployment>,
    #[serde(rename = "email-verify-sent-date")]
    pub email_verify_sent_date: Option<Timestamp>,
    /// `Verified`, `Pending` (a verification email was sent) or `Unverified`.
    #[serde(rename = "email-verification-status-type")]
    pub email_verification_status_type: String,
}

/// A role the user holds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRole {
    pub id: String,
    pub name: String,
    pub expires: Option<Timestamp>,
    pub description: Option<String>,
}

/// An attribute asserted by the IdP at login.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub id: i32,
    pub name: String,
    pub value: String,
    pub user_id: String,
    pub expires: Option<Timestamp>,
}

/// The scalar part of a user, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub user_type: Option<String>,
    pub owner_id: Option<String>,
    pub organization_id: Option<i32>,
    pub display_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub username: Option<String>,
    pub picture: Option<String>,
    pub language: Option<String>,
    pub email_address: Option<String>,
    pub email_verified: bool,
    pub email_verify_sent_date: Option<Timestamp>,
    pub phone_number: Option<String>,
    pub phone_verified: bool,
    pub recovery_email_address: Option<String>,
    pub is_active: bool,
    pub is_mfa_disabled: bool,
    pub mfa_enrollment_status: Option<String>,
    pub authentication_method: AuthenticationMethod,
    pub audit: Audit,
}

/// The embedded collections of a user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserCollections {
    pub roles: Vec<UserRole>,
    pub member_of: Vec<Membership>,
    pub attributes: Vec<Attribute>,
    pub custom_upns: Vec<CustomUpn>,
    pub identities: Vec<Identity>,
    pub organization: Option<Organization>,
    pub application_deployments: Vec<ApplicationDeployment>,
    pub subscriptions: Vec<crate::subscription::Subscription>,
}

impl User {
    pub fn assemble(
        record: UserRecord,
        collections: UserCollections,
        owner: Option<UserRecord>,
    ) -> User {
        let owner = owner.map(|o| Box::new(User::assemble(o, UserCollections::default(), None)));
        let status = match (record.email_verified, record.email_verify_sent_date) {
            (true, _) => "Verified",
            (false, Some(_)) => "Pending",
            (false, None) => "Unverified",
        };
        User {
            id: record.id,
            user_type: record.user_type,
            owner,
            roles: collections.roles,
            created: record.audit.created,
            owner_id: record.owner_id,
            picture: record.picture,
            is_active: record.is_active,
            language: record.language,
            member_of: collections.member_of,
            modified: record.audit.modified,
            nickname: record.nickname,
            username: record.username,
            created_by: record.audit.created_by,
            given_name: record.given_name,
            attributes: collections.attributes,
            custom_upns: collections.custom_upns,
            family_name: record.family_name,
            identities: collections.identities,
            modified_by: record.audit.modified_by,
            display_name: record.display_name,
            phone_number: record.phone_number,
            email_address: record.email_address,
            organization: collections.organization,
            is_mfa_disabled: record.is_mfa_disabled,
            subscriptions: collections.subscriptions,
            email_verified: record.email_verified,
            organization_id: record.organization_id,
            mfa_enrollment_status: record.mfa_enrollment_status,
            authentication_method: record.authentication_method,
            recovery_email_address: record.recovery_email_address,
            application_deployments: collections.application_deployments,
            email_verify_sent_date: record.email_verify_sent_date,
            email_verification_status_type: status.to_owned(),
        }
    }
}
