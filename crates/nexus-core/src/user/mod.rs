//! A user: the stored record and the `User` it is read as (`model`), and the
//! bodies that create (`create`) and change (`patch`, and `me` for a user's
//! own profile) one, checked by rules they share where they agree
//! (`profile`).

mod create;
mod me;
mod model;
mod patch;
mod profile;

pub use create::{
    AccountOptions, CreateUserBody, IdpMetadata, NewUser, OrganizationRef, PasswordCredential,
    APPLICATION_REF, AZO_DATABASE_NAME, CLIENT_ID, TENANT_REF,
};
pub use me::UpdateMeProfileBody;
pub use model::{Attribute, User, UserCollections, UserRecord, UserRole};
pub use patch::{PatchUserBody, UserChanges};

#[cfg(test)]
mod tests {
    use super::create::tests::minimal;
    use super::*;

    #[test]
    fn display_name_limits_differ_between_create_and_patch() {
        let mut body = minimal();
        body.display_name = Some("d".repeat(250));
        assert!(body.into_new().is_ok());
        let patch = PatchUserBody {
            display_name: Some("d".repeat(201)),
            ..Default::default()
        };
        assert_eq!(
            patch.into_changes().unwrap_err().fields()["displayName"],
            ["must be at most 200 characters long"]
        );
    }

    #[test]
    fn pushed_names_are_never_empty() {
        let patch = PatchUserBody {
            given_name: Some(String::new()),
            family_name: Some("f".repeat(100)),
            nickname: Some(String::new()),
            ..Default::default()
        };
        let errors = patch.into_changes().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["givenName", "nickname"]);
        let mut body = minimal();
        body.family_name = Some(String::new());
        assert_eq!(
            body.into_new().unwrap_err().fields()["familyName"],
            ["must not be empty"]
        );
    }
}
