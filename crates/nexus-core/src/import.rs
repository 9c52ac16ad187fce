//! Importing an Auth0 tenant's users: the job (`ImportJob`), what it
//! reports, and how one Auth0 user is matched to Nexus (`Match`, decided in
//! the service from what the database holds).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{Check, Len};
use crate::{Timestamp, ValidationErrors};

/// At most this many conflicts are listed; `conflictCount` counts them all.
pub const CONFLICTS_LISTED: usize = 1000;

/// An organization named by id or name in a body.
pub const ORGANIZATION: Len = Len::between(1, 250);

/// An import of a tenant's users, as `GET …/imports/{jobId}` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportJob {
    pub id: String,
    /// The tenant's name.
    pub idp_tenant_id: String,
    pub state: ImportState,
    /// Reports what the import would do, and writes nothing.
    pub dry_run: bool,
    /// The organization users the import creates join.
    pub organization_id: i32,
    pub progress: ImportProgress,
    /// Why the import failed (state `Failed`).
    pub error: Option<String>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ImportState {
    Queued,
    Running,
    Completed,
    Failed,
}

impl ImportState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ImportState::Queued => "Queued",
            ImportState::Running => "Running",
            ImportState::Completed => "Completed",
            ImportState::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<ImportState> {
        [
            ImportState::Queued,
            ImportState::Running,
            ImportState::Completed,
            ImportState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Whether the import has ended.
    pub fn is_final(&self) -> bool {
        matches!(self, ImportState::Completed | ImportState::Failed)
    }
}

/// What the import has done so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportProgress {
    /// Auth0 users read from the export.
    pub read: u64,
    /// New Nexus users, each linked to its Auth0 user.
    pub created: u64,
    /// Existing Nexus users newly linked.
    pub linked: u64,
    /// Auth0 users linked already.
    pub unchanged: u64,
    /// Auth0 users the import cannot handle (no id, no connection, a
    /// connection Auth0 does not list); each is a conflict too.
    pub skipped: u64,
    /// Auth0 users the import would not link, and why; the first
    /// `CONFLICTS_LISTED`.
    pub conflicts: Vec<ImportConflict>,
    /// Every conflict, listed or not.
    pub conflict_count: u64,
}

impl ImportProgress {
    pub fn add(&mut self, outcome: &Outcome) {
        self.read += 1;
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Linked => self.linked += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Conflict(conflict) => self.conflict(conflict.clone()),
            Outcome::Skipped(conflict) => {
                self.skipped += 1;
                self.conflict(conflict.clone());
            }
        }
    }

    fn conflict(&mut self, conflict: ImportConflict) {
        self.conflict_count += 1;
        if self.conflicts.len() < CONFLICTS_LISTED {
            self.conflicts.push(conflict);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportConflict {
    pub azo_user_id: Option<String>,
    pub email: Option<String>,
    pub reason: String,
}

/// What became of one Auth0 user.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Created,
    Linked,
    Unchanged,
    Conflict(ImportConflict),
    Skipped(ImportConflict),
}

/// Body of `POST /v1/idp_tenants/{idpTenantId}/imports`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartImportBody {
    /// The organization users the import creates join: its id or its name,
    /// as in CreateUser.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "acme")]
    pub organization: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartImportQuery {
    /// Report what the import would do, and write nothing.
    pub dry_run: Option<bool>,
}

impl StartImportBody {
    /// The organization's reference.
    pub fn into_organization(self) -> Result<String, ValidationErrors> {
        let mut check = Check::new();
        let organization = check.required_text("organization", self.organization, ORGANIZATION);
        check.finish_with(|| organization.expect("checked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(n: u64) -> ImportConflict {
        ImportConflict {
            azo_user_id: Some(format!("auth0|{n}")),
            email: None,
            reason: "r".to_owned(),
        }
    }

    #[test]
    fn conflicts_are_counted_all_and_listed_up_to_the_limit() {
        let mut progress = ImportProgress::default();
        for n in 0..(CONFLICTS_LISTED as u64 + 5) {
            progress.add(&Outcome::Conflict(conflict(n)));
        }
        progress.add(&Outcome::Skipped(conflict(0)));
        progress.add(&Outcome::Created);
        assert_eq!(progress.conflicts.len(), CONFLICTS_LISTED);
        assert_eq!(progress.conflict_count, CONFLICTS_LISTED as u64 + 6);
        assert_eq!(
            (progress.read, progress.skipped, progress.created),
            (CONFLICTS_LISTED as u64 + 7, 1, 1)
        );
    }

    #[test]
    fn states_read_back() {
        for state in [
            ImportState::Queued,
            ImportState::Running,
            ImportState::Completed,
            ImportState::Failed,
        ] {
            assert_eq!(ImportState::parse(state.as_str()), Some(state));
        }
        assert!(ImportState::Failed.is_final() && !ImportState::Running.is_final());
    }
}
