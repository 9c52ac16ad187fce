//! Reconciling an Auth0 tenant with Nexus (drift): the job
//! (`ReconciliationJob`) and what it reports — the linked Auth0 users that
//! differ from what Nexus pushes, and those that vanished from Auth0.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::import::ImportState;
use crate::Timestamp;

/// At most this many differences, and this many vanished identities, are
/// listed; `differenceCount` and `vanished` count them all.
pub const LISTED: usize = 100;

/// A reconciliation of a tenant, as `GET …/reconciliations/{jobId}` answers
/// it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationJob {
    pub id: String,
    /// The tenant's name.
    pub idp_tenant_id: String,
    /// `Queued`, `Running`, `Completed` or `Failed` (as an import's).
    pub state: ImportState,
    pub report: ReconciliationReport,
    /// Why the reconciliation failed (state `Failed`).
    pub error: Option<String>,
    pub created: Timestamp,
    /// Who started it: an API key, a user, or `reconcile-schedule`.
    pub created_by: String,
    pub modified: Timestamp,
}

/// What the reconciliation has found so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationReport {
    /// Auth0 users read from the export.
    pub read: u64,
    /// Lines of the export that are not users (not compared).
    pub unreadable: u64,
    /// Auth0 users linked to a Nexus user, compared with what Nexus pushes.
    pub checked: u64,
    /// Linked Auth0 users that hold what Nexus pushes.
    pub in_sync: u64,
    /// Linked Auth0 users that differ; each is pushed again.
    pub drifted: u64,
    /// Identities whose Auth0 user is not in the tenant (each marked with
    /// `missingInAuth0Since`, never deleted).
    pub vanished: u64,
    /// Identities marked missing earlier whose Auth0 user is back (the
    /// mark is cleared).
    pub reappeared: u64,
    /// The first `LISTED` differences, a field each.
    pub differences: Vec<Difference>,
    /// Every difference, listed or not.
    pub difference_count: u64,
    /// The first `LISTED` vanished identities.
    pub vanished_identities: Vec<VanishedIdentity>,
}

impl ReconciliationReport {
    /// One linked Auth0 user compared: its differences, if any.
    pub fn checked(&mut self, differences: Vec<Difference>) {
        self.checked += 1;
        if differences.is_empty() {
            self.in_sync += 1;
            return;
        }
        self.drifted += 1;
        for difference in differences {
            self.difference_count += 1;
            if self.differences.len() < LISTED {
                self.differences.push(difference);
            }
        }
    }

    pub fn vanished(&mut self, identity: VanishedIdentity) {
        self.vanished += 1;
        if self.vanished_identities.len() < LISTED {
            self.vanished_identities.push(identity);
        }
    }
}

/// A field of a linked Auth0 user that is not what Nexus pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The Nexus user.
    pub user_id: String,
    pub azo_user_id: String,
    /// The Auth0 field: `app_metadata.nexus_user_id`,
    /// `app_metadata.custom_upns`, `blocked`, `name`, `given_name`,
    /// `family_name`, `nickname` or `picture`.
    #[schema(example = "app_metadata.custom_upns")]
    pub field: String,
    /// What Auth0 holds (null: nothing).
    pub auth0: Value,
    /// What Nexus pushes (null: nothing).
    pub nexus: Value,
}

/// An identity whose Auth0 user is not in the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VanishedIdentity {
    pub user_id: String,
    pub azo_user_id: String,
    /// When a reconciliation first found it missing.
    pub missing_in_auth0_since: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(n: usize) -> Difference {
        Difference {
            user_id: format!("u{n}"),
            azo_user_id: format!("auth0|{n}"),
            field: "blocked".to_owned(),
            auth0: Value::Bool(true),
            nexus: Value::Bool(false),
        }
    }

    #[test]
    fn differences_are_counted_all_and_listed_up_to_the_limit() {
        let mut report = ReconciliationReport::default();
        report.checked(Vec::new());
        for n in 0..LISTED {
            report.checked(vec![difference(n), difference(n)]);
        }
        assert_eq!(
            (report.checked, report.in_sync, report.drifted),
            (LISTED as u64 + 1, 1, LISTED as u64)
        );
        assert_eq!(report.differences.len(), LISTED);
        assert_eq!(report.difference_count, 2 * LISTED as u64);
        for n in 0..=LISTED {
            report.vanished(VanishedIdentity {
                user_id: format!("u{n}"),
                azo_user_id: format!("auth0|{n}"),
                missing_in_auth0_since: Timestamp::now(),
            });
        }
        assert_eq!(report.vanished, LISTED as u64 + 1);
        assert_eq!(report.vanished_identities.len(), LISTED);
    }
}
