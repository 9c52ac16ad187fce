use serde::Deserialize;
use utoipa::ToSchema;

use super::profile::{Profile, ProfileInput};
use crate::validation::{Check, Len};
use crate::values::{EmailAddress, PhoneNumber};
use crate::{Timestamp, ValidationErrors};

const PATCH_DISPLAY_NAME: Len = Len::between(1, 200); // PatchUser: max 200

/// Body of `PATCH /v1/users/{userId}` (PatchUser): absent or null fields are left as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchUserBody {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub nickname: Option<String>,
    #[schema(max_length = 250, format = "uri")]
    pub picture: Option<String>,
    #[schema(min_length = 1, max_length = 35)]
    pub language: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub username: Option<String>,
    /// A new password for the user's Auth0 database account, set there
    /// (Nexus never stores it); needs the `user.password` permission besides
    /// `user.write`. Auth0's password policy applies (422 quoting Auth0).
    #[schema(min_length = 1, max_length = 512, format = Password)]
    pub password: Option<crate::idp_tenant::Secret>,
    #[schema(example = "+14155550123")]
    pub phone_number: Option<String>,
    /// A new address (unique among users, whatever its case). It is
    /// unverified again — unless `emailVerified` says otherwise — and reaches
    /// the user's Auth0 database accounts, which e-mail it a verification
    /// link (the status becomes `Pending` when they have).
    #[schema(max_length = 250, format = Email, example = "justin@example.com")]
    pub email_address: Option<String>,
    /// An administrator's block; a blocked user is not active.
    pub is_blocked: Option<bool>,
    pub email_verified: Option<bool>,
    #[schema(format = DateTime)]
    pub email_verify_sent_date: Option<String>,
    pub is_mfa_disabled: Option<bool>,
    #[schema(min_length = 1, max_length = 50)]
    pub mfa_enrollment_status: Option<String>,
    #[schema(max_length = 250, format = Email)]
    pub recovery_email_address: Option<String>,
}

/// Checked user changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub language: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<PhoneNumber>,
    pub email_address: Option<EmailAddress>,
    pub is_active: Option<bool>,
    pub email_verified: Option<bool>,
    pub email_verify_sent_date: Option<Timestamp>,
    pub is_mfa_disabled: Option<bool>,
    pub mfa_enrollment_status: Option<String>,
    pub recovery_email_address: Option<EmailAddress>,
}

impl PatchUserBody {
    pub fn into_changes(self) -> Result<UserChanges, ValidationErrors> {
        let mut check = Check::new();
        if let Some(password) = &self.password {
            check.text(
                "password",
                Some(password.expose().to_owned()),
                crate::idp_tenant::Secret::LEN,
            );
        }
        let display_name = check.text("displayName", self.display_name, PATCH_DISPLAY_NAME);
        let email_address = check.parse("emailAddress", self.email_address, EmailAddress::parse);
        let email_verify_sent_date = check.parse(
            "emailVerifySentDate",
            self.email_verify_sent_date,
            Timestamp::parse,
        );
        let profile = Profile::check(
            &mut check,
            ProfileInput {
                given_name: self.given_name,
                family_name: self.family_name,
                nickname: self.nickname,
                picture: self.picture,
                language: self.language,
                username: self.username,
                phone_number: self.phone_number,
                mfa_enrollment_status: self.mfa_enrollment_status,
                recovery_email_address: self.recovery_email_address,
            },
        );
        check.finish_with(|| UserChanges {
            display_name,
            given_name: profile.given_name,
            family_name: profile.family_name,
            nickname: profile.nickname,
            picture: profile.picture,
            language: profile.language,
            username: profile.username,
            phone_number: profile.phone_number,
            email_address,
            is_active: self.is_blocked.map(|blocked| !blocked),
            email_verified: self.email_verified,
            email_verify_sent_date,
            is_mfa_disabled: self.is_mfa_disabled,
            mfa_enrollment_status: profile.mfa_enrollment_status,
            recovery_email_address: profile.recovery_email_address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_means_inactive() {
        let patch = PatchUserBody {
            is_blocked: Some(true),
            ..Default::default()
        };
        assert_eq!(patch.into_changes().unwrap().is_active, Some(false));
    }
}
