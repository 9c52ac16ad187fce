use crate::validation::{Check, Len};
use crate::values::{EmailAddress, HttpUrl, PhoneNumber};

// Limits: the reference's PatchUser/UpdateMeProfile where they state one;
// Auth0's user limits (seed 004) or a stated Nexus cap where they do not.
// Fields pushed to Auth0 must also meet its limits (seed 004), or every push
// of the user would be refused: given_name/family_name 1-150, nickname 1-300,
// name 1-300 (displayName), picture a strict URI.
const PERSON_NAME: Len = Len::between(1, 100); // PatchUser: max 100; Auth0: min 1
const NICKNAME: Len = Len::between(1, 100); // UpdateMeProfile: max 100; Auth0: min 1
const PICTURE_MAX: usize = 250; // UpdateMeProfile: max 250
const USERNAME: Len = Len::between(1, 128); // seed 004: 1-128
const LANGUAGE: Len = Len::between(1, 35);
const MFA_STATUS: Len = Len::between(1, 50);

/// The profile fields create and patch share, with one set of rules.
pub(super) struct ProfileInput {
    pub(super) given_name: Option<String>,
    pub(super) family_name: Option<String>,
    pub(super) nickname: Option<String>,
    pub(super) picture: Option<String>,
    pub(super) language: Option<String>,
    pub(super) username: Option<String>,
    pub(super) phone_number: Option<String>,
    pub(super) mfa_enrollment_status: Option<String>,
    pub(super) recovery_email_address: Option<String>,
}

pub(super) struct Profile {
    pub(super) given_name: Option<String>,
    pub(super) family_name: Option<String>,
    pub(super) nickname: Option<String>,
    pub(super) picture: Option<String>,
    pub(super) language: Option<String>,
    pub(super) username: Option<String>,
    pub(super) phone_number: Option<PhoneNumber>,
    pub(super) mfa_enrollment_status: Option<String>,
    pub(super) recovery_email_address: Option<EmailAddress>,
}

impl Profile {
    pub(super) fn check(check: &mut Check, input: ProfileInput) -> Profile {
        Profile {
            given_name: check.text("givenName", input.given_name, PERSON_NAME),
            family_name: check.text("familyName", input.family_name, PERSON_NAME),
            nickname: check.text("nickname", input.nickname, NICKNAME),
            picture: check.parse("picture", input.picture, |p| {
                HttpUrl::parse(p, PICTURE_MAX).map(HttpUrl::into_inner)
            }),
            language: check.text("language", input.language, LANGUAGE),
            username: check.text("username", input.username, USERNAME),
            phone_number: check.parse("phoneNumber", input.phone_number, PhoneNumber::parse),
            mfa_enrollment_status: check.text(
                "mfaEnrollmentStatus",
                input.mfa_enrollment_status,
                MFA_STATUS,
            ),
            recovery_email_address: check.parse(
                "recoveryEmailAddress",
                input.recovery_email_address,
                EmailAddress::parse,
            ),
        }
    }
}
