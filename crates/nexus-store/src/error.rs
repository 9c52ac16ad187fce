/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule of the schema refused the write; the text says which,
    /// in words fit for an API client.
    #[error("{0}")]
    Conflict(&'static str),
    /// A referenced row does not exist (it may have been deleted meanwhile).
    #[error("a referenced record does not exist")]
    MissingReference,
    #[error("database configuration: {0}")]
    Config(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// From the SQLite readers that run on the calling thread.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A unique index and what its violation means. PostgreSQL names the
/// constraint; SQLite names the index only for expression indexes and
/// otherwise lists `table.column`s, so each rule carries both spellings.
struct UniqueRule {
    name: &'static str,
    sqlite_columns: Option<&'static str>,
    message: &'static str,
}

const UNIQUE_RULES: &[UniqueRule] = &[
    UniqueRule {
        name: "ux_organization_aliases_system",
        sqlite_columns: None,
        message: "this systemId of this systemName is already an alias of an organization",
    },
    UniqueRule {
        name: "ux_custom_upns_user_key",
        sqlite_columns: None,
        message: "the user already has a custom UPN for this clientUpnKey",
    },
    UniqueRule {
        name: "ux_custom_upns_key_value",
        sqlite_columns: None,
        message:
            "this customUpnValue is already used by another custom UPN with the same clientUpnKey",
    },
    UniqueRule {
        name: "ux_identities_user_tenant",
        sqlite_columns: Some("identities.user_id, identities.idp_tenant_id"),
        message: "the user is already linked to this IdP tenant",
    },
    UniqueRule {
        name: "ux_identities_tenant_azo_user",
        sqlite_columns: Some("identities.idp_tenant_id, identities.azo_user_id"),
        message: "this azoUserId is already linked to another user in this IdP tenant",
    },
    UniqueRule {
        name: "ux_idp_tenants_name",
        sqlite_columns: None,
        message: "an IdP tenant with this name already exists",
    },
    UniqueRule {
        name: "ux_idp_tenants_azo_tenant_name",
        sqlite_columns: None,
        message: "an IdP tenant with this azoTenantName already exists",
    },
    UniqueRule {
        name: "ux_idp_tenants_fqdn",
        sqlite_columns: None,
        message: "an IdP tenant with this fqdn already exists",
    },
    UniqueRule {
        name: "ux_idp_tenants_login_domain",
        sqlite_columns: None,
        message: "an IdP tenant with this loginDomain already exists",
    },
    UniqueRule {
        name: "ux_organizations_name",
        sqlite_columns: None,
        message: "an organization with this name already exists",
    },
    UniqueRule {
        name: "ux_users_email_address",
        sqlite_columns: None,
        message: "a user with this emailAddress already exists",
    },
    UniqueRule {
        name: "ux_memberships_organization_user",
        sqlite_columns: Some("memberships.organization_id, memberships.user_id"),
        message: "the user is already a member of this organization",
    },
    // Before the next rule: SQLite's message for this one ends with that one's column too.
    UniqueRule {
        name: "ux_organization_domains_domain",
        sqlite_columns: Some("organization_domains.organization_id, organization_domains.domain"),
        message: "the organization already has this domain",
    },
    UniqueRule {
        name: "ux_organization_domains_verified",
        sqlite_columns: Some("organization_domains.domain"),
        message: "another organization has verified this domain meanwhile",
    },
    UniqueRule {
        name: "ux_roles_audience_name",
        sqlite_columns: None,
        message: "a role with this name already exists for this audience",
    },
    UniqueRule {
        name: "ux_products_name",
        sqlite_columns: None,
        message: crate::products::NAME_TAKEN,
    },
    UniqueRule {
        name: "ux_applications_name",
        sqlite_columns: None,
        message: crate::applications::NAME_TAKEN,
    },
    UniqueRule {
        name: "ux_application_clients_client",
        sqlite_columns: Some("application_clients.client_id, application_clients.idp_tenant_id"),
        message: crate::applications::CLIENT_TAKEN,
    },
    UniqueRule {
        name: "ux_role_connection_maps_role_connection_group",
        sqlite_columns: Some(
            "role_connection_maps.role_id, role_connection_maps.azo_connection_id, role_connection_maps.group_name",
        ),
        message: "the role already has a connection map for this connection and group",
    },
    UniqueRule {
        name: "ux_import_jobs_unfinished",
        sqlite_columns: Some("import_jobs.idp_tenant_id"),
        message: "an import of this IdP tenant has not ended yet",
    },
    UniqueRule {
        name: "ux_reconciliation_jobs_unfinished",
        sqlite_columns: Some("reconciliation_jobs.idp_tenant_id"),
        message: "a reconciliation of this IdP tenant has not ended yet",
    },
    UniqueRule {
        name: "member_import_jobs_pkey",
        sqlite_columns: Some("member_import_jobs.id"),
        message: "an import of members with this id exists already",
    },
    UniqueRule {
        name: "api_keys_pkey",
        sqlite_columns: Some("api_keys.id"),
        message: "an API key with this id already exists",
    },
    UniqueRule {
        name: "sts_clients_pkey",
        sqlite_columns: Some("sts_clients.client_id"),
        message: "an STS client mapping for this clientId already exists",
    },
];

impl StoreError {
    /// Whether the database could not be reached or was too busy, rather
    /// than refusing this operation: trying again later may succeed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => match error {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // PostgreSQL: connection exceptions, too many connections,
                    // shutting down; SQLite: busy or locked.
                    code.starts_with("08")
                        || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03" | "5" | "6")
                }),
                _ => false,
            },
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => matches!(
                failure.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error() {
            if db.is_unique_violation() {
                let message = db.message();
                let rule = UNIQUE_RULES.iter().find(|rule| match db.constraint() {
                    Some(constraint) => constraint == rule.name,
                    None => {
                        message.contains(&format!("index '{}'", rule.name))
                            || rule.sqlite_columns.is_some_and(|c| message.ends_with(c))
                    }
                });
                if let Some(rule) = rule {
                    return StoreError::Conflict(rule.message);
                }
            }
            if db.is_foreign_key_violation() {
                return StoreError::MissingReference;
            }
        }
        StoreError::Database(error)
    }
}
