//! The caller's own user: what a user's access token reads and changes of
//! itself. The user is always the token's, never one the request names.

use nexus_core::user::{UpdateMeProfileBody, User};
use nexus_core::Actor;

use crate::{users, Nexus, Result, ServiceError};

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
    fn only_a_user_is_a_caller() {
        let mut actor = Actor::system("test");
        assert!(matches!(caller(&actor), Err(ServiceError::NotAUser)));
        actor.kind = nexus_core::audit::ActorType::User;
        actor.id = "u1".to_owned();
        assert_eq!(caller(&actor).unwrap(), "u1");
    }
}
