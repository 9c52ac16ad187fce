//! A user enrolling a second factor themselves: the factors Auth0 can
//! enroll, the answer to an enrollment request, the body that confirms a
//! one-time password, and the `mfaEnrollmentStatus` values Nexus writes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Check, Len};
use crate::ValidationErrors;

/// `mfaEnrollmentStatus` once an enrollment ticket was made for the user.
pub const PENDING: &str = "Pending";
/// `mfaEnrollmentStatus` once Auth0 confirmed a one-time password of the
/// user's authenticator.
pub const ENROLLED: &str = "Enrolled";

/// A factor Auth0 enrolls (its `GuardianEnrollmentFactorEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MfaFactor {
    PushNotification,
    Phone,
    Email,
    Otp,
    WebauthnRoaming,
    WebauthnPlatform,
}

impl MfaFactor {
    /// The name Auth0 gives the factor.
    pub fn as_auth0(self) -> &'static str {
        match self {
            MfaFactor::PushNotification => "push-notification",
            MfaFactor::Phone => "phone",
            MfaFactor::Email => "email",
            MfaFactor::Otp => "otp",
            MfaFactor::WebauthnRoaming => "webauthn-roaming",
            MfaFactor::WebauthnPlatform => "webauthn-platform",
        }
    }
}

/// The answer to `POST /v1/me/mfa-enrollment` (CreateMfaEnrollment).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaEnrollmentTicket {
    /// Auth0's id of the enrollment ticket.
    pub ticket_id: Option<String>,
    /// Whether Auth0 e-mailed the enrollment link to the user.
    pub email_sent: bool,
    /// The enrollment link, answered only to an interactive request (it is
    /// e-mailed otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_url: Option<String>,
}

/// Body of `POST /v1/me/verify-enrollment-otp` (MeVerifyEnrollmentOtp).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyEnrollmentOtpBody {
    /// The MFA token Auth0 issued to the caller for the enrollment (a token
    /// for the tenant's MFA API with scope `enroll`).
    #[schema(required = true, value_type = String, min_length = 1, max_length = 8192)]
    pub access_token: Option<String>,
    /// The six-digit one-time password the caller's authenticator shows.
    #[schema(required = true, value_type = String, pattern = "^[0-9]{6}$")]
    pub otp: Option<String>,
    /// An out-of-band code: out-of-band factors are not supported, so it
    /// must be absent or null.
    #[schema(schema_with = null_only)]
    pub oob: Option<String>,
}

/// The schema of a field that may only be null.
fn null_only() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}

/// A checked one-time password and the MFA token it is offered with.
#[derive(Debug)]
pub struct OtpVerification {
    pub mfa_token: String,
    pub otp: String,
}

/// An MFA token is a JWT; 8 KiB is far above any Auth0 issues.
const MFA_TOKEN: Len = Len::between(1, 8192);

impl VerifyEnrollmentOtpBody {
    pub fn into_verification(self) -> Result<OtpVerification, ValidationErrors> {
        let mut check = Check::new();
        let mfa_token = check.required_text("accessToken", self.access_token, MFA_TOKEN);
        let otp = check.required("otp", self.otp);
        if let Some(otp) = &otp {
            if otp.len() != 6 || !otp.bytes().all(|b| b.is_ascii_digit()) {
                check.fail("otp", "must be the six digits the authenticator shows");
            }
        }
        if self.oob.is_some() {
            check.fail(
                "oob",
                "out-of-band factors are not supported: confirm an authenticator app's one-time password (otp)",
            );
        }
        check.finish_with(|| OtpVerification {
            mfa_token: mfa_token.expect("checked"),
            otp: otp.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(token: Option<&str>, otp: Option<&str>, oob: Option<&str>) -> VerifyEnrollmentOtpBody {
        VerifyEnrollmentOtpBody {
            access_token: token.map(str::to_owned),
            otp: otp.map(str::to_owned),
            oob: oob.map(str::to_owned),
        }
    }

    fn failed_fields(body: VerifyEnrollmentOtpBody) -> Vec<String> {
        let errors = body.into_verification().unwrap_err();
        errors.fields().keys().cloned().collect()
    }

    #[test]
    fn a_token_and_six_digits_verify() {
        let checked = body(Some("t.o.k"), Some("012345"), None)
            .into_verification()
            .unwrap();
        assert_eq!(
            (checked.mfa_token.as_str(), checked.otp.as_str()),
            ("t.o.k", "012345")
        );
    }

    #[test]
    fn every_missing_or_bad_field_is_named() {
        assert_eq!(
            failed_fields(body(None, None, None)),
            ["accessToken", "otp"]
        );
        for otp in ["12345", "1234567", "12345a", " 12345", "١٢٣٤٥٦"] {
            assert_eq!(
                failed_fields(body(Some("t"), Some(otp), None)),
                ["otp"],
                "{otp}"
            );
        }
        assert_eq!(
            failed_fields(body(Some(""), Some("123456"), None)),
            ["accessToken"]
        );
        assert_eq!(
            failed_fields(body(Some("t"), Some("123456"), Some("oob-code"))),
            ["oob"]
        );
    }

    #[test]
    fn factors_are_auth0s_names() {
        for name in [
            "push-notification",
            "phone",
            "email",
            "otp",
            "webauthn-roaming",
            "webauthn-platform",
        ] {
            let factor: MfaFactor = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(factor.as_auth0(), name);
        }
        assert!(serde_json::from_value::<MfaFactor>(serde_json::json!("sms")).is_err());
    }
}
