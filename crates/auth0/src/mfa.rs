//! Multi-factor enrollment: Guardian enrollment tickets, a user's
//! enrollments, and the tokens the MFA API's `mfa-otp` grant answers.

use serde::Deserialize;

/// `CreateGuardianEnrollmentTicketResponseContent`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EnrollmentTicket {
    pub ticket_id: Option<String>,
    /// The link that enrolls the user; e-mailed to them with `send_mail`.
    pub ticket_url: Option<String>,
}

/// `UsersEnrollment`: one of a user's MFA enrollments.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Enrollment {
    pub id: Option<String>,
    /// `pending` or `confirmed`.
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `authenticator`, `guardian`, `sms`, `webauthn-platform` or `webauthn-roaming`.
    pub auth_method: Option<String>,
    pub enrolled_at: Option<String>,
}

/// What a successful `mfa-otp` grant answers. The token is never printed.
#[derive(Clone, Deserialize)]
pub struct MfaTokens {
    pub access_token: String,
    pub scope: Option<String>,
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for MfaTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaTokens")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
