//! Auth0's bulk user export (`POST /jobs/users-exports`): the way to read
//! every user of a tenant, where `GET /users` stops at 1,000 per query. The
//! job makes a gzip'd newline-delimited JSON file, downloaded from the
//! job's `location` (a signed link: no token) and read line by line.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use reqwest::Method;
use serde::Deserialize;

use crate::{Error, ManagementClient, User};

/// The fields an export is asked for, and the names they come back as.
pub type ExportFields = &'static [(&'static str, &'static str)];

/// What an import reads of each user.
pub const IMPORT_FIELDS: ExportFields = &[
    ("user_id", "user_id"),
    ("email", "email"),
    ("email_verified", "email_verified"),
    ("name", "name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("nickname", "nickname"),
    ("blocked", "blocked"),
    ("identities[0].connection", "connection"),
    ("app_metadata.nexus_user_id", "nexus_user_id"),
];

/// What a reconciliation compares: the keys and fields Nexus pushes.
pub const RECONCILE_FIELDS: ExportFields = &[
    ("user_id", "user_id"),
    ("blocked", "blocked"),
    ("name", "name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("nickname", "nickname"),
    ("picture", "picture"),
    ("app_metadata.nexus_user_id", "nexus_user_id"),
    ("app_metadata.custom_upns", "custom_upns"),
];

/// One user of an export, with the fields an export asks for (those not
/// asked for are `None`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ExportedUser {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub blocked: Option<bool>,
    /// The connection of the user's primary identity.
    pub connection: Option<String>,
    /// `app_metadata.nexus_user_id`.
    pub nexus_user_id: Option<String>,
    /// `app_metadata.custom_upns`, whatever Auth0 holds there.
    pub custom_upns: Option<serde_json::Value>,
}

impl From<&User> for ExportedUser {
    /// The user as an export would give it (read with `GET /users/{id}`).
    fn from(user: &User) -> Self {
        ExportedUser {
            user_id: user.user_id.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            name: user.name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
            nickname: user.nickname.clone(),
            picture: user.picture.clone(),
            blocked: user.blocked,
            connection: user.identities.first().and_then(|i| i.connection.clone()),
            nexus_user_id: user
                .app_metadata
                .as_ref()
                .and_then(|metadata| metadata.get("nexus_user_id"))
                .and_then(|id| id.as_str())
                .map(str::to_owned),
            custom_upns: user
                .app_metadata
                .as_ref()
                .and_then(|metadata| metadata.get("custom_upns"))
                .cloned(),
        }
    }
}

/// A job as `GET /jobs/{id}` answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub id: String,
    pub status: String,
    /// Where a completed export's file is.
    pub location: Option<String>,
}

impl Job {
    pub fn is_completed(&self) -> bool {
        self.status == "completed"
    }

    pub fn has_failed(&self) -> bool {
        self.status == "failed"
    }
}

impl ManagementClient {
    /// Starts an export of every user of the tenant, as newline-delimited
    /// JSON with the fields an import reads.
    pub async fn start_users_export(&self) -> Result<Job, Error> {
        self.start_users_export_of(IMPORT_FIELDS).await
    }

    /// Starts an export of every user of the tenant, as newline-delimited
    /// JSON with `fields` (read as `ExportedUser`).
    pub async fn start_users_export_of(&self, fields: ExportFields) -> Result<Job, Error> {
        let fields: Vec<_> = fields
            .iter()
            .map(|(name, export_as)| serde_json::json!({"name": name, "export_as": export_as}))
            .collect();
        let body = serde_json::json!({"format": "json", "fields": fields});
        self.call(Method::POST, "/jobs/users-exports", &[], Some(&body))
            .await
    }

    pub async fn get_job(&self, id: &str) -> Result<Job, Error> {
        self.call(
            Method::GET,
            &format!("/jobs/{}", crate::encode(id)),
            &[],
            None,
        )
        .await
    }

    /// Downloads a completed export's file to `to`, a chunk at a time.
    pub async fn download_export(&self, location: &str, to: &Path) -> Result<(), Error> {
        let unavailable = |e: &dyn std::fmt::Display| Error::Unavailable(e.to_string());
        let mut response = self
            .inner
            .http
            .get(location)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::Api {
                status: status.as_u16(),
                error: status.canonical_reason().unwrap_or("Error").to_owned(),
                message: format!("the export's file at {location} answered {status}"),
                error_code: "export_unavailable".to_owned(),
            });
        }
        // Plain file writes of a chunk each: they land in the page cache, far
        // quicker than the network delivers the next chunk.
        let mut file = std::fs::File::create(to).map_err(|e| unavailable(&e))?;
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
            file.write_all(&chunk).map_err(|e| unavailable(&e))?;
        }
        file.flush().map_err(|e| unavailable(&e))
    }
}

/// The lines of a downloaded export, read without holding the file in
/// memory (blocking I/O: run it off the async threads). A line that is not
/// a user is `Err` with its text, for the caller to report.
pub fn read_export(path: &Path) -> std::io::Result<impl Iterator<Item = ExportLine>> {
    let file = std::fs::File::open(path)?;
    let lines = BufReader::new(GzDecoder::new(file)).lines();
    Ok(lines.map(|line| match line {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{e}: {text}")),
        Err(error) => Err(error.to_string()),
    }))
}

/// One line of an export: the user, or why it could not be read.
pub type ExportLine = Result<ExportedUser, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_line_reads_as_a_user() {
        let line = r#"{"user_id":"auth0|1","email":"a@b.co","email_verified":true,"connection":"db","nexus_user_id":"u1","extra":1}"#;
        let user: ExportedUser = serde_json::from_str(line).unwrap();
        assert_eq!(user.user_id.as_deref(), Some("auth0|1"));
        assert_eq!(user.nexus_user_id.as_deref(), Some("u1"));
        assert_eq!(user.connection.as_deref(), Some("db"));
        assert_eq!(user.email_verified, Some(true));
        let line = r#"{"user_id":"auth0|2","custom_upns":{"rdp":"a@corp.example"},"picture":"https://p.example/a.png"}"#;
        let user: ExportedUser = serde_json::from_str(line).unwrap();
        assert_eq!(
            user.custom_upns,
            Some(serde_json::json!({"rdp": "a@corp.example"}))
        );
        assert_eq!(user.picture.as_deref(), Some("https://p.example/a.png"));
    }
}
