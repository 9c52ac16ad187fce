//! Nexus's side of Auth0: one Management client per tenant and use, kept
//! while the tenant's credentials stay the same, and the checks and account
//! creation that requests make against Auth0 before anything is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth0::{Config, CreateUser, Error as Auth0Error, ManagementClient, UpdateUserRequestContent};
use nexus_core::identity::{Identity, NewIdentity};
use nexus_core::idp_tenant::{IdpTenant, ManagementCredentials, Secret};
use nexus_core::user::NewUser;
use nexus_core::validation::Check;
use serde_json::json;

use crate::secrets::{SealError, Sealer};
use crate::{Nexus, ServiceError};
use nexus_store::idp_tenants;

/// Who waits for the answer: a request (short timeouts, few retries, fail
/// fast) or the push worker (patient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Use {
    Request,
    Background,
}

/// A client with the fingerprint of the settings it was made from.
type Known = (String, ManagementClient);

/// Management clients by tenant; each keeps its token cache and rate budget.
/// The stored client secrets are sealed; a client is made with the opened one.
#[derive(Clone, Default)]
pub struct Auth0Clients {
    clients: Arc<Mutex<HashMap<(i32, Use), Known>>>,
    sealer: Sealer,
    observer: Option<Arc<dyn auth0::Observer>>,
}

impl Auth0Clients {
    /// Clients that open secrets with `sealer` and tell `observer` of each call.
    pub fn new(sealer: Sealer, observer: Arc<dyn auth0::Observer>) -> Self {
        Auth0Clients {
            clients: Arc::default(),
            sealer,
            observer: Some(observer),
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Seals a Management client secret for storing.
    pub fn seal(&self, secret: &Secret) -> Result<Secret, SealError> {
        self.sealer.seal(secret.expose()).map(Secret::new)
    }

    pub fn client(
        &self,
        tenant: &IdpTenant,
        credentials: &ManagementCredentials,
        purpose: Use,
    ) -> Result<ManagementClient, SealError> {
        let base = tenant
            .base_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", tenant.fqdn));
        let fingerprint = format!(
            "{base}|{}|{}|{:?}",
            credentials.client_id,
            credentials.client_secret.expose(),
            credentials.audience
        );
        let mut clients = self.clients.lock().expect("Auth0 clients");
        match clients.get(&(tenant.id, purpose)) {
            Some((known, client)) if *known == fingerprint => Ok(client.clone()),
            _ => {
                let secret = self.sealer.open(credentials.client_secret.expose())?;
                let mut config = Config::new(&base, &credentials.client_id, &secret);
                config.audience = credentials.audience.clone();
                if purpose == Use::Request {
                    config.timeout = Duration::from_secs(5);
                    config.max_attempts = 2;
                    config.max_rate_limit_wait = Duration::from_secs(3);
                }
                let client = ManagementClient::observed(config, self.observer.clone());
                clients.insert((tenant.id, purpose), (fingerprint, client.clone()));
                Ok(client)
            }
        }
    }
}

/// An Auth0 account checked for linking.
pub struct CheckedLink {
    /// The identity to store, with the connection's id and name both filled in.
    pub identity: NewIdentity,
    /// The address Auth0 holds verified for the account.
    pub verified_email: Option<String>,
}

/// Checks a link against the tenant: the Auth0 user exists and has an
/// account on the connection (given by id or name).
pub async fn verify_link(
    client: &ManagementClient,
    tenant: &IdpTenant,
    new: &NewIdentity,
) -> Result<CheckedLink, ServiceError> {
    let connection = find_connection(client, tenant, &new.azo_connection_id).await?;
    let user = match client.get_user(&new.azo_user_id).await {
        Ok(user) => user,
        // Auth0 answers 400 for a malformed user id, 404 for an unknown one.
        Err(error) if matches!(error.status(), Some(400 | 404)) => {
            return Err(ServiceError::Unprocessable(format!(
                "Auth0 tenant '{}' has no user '{}'",
                tenant.name, new.azo_user_id
            )))
        }
        Err(error) => return Err(unreachable(tenant, error)),
    };
    if !user.has_identity_on(&connection.name) {
        return Err(ServiceError::Unprocessable(format!(
            "Auth0 user '{}' has no account on connection '{}'",
            new.azo_user_id, connection.name
        )));
    }
    Ok(CheckedLink {
        identity: NewIdentity {
            azo_connection_id: connection.id,
            azo_connection_name: Some(connection.name),
            ..new.clone()
        },
        verified_email: user.email.filter(|_| user.email_verified == Some(true)),
    })
}

/// An Auth0 user read as an import reads it, and the connection of its
/// primary account (`None` when Auth0 does not list it); 404 when the
/// tenant has no such user.
pub async fn read_user(
    client: &ManagementClient,
    tenant: &IdpTenant,
    azo_user_id: &str,
) -> Result<(auth0::ExportedUser, Option<auth0::Connection>), ServiceError> {
    let user = match client.get_user(azo_user_id).await {
        Ok(user) => auth0::ExportedUser::from(&user),
        // Auth0 answers 400 for a malformed user id, 404 for an unknown one.
        Err(error) if matches!(error.status(), Some(400 | 404)) => {
            return Err(ServiceError::not_found(
                "Auth0 user",
                format!("{azo_user_id}' of tenant '{}", tenant.name),
            ))
        }
        Err(error) => return Err(unreachable(tenant, error)),
    };
    let connection = match &user.connection {
        Some(name) => client
            .connection_by_name(name)
            .await
            .map_err(|error| unreachable(tenant, error))?,
        None => None,
    };
    Ok((user, connection))
}

pub struct Connection {
    pub id: String,
    pub name: String,
}

impl Connection {
    /// From an Auth0 connection; `None` without an id and a name.
    fn from_auth0(connection: &auth0::Connection) -> Option<Connection> {
        Some(Connection {
            id: connection.id.clone()?,
            name: connection.name.clone()?,
        })
    }
}

/// The connection whose id or name is `reference`; 422 when there is none.
pub async fn find_connection(
    client: &ManagementClient,
    tenant: &IdpTenant,
    reference: &str,
) -> Result<Connection, ServiceError> {
    let found = match client.connection_by_name(reference).await {
        Ok(Some(found)) => Some(found),
        Ok(None) => match client.get_connection(reference).await {
            Ok(found) => Some(found),
            // Auth0 answers 400 for a malformed id, 404 for an unknown one.
            Err(error) if matches!(error.status(), Some(400 | 404)) => None,
            Err(error) => return Err(unreachable(tenant, error)),
        },
        Err(error) => return Err(unreachable(tenant, error)),
    };
    match found.as_ref().and_then(Connection::from_auth0) {
        Some(connection) => Ok(connection),
        None => Err(ServiceError::Unprocessable(format!(
            "Auth0 tenant '{}' has no connection with the id or name '{reference}'",
            tenant.name
        ))),
    }
}

/// Creates the Auth0 account; Auth0's refusal becomes a problem that quotes it.
pub async fn create_account(
    client: &ManagementClient,
    tenant: &IdpTenant,
    account: &CreateUser,
) -> Result<auth0::User, ServiceError> {
    client
        .create_user(account)
        .await
        .map_err(|error| match error {
            Auth0Error::Api {
                status: 409,
                message,
                ..
            } => ServiceError::Conflict(format!(
                "Auth0 tenant '{}' refused to create the account: {message}",
                tenant.name
            )),
            Auth0Error::Api {
                status: 400..=499,
                message,
                error_code,
                ..
            } => refused(tenant, "to create the account", &message, &error_code),
            other => unreachable(tenant, other),
        })
}

/// Auth0's refusal of a request, quoted: 422.
fn refused(tenant: &IdpTenant, what: &str, message: &str, error_code: &str) -> ServiceError {
    let code = if error_code.is_empty() {
        String::new()
    } else {
        format!(" ({error_code})")
    };
    ServiceError::Unprocessable(format!(
        "Auth0 tenant '{}' refused {what}: {message}{code}",
        tenant.name
    ))
}

/// Whatever stops Auth0 from answering the question; the caller may retry.
pub(crate) fn unreachable(tenant: &IdpTenant, error: Auth0Error) -> ServiceError {
    tracing::warn!(tenant = %tenant.name, %error, "Auth0 call failed");
    ServiceError::Upstream(format!(
        "Auth0 tenant '{}' could not be reached to check the request ({error}); nothing was changed, retry later",
        tenant.name
    ))
}

/// The tenant of the identity and a Management client for it; 409 when
/// Nexus holds no Management credentials for the tenant.
async fn identity_client(
    nexus: &Nexus,
    identity: &Identity,
) -> Result<(IdpTenant, ManagementClient), ServiceError> {
    let (tenant, credentials) = {
        let mut conn = nexus.store().read_one().await?;
        let tenant = idp_tenants::get(&mut conn, identity.idp_tenant_id).await?;
        let credentials = idp_tenants::credentials(&mut conn, identity.idp_tenant_id).await?;
        (tenant, credentials)
    };
    let tenant = tenant
        .ok_or_else(|| ServiceError::not_found("idpTenant", identity.idp_tenant_id.to_string()))?;
    let Some(credentials) = credentials else {
        return Err(ServiceError::Conflict(format!(
            "IdP tenant '{}' has no Management credentials: Nexus cannot manage passwords there",
            tenant.name
        )));
    };
    let client = nexus.auth0().client(&tenant, &credentials, Use::Request)?;
    Ok((tenant, client))
}

/// Auth0's answer to an operation on an account (a password, an e-mail):
/// its refusal (a 4xx) is 422 quoting Auth0, an account gone 409, Auth0 not
/// answering 503.
fn password_refusal(tenant: &IdpTenant, azo_user_id: &str, error: Auth0Error) -> ServiceError {
    match error {
        Auth0Error::Api { status: 404, .. } => ServiceError::Conflict(format!(
            "the Auth0 account {azo_user_id} no longer exists in tenant '{}'",
            tenant.name
        )),
        Auth0Error::Api {
            status: 400..=499,
            message,
            error_code,
            ..
        } => refused(tenant, "the request", &message, &error_code),
        other => unreachable(tenant, other),
    }
}

/// Has Auth0 e-mail the database account a link that verifies its address
/// (`jobs/verification-email`).
pub async fn send_verification_email(
    nexus: &Nexus,
    identity: &Identity,
) -> Result<(), ServiceError> {
    let (tenant, client) = identity_client(nexus, identity).await?;
    client
        .send_verification_email(&identity.azo_user_id)
        .await
        .map_err(|error| password_refusal(&tenant, &identity.azo_user_id, error))
}

/// Sets the password of a Nexus user's Auth0 database account; when Auth0
/// refuses or does not answer, nothing was changed.
pub async fn set_password(
    nexus: &Nexus,
    identity: &Identity,
    password: &Secret,
) -> Result<(), ServiceError> {
    let (tenant, client) = identity_client(nexus, identity).await?;
    let request = UpdateUserRequestContent {
        password: Some(Some(password.expose().to_owned())),
        ..UpdateUserRequestContent::default()
    };
    client
        .update_user(&identity.azo_user_id, &request)
        .await
        .map(|_| ())
        .map_err(|error| password_refusal(&tenant, &identity.azo_user_id, error))
}

/// Has Auth0 e-mail the user of the database account a link to set a new
/// password, returning to the application `client_id`: the address and the
/// connection are the account's own, as Auth0 has them.
pub async fn send_password_reset(
    nexus: &Nexus,
    identity: &Identity,
    client_id: &str,
) -> Result<(), ServiceError> {
    let (tenant, client) = identity_client(nexus, identity).await?;
    let refused = |error| password_refusal(&tenant, &identity.azo_user_id, error);
    let account = client
        .get_user(&identity.azo_user_id)
        .await
        .map_err(refused)?;
    let connection = account
        .identities
        .iter()
        .find(|i| i.provider.as_deref() == Some("auth0"))
        .and_then(|i| i.connection.clone());
    let (Some(email), Some(connection)) = (account.email, connection) else {
        return Err(ServiceError::Conflict(format!(
            "the Auth0 account {} has no e-mail address on a database connection",
            identity.azo_user_id
        )));
    };
    request_reset(&client, &tenant, &email, &connection, client_id).await
}

/// Has Auth0 e-mail the database account of `email` on `connection` a
/// reset link returning to the application `client_id`.
pub async fn request_reset(
    client: &ManagementClient,
    tenant: &IdpTenant,
    email: &str,
    connection: &str,
    client_id: &str,
) -> Result<(), ServiceError> {
    client
        .send_password_reset(client_id, email, connection)
        .await
        .map_err(|error| password_refusal(tenant, email, error))
}

/// Has Auth0 e-mail a new account a link to enrol a second factor.
pub async fn send_enrollment_email(
    client: &ManagementClient,
    tenant: &IdpTenant,
    azo_user_id: &str,
) -> Result<(), ServiceError> {
    client
        .create_enrollment_ticket(azo_user_id, true, None)
        .await
        .map(|_| ())
        .map_err(|error| password_refusal(tenant, azo_user_id, error))
}

/// Asks Auth0 for a link that enrolls the account in a second factor
/// (`factor`, or the user's choice); Auth0 e-mails it when `send_mail`.
pub async fn create_enrollment_ticket(
    nexus: &Nexus,
    identity: &Identity,
    send_mail: bool,
    factor: Option<&str>,
) -> Result<auth0::EnrollmentTicket, ServiceError> {
    let (tenant, client) = identity_client(nexus, identity).await?;
    client
        .create_enrollment_ticket(&identity.azo_user_id, send_mail, factor)
        .await
        .map_err(|error| password_refusal(&tenant, &identity.azo_user_id, error))
}

/// Has Auth0 check the one-time password `otp` offered with the MFA token
/// (the MFA API's `mfa-otp` grant, as the tenant's Management client); a
/// right code confirms the authenticator the token associated. A wrong
/// code, or a token Auth0 did not issue or that has expired, is 422
/// quoting Auth0.
pub async fn verify_mfa_otp(
    nexus: &Nexus,
    identity: &Identity,
    mfa_token: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let (tenant, client) = identity_client(nexus, identity).await?;
    client
        .verify_mfa_otp(mfa_token, otp)
        .await
        .map(|_| ())
        .map_err(|error| match error {
            Auth0Error::Api {
                status: 400..=499,
                message,
                error_code,
                ..
            } => refused(&tenant, "the one-time password", &message, &error_code),
            other => unreachable(&tenant, other),
        })
}

/// Creates the database account of a new Nexus user (CreateUser without
/// `idpMetadata`) and returns the identity that links it.
pub async fn provision(
    client: &ManagementClient,
    tenant: &IdpTenant,
    user_id: &str,
    user: &NewUser,
) -> Result<NewIdentity, ServiceError> {
    let email = user.email_address.as_ref().ok_or_else(|| {
        let mut check = Check::new();
        check.fail(
            "emailAddress",
            "is required to create the Auth0 database account",
        );
        ServiceError::Validation(check.finish().expect_err("one failure"))
    })?;
    let connection = match &user.account.database {
        Some(name) => find_connection(client, tenant, name).await?,
        None => only_database(client, tenant).await?,
    };
    let password = match &user.account.password {
        Some(given) => given.expose().to_owned(),
        None => temporary_password(),
    };
    let account = CreateUser {
        connection: connection.name.clone(),
        user_id: None,
        email: Some(email.to_string()),
        password: Some(password),
        verify_email: Some(user.account.send_email_verification),
        email_verified: Some(user.email_verified),
        name: Some(user.display_name.clone()),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        nickname: user.nickname.clone(),
        picture: user.picture.clone(),
        app_metadata: Some(json!({"nexus_user_id": user_id})),
    };
    let created = create_account(client, tenant, &account).await?;
    let azo_user_id = created.user_id.ok_or_else(|| {
        unreachable(
            tenant,
            Auth0Error::Unavailable("the created user has no user_id".into()),
        )
    })?;
    Ok(NewIdentity {
        strategy: "auth0".into(),
        azo_user_id,
        azo_connection_id: connection.id,
        azo_connection_name: Some(connection.name),
    })
}

/// Undoes `provision` when the Nexus side could not be stored.
pub async fn deprovision(client: &ManagementClient, tenant: &IdpTenant, azo_user_id: &str) {
    if let Err(error) = client.delete_user(azo_user_id).await {
        tracing::error!(tenant = %tenant.name, %azo_user_id, %error,
            "the Auth0 account created for a Nexus user that was not stored could not be deleted; delete it by hand");
    }
}

async fn only_database(
    client: &ManagementClient,
    tenant: &IdpTenant,
) -> Result<Connection, ServiceError> {
    let found = client
        .connections_by_strategy("auth0")
        .await
        .map_err(|error| unreachable(tenant, error))?;
    match found.as_slice() {
        [only] => match Connection::from_auth0(only) {
            Some(connection) => Ok(connection),
            None => Err(unreachable(
                tenant,
                Auth0Error::Unavailable("a connection without id or name".into()),
            )),
        },
        _ => Err(ServiceError::Unprocessable(format!(
            "Auth0 tenant '{}' has {} database connections; name one in passwordCredential.azoDatabaseName",
            tenant.name,
            found.len()
        ))),
    }
}

/// A random password that meets Auth0's strictest policy: 24 characters
/// with upper and lower case letters, digits and symbols.
fn temporary_password() -> String {
    use rand::seq::{IndexedRandom, SliceRandom};
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!@#$%^&*-_=+",
    ];
    let mut rng = rand::rng();
    let all = CLASSES.concat();
    let mut chars: Vec<u8> = CLASSES
        .iter()
        .map(|class| *class.choose(&mut rng).expect("a class has characters"))
        .collect();
    chars.extend((0..20).map(|_| *all.choose(&mut rng).expect("characters")));
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_passwords_hold_every_class_and_differ() {
        let first = temporary_password();
        assert_eq!(first.len(), 24);
        assert!(first.chars().any(|c| c.is_ascii_uppercase()));
        assert!(first.chars().any(|c| c.is_ascii_lowercase()));
        assert!(first.chars().any(|c| c.is_ascii_digit()));
        assert!(first.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(first, temporary_password());
    }
}
