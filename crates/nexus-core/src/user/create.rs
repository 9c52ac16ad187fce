use serde::Deserialize;
use utoipa::ToSchema;

use super::profile::{Profile, ProfileInput};
use crate::identity::{AZO_CONNECTION_ID_LEN, AZO_USER_ID_LEN};
use crate::role::role_ids;
use crate::validation::{check_text, Check, Len};
use crate::values::{AuthenticationMethod, EmailAddress, OrganizationIdType, PhoneNumber};
use crate::ValidationErrors;

// Limits: the reference's CreateUser where it states one, a stated Nexus cap
// where it does not.
const CREATE_DISPLAY_NAME: Len = Len::between(1, 250); // CreateUser: 1-250
const USER_TYPE: Len = Len::between(1, 50);
/// An IdP tenant named in a body (numeric id, name, Auth0 tenant name or
/// login domain). CreateUser: idpTenantId 1-200.
pub const TENANT_REF: Len = Len::between(1, 200);
const ORGANIZATION_REF: Len = Len::between(1, 250);
const USER_ID: Len = Len::between(1, 40);

/// Links a new user to an account that already exists in the Auth0 tenant.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdpMetadata {
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250)]
    pub azo_user_id: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 50)]
    pub azo_connection_id: Option<String>,
}

/// Password options of CreateUser; applied when Nexus creates the Auth0 account.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordCredential {
    /// The Auth0 application (client id) the forgot-password e-mail's link
    /// returns to; required with `sendForgotPasswordEmail`, and only with it.
    #[schema(min_length = 1, max_length = 100)]
    pub client_id: Option<String>,
    pub password: Option<crate::idp_tenant::Secret>,
    #[schema(min_length = 1, max_length = 128)]
    pub azo_database_name: Option<String>,
    /// Not together with `password`.
    pub generate_temp_password: Option<bool>,
    // Not supported yet: refused when true, so not documented.
    #[schema(ignore)]
    pub create_linked_email_user: Option<bool>,
    pub send_email_verification: Option<bool>,
    /// Auth0 e-mails the new account a link to enrol a second factor (an
    /// Auth0 Guardian enrollment ticket); `mfaEnrollmentStatus` starts as
    /// `Pending`. If Auth0 refuses, no user is created.
    pub send_mfa_enrollment_email: Option<bool>,
    /// Auth0 e-mails the new user a link to set their own password (the
    /// account starts on a generated one nobody sees), returning to the
    /// application `clientId`: an invited user chooses their password. If
    /// Auth0 refuses to send it, no user is created.
    pub send_forgot_password_email: Option<bool>,
}

/// Body of `POST /v1/users` (CreateUser).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserBody {
    #[schema(required = true, value_type = AuthenticationMethod)]
    pub authentication_method: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "Justin Buchanan")]
    pub display_name: Option<String>,
    /// The IdP tenant: numeric id, name, Auth0 tenant name or login domain.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 200, example = "us-1")]
    pub idp_tenant_id: Option<String>,
    /// The organization the user belongs to (numeric id or name); the user
    /// becomes a member of it.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250)]
    pub organization: Option<String>,
    /// How to read `organization`: `Id` or `Name`; by default a number is an id.
    #[schema(value_type = Option<OrganizationIdType>)]
    pub organization_id_type: Option<String>,
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 50)]
    pub user_type: Option<String>,
    /// Ids of roles to give the user (as `PUT /v1/users/{userId}/roles`
    /// does, without expiry): needs `role.write`, and a role of Nexus's
    /// audience only with permissions the caller holds.
    #[schema(max_items = 100)]
    pub roles: Option<Vec<String>>,
    #[schema(min_length = 1, max_length = 40)]
    pub owner_id: Option<String>,
    #[schema(max_length = 250, format = "uri")]
    pub picture: Option<String>,
    #[schema(min_length = 1, max_length = 35)]
    pub language: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub nickname: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub username: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    /// Gives the membership the `organization-admin` role.
    pub make_admin: Option<bool>,
    pub idp_metadata: Option<IdpMetadata>,
    /// E.164.
    #[schema(example = "+14155550123")]
    pub phone_number: Option<String>,
    pub phone_number_verified: Option<bool>,
    /// Applications to assign the user to, each by id or name: the user is
    /// assigned to the application's one live deployment in its organization
    /// (as `POST /v1/application-deployments/{appDeploymentId}/users` does).
    /// Needs `application.deployment.user.write`.
    #[schema(max_items = 50)]
    pub applications: Option<Vec<String>>,
    #[schema(max_length = 250, format = Email, example = "justin@example.com")]
    pub email_address: Option<String>,
    pub email_verified: Option<bool>,
    pub is_mfa_disabled: Option<bool>,
    #[schema(min_length = 1, max_length = 50)]
    pub mfa_enrollment_status: Option<String>,
    #[schema(max_length = 250, format = Email)]
    pub recovery_email_address: Option<String>,
    pub password_credential: Option<PasswordCredential>,
}

/// How `CreateUserBody::organization` names the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationRef {
    Id(i32),
    Name(String),
    /// Digits: the id if such an organization exists, else the name.
    IdOrName(i32, String),
}

impl OrganizationRef {
    /// An id or a name, as the text does not say which.
    pub fn id_or_name(value: String) -> OrganizationRef {
        match value.parse::<i32>() {
            Ok(id) => OrganizationRef::IdOrName(id, value),
            Err(_) => OrganizationRef::Name(value),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub authentication_method: AuthenticationMethod,
    pub display_name: String,
    pub idp_tenant: String,
    pub organization: OrganizationRef,
    pub make_admin: bool,
    pub link: Option<(String, String)>,
    pub user_type: Option<String>,
    pub owner_id: Option<String>,
    pub picture: Option<String>,
    pub language: Option<String>,
    pub nickname: Option<String>,
    pub username: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone_number: Option<PhoneNumber>,
    pub phone_verified: bool,
    pub email_address: Option<EmailAddress>,
    pub email_verified: bool,
    pub is_mfa_disabled: bool,
    pub mfa_enrollment_status: Option<String>,
    pub recovery_email_address: Option<EmailAddress>,
    /// How the Auth0 account is created when Nexus creates it.
    pub account: AccountOptions,
    /// Role ids to assign, sorted, each once.
    pub roles: Vec<String>,
    /// Applications (id or name) whose deployment in the organization the
    /// user is assigned to.
    pub applications: Vec<String>,
}

/// Most applications CreateUser assigns.
pub const MAX_APPLICATIONS: usize = 50;
/// An application named by id or name in a body.
pub const APPLICATION_REF: Len = Len::between(1, 100);

/// CreateUser's `applications`: at most 50 ids or names of 1 to 100
/// characters (one named twice is assigned once).
fn application_refs(check: &mut Check, names: Vec<String>) -> Option<Vec<String>> {
    if names.len() > MAX_APPLICATIONS {
        check.fail(
            "applications",
            format!("must list at most {MAX_APPLICATIONS} applications"),
        );
        return None;
    }
    for (i, name) in names.iter().enumerate() {
        if let Err(message) = check_text(name, APPLICATION_REF) {
            check.fail(&format!("applications[{i}]"), message);
            return None;
        }
    }
    Some(names)
}

/// The checked `passwordCredential` of CreateUser.
#[derive(Debug, Clone, Default)]
pub struct AccountOptions {
    /// The initial password; `None` means a generated temporary one.
    pub password: Option<crate::idp_tenant::Secret>,
    /// The Auth0 database connection; `None` means the tenant's only one.
    pub database: Option<String>,
    pub send_email_verification: bool,
    /// The application a forgot-password e-mail returns to, when one is
    /// to be sent (`sendForgotPasswordEmail`).
    pub forgot_password_client: Option<String>,
    /// Auth0 e-mails an MFA enrollment link (`sendMfaEnrollmentEmail`).
    pub send_mfa_enrollment_email: bool,
}

/// An Auth0 application's client id.
pub const CLIENT_ID: Len = Len::between(1, 100);

/// Longest Auth0 connection name.
pub const AZO_DATABASE_NAME: Len = Len::between(1, 128);

impl PasswordCredential {
    fn check(self, check: &mut Check) -> AccountOptions {
        let unsupported = [(
            "passwordCredential.createLinkedEmailUser",
            self.create_linked_email_user == Some(true),
        )];
        for (field, given) in unsupported {
            if given {
                check.fail(field, "is not supported yet");
            }
        }
        if let Some(password) = &self.password {
            if let Err(message) = password.check() {
                check.fail("passwordCredential.password", message);
            }
            if self.generate_temp_password == Some(true) {
                check.fail(
                    "passwordCredential.generateTempPassword",
                    "cannot be true when a password is given",
                );
            }
        }
        let database = check.text(
            "passwordCredential.azoDatabaseName",
            self.azo_database_name,
            AZO_DATABASE_NAME,
        );
        let forgot_password = self.send_forgot_password_email == Some(true);
        let client = check.text("passwordCredential.clientId", self.client_id, CLIENT_ID);
        match (forgot_password, &client) {
            (true, None) => check.fail(
                "passwordCredential.clientId",
                "is required when sendForgotPasswordEmail is true",
            ),
            (false, Some(_)) => check.fail(
                "passwordCredential.clientId",
                "is only used with sendForgotPasswordEmail: true",
            ),
            _ => {}
        }
        AccountOptions {
            password: self.password,
            database,
            send_email_verification: self.send_email_verification.unwrap_or(false),
            forgot_password_client: client.filter(|_| forgot_password),
            send_mfa_enrollment_email: self.send_mfa_enrollment_email == Some(true),
        }
    }
}

impl CreateUserBody {
    pub fn into_new(self) -> Result<NewUser, ValidationErrors> {
        let mut check = Check::new();
        let method = check.required("authenticationMethod", self.authentication_method);
        let authentication_method =
            check.parse("authenticationMethod", method, AuthenticationMethod::parse);
        let display_name =
            check.required_text("displayName", self.display_name, CREATE_DISPLAY_NAME);
        let idp_tenant = check.required_text("idpTenantId", self.idp_tenant_id, TENANT_REF);
        let organization = check.required_text("organization", self.organization, ORGANIZATION_REF);
        let organization =
            organization.and_then(|o| organization_ref(&mut check, o, self.organization_id_type));
        let roles = self
            .roles
            .and_then(|ids| role_ids(&mut check, "roles", ids, 0))
            .unwrap_or_default();
        let applications = self
            .applications
            .and_then(|names| application_refs(&mut check, names))
            .unwrap_or_default();
        let link = self.idp_metadata.and_then(|m| {
            let user = check.required_text("idpMetadata.azoUserId", m.azo_user_id, AZO_USER_ID_LEN);
            let connection = check.required_text(
                "idpMetadata.azoConnectionId",
                m.azo_connection_id,
                AZO_CONNECTION_ID_LEN,
            );
            user.zip(connection)
        });
        let account = self
            .password_credential
            .map(|options| options.check(&mut check))
            .unwrap_or_default();
        let profile = Profile::check(
            &mut check,
            ProfileInput {
                given_name: self.given_name,
                family_name: self.family_name,
                nickname: self.nickname,
                picture: self.picture,
                language: self.language,
                username: self.username,
                phone_number: self.phone_number,
                mfa_enrollment_status: self.mfa_enrollment_status,
                recovery_email_address: self.recovery_email_address,
            },
        );
        let email_address = check.parse("emailAddress", self.email_address, EmailAddress::parse);
        let user_type = check.text("type", self.user_type, USER_TYPE);
        let owner_id = check.text("ownerId", self.owner_id, USER_ID);
        check.finish_with(|| NewUser {
            authentication_method: authentication_method.expect("checked"),
            display_name: display_name.expect("checked"),
            idp_tenant: idp_tenant.expect("checked"),
            organization: organization.expect("checked"),
            make_admin: self.make_admin.unwrap_or(false),
            link,
            user_type,
            owner_id,
            picture: profile.picture,
            language: profile.language,
            nickname: profile.nickname,
            username: profile.username,
            given_name: profile.given_name,
            family_name: profile.family_name,
            phone_number: profile.phone_number,
            phone_verified: self.phone_number_verified.unwrap_or(false),
            email_address,
            email_verified: self.email_verified.unwrap_or(false),
            is_mfa_disabled: self.is_mfa_disabled.unwrap_or(false),
            mfa_enrollment_status: profile.mfa_enrollment_status,
            recovery_email_address: profile.recovery_email_address,
            account,
            roles,
            applications,
        })
    }
}

fn organization_ref(
    check: &mut Check,
    value: String,
    id_type: Option<String>,
) -> Option<OrganizationRef> {
    let as_id = |check: &mut Check, v: &str| match v.parse::<i32>() {
        Ok(id) => Some(id),
        Err(_) => {
            check.fail(
                "organization",
                "must be a numeric organization id when organizationIdType is Id",
            );
            None
        }
    };
    match id_type.as_deref().map(OrganizationIdType::parse) {
        Some(Ok(OrganizationIdType::Id)) => as_id(check, &value).map(OrganizationRef::Id),
        Some(Ok(OrganizationIdType::Name)) => Some(OrganizationRef::Name(value)),
        None => Some(OrganizationRef::id_or_name(value)),
        Some(Err(message)) => {
            check.fail("organizationIdType", message);
            None
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::user) fn minimal() -> CreateUserBody {
        CreateUserBody {
            authentication_method: Some("Database".into()),
            display_name: Some("Justin Buchanan".into()),
            idp_tenant_id: Some("us-1".into()),
            organization: Some("acme".into()),
            ..Default::default()
        }
    }

    fn with_credential(credential: PasswordCredential) -> Result<NewUser, ValidationErrors> {
        CreateUserBody {
            password_credential: Some(credential),
            ..minimal()
        }
        .into_new()
    }

    #[test]
    fn password_credential_edges() {
        let longest = with_credential(PasswordCredential {
            azo_database_name: Some("d".repeat(128)),
            password: Some(crate::idp_tenant::Secret::new("Corr3ct-Horse!".into())),
            send_email_verification: Some(true),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(longest.account.database.as_deref().map(str::len), Some(128));
        assert!(longest.account.send_email_verification);
        let errors = with_credential(PasswordCredential {
            azo_database_name: Some("d".repeat(129)),
            password: Some(crate::idp_tenant::Secret::new(String::new())),
            generate_temp_password: Some(true),
            client_id: Some("app".into()),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "passwordCredential.azoDatabaseName",
                "passwordCredential.clientId",
                "passwordCredential.generateTempPassword",
                "passwordCredential.password",
            ]
        );
        let no_client = with_credential(PasswordCredential {
            send_forgot_password_email: Some(true),
            ..Default::default()
        })
        .unwrap_err();
        assert!(no_client
            .fields()
            .contains_key("passwordCredential.clientId"));
        let invited = with_credential(PasswordCredential {
            send_forgot_password_email: Some(true),
            client_id: Some("c".repeat(100)),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            invited.account.forgot_password_client,
            Some("c".repeat(100))
        );
        let empty_name = with_credential(PasswordCredential {
            azo_database_name: Some(String::new()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(empty_name
            .fields()
            .contains_key("passwordCredential.azoDatabaseName"));
        // Absent options: a generated password, no verification email.
        let defaults = minimal().into_new().unwrap().account;
        assert!(defaults.password.is_none() && !defaults.send_email_verification);
    }

    #[test]
    fn minimal_create() {
        let user = minimal().into_new().unwrap();
        assert_eq!(user.organization, OrganizationRef::Name("acme".into()));
        assert!(user.link.is_none());
    }

    #[test]
    fn numeric_organization_is_id_or_name() {
        let mut body = minimal();
        body.organization = Some("12".into());
        assert_eq!(
            body.into_new().unwrap().organization,
            OrganizationRef::IdOrName(12, "12".into())
        );
    }

    #[test]
    fn idp_metadata_needs_both_ids() {
        let mut body = minimal();
        body.idp_metadata = Some(IdpMetadata {
            azo_user_id: Some("auth0|1".into()),
            azo_connection_id: None,
        });
        let errors = body.into_new().unwrap_err();
        assert_eq!(
            errors.fields()["idpMetadata.azoConnectionId"],
            ["is required"]
        );
    }
}
