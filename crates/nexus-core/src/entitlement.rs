//! Whether a login through an Auth0 client may use the application that
//! client runs: the `isEntitled` of `$sync`.

use std::collections::BTreeSet;

use crate::application_deployment::DeploymentStatus;
use crate::role::in_force;
use crate::subscription::SubscriptionStatus;
use crate::Timestamp;

/// An application that an Auth0 client runs, in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientApplication {
    pub idp_tenant_id: i32,
    pub application_id: i32,
}

/// The applications among `runs` that run in the tenant `idp_tenant_id`
/// (the tenant of the identity the user logs in with).
pub fn in_tenant(runs: &[ClientApplication], idp_tenant_id: i32) -> BTreeSet<i32> {
    runs.iter()
        .filter(|run| run.idp_tenant_id == idp_tenant_id)
        .map(|run| run.application_id)
        .collect()
}

/// Whether something is switched on, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub is_active: bool,
    pub expires: Option<Timestamp>,
}

impl Terms {
    /// A deployment lets its users in while `Active`.
    pub fn of_deployment(status: DeploymentStatus, expires: Option<Timestamp>) -> Terms {
        Terms {
            is_active: status == DeploymentStatus::Active,
            expires,
        }
    }

    /// A subscription lets its deployments' users in while enabled and
    /// `Active`.
    pub fn of_subscription(
        status: SubscriptionStatus,
        is_enabled: bool,
        expires: Option<Timestamp>,
    ) -> Terms {
        Terms {
            is_active: is_enabled && status == SubscriptionStatus::Active,
            expires,
        }
    }

    /// Whether it is active and unexpired at `now`.
    pub fn hold_at(&self, now: Timestamp) -> bool {
        self.is_active && in_force(self.expires, now)
    }
}

/// One of the user's assignments to an application deployment, with what
/// decides whether it lets the user in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub application_id: i32,
    /// The user's assignment to the deployment.
    pub assignment: Terms,
    /// The deployment: active when its status is `Active`.
    pub deployment: Terms,
    /// The subscription the deployment is under: active when it is enabled
    /// and its status is `Active`.
    pub subscription: Terms,
    /// The organization that holds the subscription.
    pub organization_id: i32,
}

/// `None` when the client runs no application Nexus manages
/// (`client_applications` is empty). Otherwise whether one of the user's
/// grants is for one of those applications, in one of the user's
/// organizations, with the assignment, the deployment and the subscription
/// all active and unexpired at `now`.
pub fn decide(
    client_applications: &BTreeSet<i32>,
    grants: &[Grant],
    organizations: &BTreeSet<i32>,
    now: Timestamp,
) -> Option<bool> {
    if client_applications.is_empty() {
        return None;
    }
    Some(grants.iter().any(|grant| {
        client_applications.contains(&grant.application_id)
            && organizations.contains(&grant.organization_id)
            && grant.assignment.hold_at(now)
            && grant.deployment.hold_at(now)
            && grant.subscription.hold_at(now)
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const APP: i32 = 7;
    const ORG: i32 = 3;

    pub(crate) fn now() -> Timestamp {
        Timestamp::parse("2026-06-01T12:00:00Z").unwrap()
    }

    pub(crate) fn open() -> Terms {
        Terms {
            is_active: true,
            expires: None,
        }
    }

    fn grant() -> Grant {
        Grant {
            application_id: APP,
            assignment: open(),
            deployment: open(),
            subscription: open(),
            organization_id: ORG,
        }
    }

    fn decide_one(grant: Grant) -> Option<bool> {
        decide(
            &BTreeSet::from([APP]),
            &[grant],
            &BTreeSet::from([ORG]),
            now(),
        )
    }

    #[test]
    fn a_client_of_no_application_decides_nothing() {
        assert_eq!(
            decide(&BTreeSet::new(), &[grant()], &BTreeSet::from([ORG]), now()),
            None
        );
    }

    #[test]
    fn an_assignment_in_force_entitles() {
        assert_eq!(decide_one(grant()), Some(true));
    }

    #[test]
    fn no_grant_is_no_entitlement() {
        let decision = decide(&BTreeSet::from([APP]), &[], &BTreeSet::from([ORG]), now());
        assert_eq!(decision, Some(false));
    }

    #[test]
    fn a_grant_for_another_application_does_not_count() {
        let other = Grant {
            application_id: APP + 1,
            ..grant()
        };
        assert_eq!(decide_one(other), Some(false));
    }

    #[test]
    fn any_of_the_clients_applications_counts() {
        let decision = decide(
            &BTreeSet::from([APP - 1, APP]),
            &[grant()],
            &BTreeSet::from([ORG]),
            now(),
        );
        assert_eq!(decision, Some(true));
    }

    #[test]
    fn the_subscription_must_be_one_of_the_users_organizations() {
        let elsewhere = Grant {
            organization_id: ORG + 1,
            ..grant()
        };
        assert_eq!(decide_one(elsewhere), Some(false));
    }

    /// Each of the three terms, inactive or expired (at `now` exactly:
    /// an expiry is the first moment without it), refuses; a future expiry
    /// does not.
    #[test]
    fn every_term_must_be_active_and_unexpired() {
        let inactive = Terms {
            is_active: false,
            expires: None,
        };
        let expired = Terms {
            is_active: true,
            expires: Some(now()),
        };
        let later = Terms {
            is_active: true,
            expires: Some(now().plus_seconds(1)),
        };
        type Set = fn(&mut Grant, Terms);
        let setters: [(&str, Set); 3] = [
            ("assignment", |g, t| g.assignment = t),
            ("deployment", |g, t| g.deployment = t),
            ("subscription", |g, t| g.subscription = t),
        ];
        for (name, set) in setters {
            for (terms, expected) in [(inactive, false), (expired, false), (later, true)] {
                let mut g = grant();
                set(&mut g, terms);
                assert_eq!(decide_one(g), Some(expected), "{name} {terms:?}");
            }
        }
    }

    #[test]
    fn only_active_deployments_and_enabled_active_subscriptions_are_active() {
        for status in DeploymentStatus::ALL {
            let terms = Terms::of_deployment(*status, None);
            assert_eq!(terms.is_active, *status == DeploymentStatus::Active);
        }
        for status in SubscriptionStatus::ALL {
            let active = *status == SubscriptionStatus::Active;
            assert_eq!(
                Terms::of_subscription(*status, true, None).is_active,
                active
            );
            assert!(!Terms::of_subscription(*status, false, None).is_active);
        }
    }

    #[test]
    fn a_client_runs_applications_in_its_own_tenant_only() {
        let runs = [
            ClientApplication {
                idp_tenant_id: 1,
                application_id: APP,
            },
            ClientApplication {
                idp_tenant_id: 2,
                application_id: APP + 1,
            },
        ];
        assert_eq!(in_tenant(&runs, 1), BTreeSet::from([APP]));
        assert_eq!(in_tenant(&runs, 3), BTreeSet::new());
    }

    #[test]
    fn one_good_grant_among_bad_ones_entitles() {
        let bad = Grant {
            deployment: Terms {
                is_active: false,
                expires: None,
            },
            ..grant()
        };
        let decision = decide(
            &BTreeSet::from([APP]),
            &[bad.clone(), grant(), bad],
            &BTreeSet::from([ORG]),
            now(),
        );
        assert_eq!(decision, Some(true));
    }
}
