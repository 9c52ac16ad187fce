//! Whether a login must use MFA. `$sync` answers it; the post-login Action
//! only acts on the answer.

use crate::user::User;

/// Whether `user` must use MFA to log in: their primary organization or one
/// of their memberships requires it, and the user is not exempt
/// (`isMfaDisabled`). A membership requires it when the membership itself
/// or its organization does (its `isMfaRequired`).
pub fn required(user: &User) -> bool {
    rule(
        user.is_mfa_disabled,
        user.organization
            .as_ref()
            .is_some_and(|o| o.is_mfa_required),
        user.member_of.iter().map(|m| m.is_mfa_required),
    )
}

fn rule(exempt: bool, organization: bool, mut memberships: impl Iterator<Item = bool>) -> bool {
    !exempt && (organization || memberships.any(|required| required))
}

#[cfg(test)]
mod tests {
    use super::rule;

    fn required(exempt: bool, organization: bool, memberships: &[bool]) -> bool {
        rule(exempt, organization, memberships.iter().copied())
    }

    #[test]
    fn the_primary_organization_alone_requires_it() {
        assert!(required(false, true, &[]));
        assert!(required(false, true, &[false, false]));
    }

    #[test]
    fn any_one_membership_requires_it() {
        assert!(required(false, false, &[true]));
        assert!(required(false, false, &[false, true, false]));
    }

    #[test]
    fn nothing_that_requires_it_means_no_mfa() {
        assert!(!required(false, false, &[]));
        assert!(!required(false, false, &[false, false]));
    }

    #[test]
    fn an_exempt_user_never_needs_it() {
        assert!(!required(true, true, &[true, true]));
        assert!(!required(true, false, &[true]));
        assert!(!required(true, true, &[]));
        assert!(!required(true, false, &[]));
    }
}
