//! The caller's own user: what a user's access token reads and changes of
//! itself. The user is always the token's, never one the request names.

use nexus_core::identity::Identity;
use nexus_core::mfa_enrollment::{
    MfaEnrollmentTicket, MfaFactor, VerifyEnrollmentOtpBody, ENROLLED, PENDING,
};
use nexus_core::user::{UpdateMeProfileBody, User, UserChanges};
use nexus_core::Actor;

use crate::{auth0, users, Nexus, Result, ServiceError};

/// The caller's user.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn get(nexus: &Nexus, actor: &Actor) -> Result<User> {
    users::get(nexus, caller(actor)?).await.map_err(gone)
}

/// UpdateMeProfile: PatchUser's write, limited to the profile fields a user
/// keeps themselves.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn update_profile(
    nexus: &Nexus,
    actor: &Actor,
    body: UpdateMeProfileBody,
) -> Result<User> {
    let user_id = caller(actor)?;
    let changes = body.into_changes()?;
    users::apply(nexus, actor, user_id, changes, false)
        .await
        .map_err(gone)
}

/// CreateMfaEnrollment: Auth0 makes a link that enrolls the caller's Auth0
/// account (the one whose token calls) in a second factor, e-mailed to the
/// caller unless `interactive`, when it is answered instead. The caller's
/// `mfaEnrollmentStatus` becomes `Pending`, unless it is `Enrolled`
/// already (a second authenticator leaves the first in place).
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create_mfa_enrollment(
    nexus: &Nexus,
    actor: &Actor,
    factor: Option<MfaFactor>,
    interactive: bool,
) -> Result<MfaEnrollmentTicket> {
    let user_id = caller(actor)?;
    let (user, identity) = token_account(nexus, actor, user_id).await?;
    let send_mail = !interactive;
    let ticket = auth0::create_enrollment_ticket(
        nexus,
        &identity,
        send_mail,
        factor.map(MfaFactor::as_auth0),
    )
    .await?;
    // Recorded (and audited) either way: the ticket is the request's effect.
    let status = match user.mfa_enrollment_status.as_deref() {
        Some(ENROLLED) => ENROLLED,
        _ => PENDING,
    };
    set_status(nexus, actor, user_id, status).await?;
    Ok(MfaEnrollmentTicket {
        ticket_id: ticket.ticket_id,
        email_sent: send_mail,
        ticket_url: if interactive { ticket.ticket_url } else { None },
    })
}

/// MeVerifyEnrollmentOtp: Auth0 checks the one-time password offered with
/// the MFA token it issued for the enrollment, which confirms the
/// authenticator; the caller's `mfaEnrollmentStatus` becomes `Enrolled`.
/// The MFA token must be one of the caller's own account (its subject):
/// nobody confirms their enrollment with someone else's.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn verify_enrollment_otp(
    nexus: &Nexus,
    actor: &Actor,
    body: VerifyEnrollmentOtpBody,
) -> Result<User> {
    let user_id = caller(actor)?;
    let verification = body.into_verification()?;
    let (_, identity) = token_account(nexus, actor, user_id).await?;
    // Auth0 verifies the token's signature when it checks the code: a token
    // whose subject was changed to the caller's fails there.
    if mfa_token_subject(&verification.mfa_token).as_deref() != Some(&identity.azo_user_id) {
        return Err(ServiceError::NotTheCallers(format!(
            "accessToken is not an MFA token issued to your Auth0 account ({}): only your own enrollment can be confirmed",
            identity.azo_user_id
        )));
    }
    auth0::verify_mfa_otp(nexus, &identity, &verification.mfa_token, &verification.otp).await?;
    set_status(nexus, actor, user_id, ENROLLED).await
}

/// The subject (`sub`) an MFA token (a JWT) names, read without checking
/// its signature.
fn mfa_token_subject(token: &str) -> Option<String> {
    let decoded = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(token).ok()?;
    decoded.claims["sub"].as_str().map(str::to_owned)
}

/// The caller and its Auth0 account in the tenant whose token it called with.
async fn token_account(nexus: &Nexus, actor: &Actor, user_id: &str) -> Result<(User, Identity)> {
    let user = users::get(nexus, user_id).await.map_err(gone)?;
    let identity = user
        .identities
        .iter()
        .find(|identity| Some(identity.idp_tenant_id) == actor.tenant_id)
        .cloned()
        // The token's account was unlinked after the token was verified.
        .ok_or(ServiceError::CallerGone)?;
    Ok((user, identity))
}

async fn set_status(nexus: &Nexus, actor: &Actor, user_id: &str, status: &str) -> Result<User> {
    let changes = UserChanges {
        mfa_enrollment_status: Some(status.to_owned()),
        ..UserChanges::default()
    };
    users::apply(nexus, actor, user_id, changes, false)
        .await
        .map_err(gone)
}

fn caller(actor: &Actor) -> Result<&str> {
    actor.user_id().ok_or(ServiceError::NotAUser)
}

/// The user was deleted after its token was verified: the credentials now
/// name no one, as they would have had the deletion come first.
fn gone(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::NotFound { .. } => ServiceError::CallerGone,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_caller_is_no_one_else_is_kept() {
        let vanished = gone(ServiceError::not_found("user", "u1"));
        assert!(matches!(vanished, ServiceError::CallerGone), "{vanished}");
        let conflict = gone(ServiceError::Conflict("taken".to_owned()));
        assert!(matches!(conflict, ServiceError::Conflict(_)), "{conflict}");
    }

    #[test]
    fn an_mfa_tokens_subject_is_read_from_its_claims() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let token = format!(
            "{}.{}.c2ln",
            part(r#"{"alg":"RS256","typ":"JWT"}"#),
            part(r#"{"sub":"auth0|ada","aud":"https://t/mfa/"}"#)
        );
        assert_eq!(mfa_token_subject(&token).as_deref(), Some("auth0|ada"));
        assert_eq!(mfa_token_subject("opaque-token"), None);
        let no_subject = format!("{}.{}.c2ln", part(r#"{"alg":"RS256"}"#), part("{}"));
        assert_eq!(mfa_token_subject(&no_subject), None);
    }

    #[test]
    fn only_a_user_is_a_caller() {
        let mut actor = Actor::system("test");
        assert!(matches!(caller(&actor), Err(ServiceError::NotAUser)));
        actor.kind = nexus_core::audit::ActorType::User;
        actor.id = "u1".to_owned();
        assert_eq!(caller(&actor).unwrap(), "u1");
    }
}
