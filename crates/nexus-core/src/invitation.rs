//! Inviting people into an organization by e-mail address, one at a time
//! (InviteOrganizationMember) or many at once (ImportOrganizationMembers):
//! the bodies, the checked `Invitation` both come to, and the import job.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::import::ImportState;
use crate::validation::{Check, Len};
use crate::values::EmailAddress;
use crate::{Timestamp, ValidationErrors};

// InviteOrganizationMember: displayName max 250, givenName/familyName max 100.
const DISPLAY_NAME: Len = Len::between(1, 250);
const NAME: Len = Len::between(1, 100);
/// An Auth0 application's client id (as CreateUser's passwordCredential.clientId).
const CLIENT_ID: Len = crate::user::CLIENT_ID;

/// Body of `POST /v1/organizations/{organizationId}/members/invite`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteMemberBody {
    /// The address the person signs in with; a user who has it (whatever
    /// its case) is added, otherwise a user is created with it.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, format = Email, example = "justin@example.com")]
    pub email_address: Option<String>,
    /// The new user's display name; by default the given and family names,
    /// or else the address.
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    pub is_mfa_disabled: Option<bool>,
    /// Gives the membership the `organization-admin` role.
    pub make_admin: Option<bool>,
    /// The IdP tenant a new user is created in (numeric id, name,
    /// azoTenantName or loginDomain); by default the organization's
    /// `defaultIdpTenantId`.
    #[schema(min_length = 1, max_length = 200, example = "us-1")]
    pub idp_tenant_id: Option<String>,
    /// The Auth0 application the new user's set-your-password e-mail
    /// returns to; by default the tenant's Management client.
    #[schema(min_length = 1, max_length = 100)]
    pub client_id: Option<String>,
}

/// One row of `newMembers` in ImportOrganizationMembers: checked when the
/// import reaches it, not before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMemberRow {
    /// Required of the row: a row without a valid address is Refused when
    /// the import reaches it (each row is checked then, so that one bad row
    /// never stops the others).
    pub email_address: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub is_mfa_disabled: Option<bool>,
    pub make_admin: Option<bool>,
    /// The new user's recovery e-mail address.
    pub recovery_email: Option<String>,
}

/// The most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 10_000;
const JOB_ID: Len = Len::between(1, 100);
const FILENAME: Len = Len::between(1, 250);
const USER_ID: Len = Len::between(1, 40);

/// Body of `POST /v1/organizations/{organizationId}/members/import`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportMembersBody {
    /// The import's id, chosen by the client: sending the same id again
    /// answers the same import instead of starting another. Letters,
    /// digits, `.`, `_`, `~` and `-`.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9._~-]+$")]
    pub id: Option<String>,
    #[schema(required = true, value_type = String, format = DateTime)]
    pub import_date: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250)]
    pub import_filename: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 40)]
    pub importing_user_id: Option<String>,
    /// Must be the organization of the path. A JSON number with no
    /// fraction (`7` or `7.0`).
    #[schema(required = true, value_type = i32)]
    pub organization_id: Option<serde_json::Number>,
    /// At most 10,000 rows; each is checked as the import reaches it.
    #[schema(required = true, value_type = Vec<NewMemberRow>, max_items = 10000)]
    pub new_members: Option<Vec<NewMemberRow>>,
}

/// A checked import request.
#[derive(Debug, Clone)]
pub struct NewMemberImport {
    pub id: String,
    /// The organization the body names.
    pub organization_id: i32,
    pub import_date: Timestamp,
    pub import_filename: String,
    pub importing_user_id: String,
    pub rows: Vec<NewMemberRow>,
}

impl ImportMembersBody {
    /// Checks the request as a whole (the rows are checked one by one when
    /// the import reaches them). Whether `organizationId` is the path's is
    /// the caller's to check.
    pub fn into_new(self) -> Result<NewMemberImport, ValidationErrors> {
        let mut check = Check::new();
        let id = check.required_text("id", self.id, JOB_ID);
        if id.as_deref().is_some_and(|id| {
            !id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_~".contains(&b))
        }) {
            check.fail("id", "may hold only letters, digits, '.', '_', '~' and '-'");
        }
        let import_date = check.required("importDate", self.import_date);
        let import_date = check.parse("importDate", import_date, Timestamp::parse);
        let import_filename = check.required_text("importFilename", self.import_filename, FILENAME);
        let importing_user_id =
            check.required_text("importingUserId", self.importing_user_id, USER_ID);
        let organization_id = check.required("organizationId", self.organization_id);
        let organization_id = check.parse(
            "organizationId",
            organization_id.map(|n| n.to_string()),
            |text| {
                text.parse::<f64>()
                    .ok()
                    .filter(|n| {
                        n.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(n)
                    })
                    .map(|n| n as i32)
                    .ok_or_else(|| "must be a whole number in the range of int32".to_owned())
            },
        );
        let rows = check.required("newMembers", self.new_members);
        if rows.as_ref().is_some_and(|r| r.len() > MAX_IMPORT_ROWS) {
            check.fail(
                "newMembers",
                format!("at most {MAX_IMPORT_ROWS} rows per import"),
            );
        }
        check.finish_with(|| NewMemberImport {
            id: id.expect("checked"),
            organization_id: organization_id.expect("checked"),
            import_date: import_date.expect("checked"),
            import_filename: import_filename.expect("checked"),
            importing_user_id: importing_user_id.expect("checked"),
            rows: rows.expect("checked"),
        })
    }
}

/// An invitation, checked: what an invite's body and an import's row come to.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email_address: EmailAddress,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub is_mfa_disabled: bool,
    pub make_admin: bool,
    pub recovery_email_address: Option<EmailAddress>,
    /// The IdP tenant a new user is created in, as the body names it.
    pub idp_tenant: Option<String>,
    /// The application the set-your-password e-mail returns to.
    pub client_id: Option<String>,
}

impl Invitation {
    /// The new user's display name: the one given, else the given and
    /// family names, else the address.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.display_name {
            return name.clone();
        }
        let names: Vec<&str> = [&self.given_name, &self.family_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            self.email_address.as_str().to_owned()
        } else {
            names.join(" ")
        }
    }

    /// The address's domain, lower-cased: an e-mail address's domain is an
    /// ASCII DNS name already (an internationalized one in its IDNA form).
    pub fn domain(&self) -> String {
        let address = self.email_address.as_str();
        let (_, domain) = address.rsplit_once('@').expect("a checked address has '@'");
        domain.to_ascii_lowercase()
    }
}

impl InviteMemberBody {
    pub fn into_invitation(self) -> Result<Invitation, ValidationErrors> {
        let mut check = Check::new();
        let email = check.required("emailAddress", self.email_address);
        let email_address = check.parse("emailAddress", email, EmailAddress::parse);
        let display_name = check.text("displayName", self.display_name, DISPLAY_NAME);
        let given_name = check.text("givenName", self.given_name, NAME);
        let family_name = check.text("familyName", self.family_name, NAME);
        let idp_tenant = check.text("idpTenantId", self.idp_tenant_id, crate::user::TENANT_REF);
        let client_id = check.text("clientId", self.client_id, CLIENT_ID);
        check.finish_with(|| Invitation {
            email_address: email_address.expect("checked"),
            display_name,
            given_name,
            family_name,
            is_mfa_disabled: self.is_mfa_disabled.unwrap_or(false),
            make_admin: self.make_admin.unwrap_or(false),
            recovery_email_address: None,
            idp_tenant,
            client_id,
        })
    }
}

impl NewMemberRow {
    /// The row checked as an invitation's body is, plus its recovery address.
    pub fn into_invitation(self) -> Result<Invitation, ValidationErrors> {
        let mut check = Check::new();
        let recovery = check.parse("recoveryEmail", self.recovery_email, EmailAddress::parse);
        let body = InviteMemberBody {
            email_address: self.email_address,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            is_mfa_disabled: self.is_mfa_disabled,
            make_admin: self.make_admin,
            idp_tenant_id: None,
            client_id: None,
        };
        let invitation = body.into_invitation();
        match (invitation, check.finish()) {
            (Ok(invitation), Ok(())) => Ok(Invitation {
                recovery_email_address: recovery,
                ..invitation
            }),
            (Err(mut errors), Err(more)) => {
                for (field, messages) in more.fields() {
                    for message in messages {
                        errors.add(field, message.clone());
                    }
                }
                Err(errors)
            }
            (Err(errors), _) | (_, Err(errors)) => Err(errors),
        }
    }
}

/// What an invitation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum InviteResult {
    /// A user was created, a member of the organization.
    Created,
    /// The user with that address became a member.
    Added,
    /// The user with that address was a member already.
    AlreadyMember,
    /// Nothing was done; `detail` says why.
    Refused,
}

impl InviteResult {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteResult::Created => "Created",
            InviteResult::Added => "Added",
            InviteResult::AlreadyMember => "AlreadyMember",
            InviteResult::Refused => "Refused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            InviteResult::Created,
            InviteResult::Added,
            InviteResult::AlreadyMember,
            InviteResult::Refused,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// An import of members, as `GET …/members/imports/{id}` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberImport {
    pub id: String,
    pub organization_id: i32,
    pub status: ImportState,
    /// Rows in the import.
    pub total: i64,
    /// Rows the import has applied (or refused) so far.
    pub processed: i64,
    pub import_date: Timestamp,
    pub import_filename: String,
    pub importing_user_id: String,
    /// Every row, in the order given; `result` is null until the import
    /// reaches it.
    pub rows: Vec<MemberImportRow>,
    /// Why the import failed (status `Failed`).
    pub error: Option<String>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberImportRow {
    /// The row's address as given.
    pub email_address: Option<String>,
    pub result: Option<InviteResult>,
    /// Why the row was refused; null otherwise.
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(email: &str) -> NewMemberRow {
        NewMemberRow {
            email_address: Some(email.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn display_name_falls_back_to_names_then_address() {
        let mut invitation = row("Ada@Example.COM").into_invitation().unwrap();
        assert_eq!(invitation.display_name(), "Ada@Example.COM");
        assert_eq!(invitation.domain(), "example.com");
        invitation.family_name = Some("Lovelace".into());
        assert_eq!(invitation.display_name(), "Lovelace");
        invitation.given_name = Some("Ada".into());
        assert_eq!(invitation.display_name(), "Ada Lovelace");
    }

    #[test]
    fn a_row_reports_every_bad_field() {
        let bad = NewMemberRow {
            email_address: Some("not-an-address".into()),
            given_name: Some("g".repeat(101)),
            recovery_email: Some("nope".into()),
            ..Default::default()
        };
        let errors = bad.into_invitation().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["emailAddress", "givenName", "recoveryEmail"]);
    }

    #[test]
    fn an_import_is_for_the_path_s_organization_and_bounded() {
        let body = |organization_id, rows: usize| ImportMembersBody {
            id: Some("job-1".into()),
            import_date: Some("2026-01-02T03:04:05Z".into()),
            import_filename: Some("members.csv".into()),
            importing_user_id: Some("u1".into()),
            organization_id: Some(serde_json::Number::from(organization_id)),
            new_members: Some(vec![row("a@example.com"); rows]),
        };
        let mut whole = body(7, 1);
        whole.organization_id = serde_json::Number::from_f64(7.0);
        assert_eq!(whole.into_new().unwrap().organization_id, 7);
        let mut fraction = body(7, 1);
        fraction.organization_id = serde_json::Number::from_f64(7.5);
        assert!(fraction
            .into_new()
            .unwrap_err()
            .fields()
            .contains_key("organizationId"));
        let most = body(7, MAX_IMPORT_ROWS).into_new().unwrap();
        assert_eq!(
            (most.rows.len(), most.organization_id),
            (MAX_IMPORT_ROWS, 7)
        );
        let errors = body(8, MAX_IMPORT_ROWS + 1).into_new().unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(fields, ["newMembers"]);
        let mut slash = body(7, 1);
        slash.id = Some("a/b".into());
        assert!(slash.into_new().unwrap_err().fields().contains_key("id"));
    }
}
