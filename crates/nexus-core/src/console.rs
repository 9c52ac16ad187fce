//! Sessions of the administration console: who signed in, and how long a
//! session lives.

use std::time::Duration;

use serde::Serialize;

use crate::Timestamp;

/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// A session ends after this long without a request.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// `last_seen` is written at most this often, so that reading pages does
/// not write on every request; the idle limit is that much less exact.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Who a session acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionKind {
    /// Signed in with an API key: acts with the key's permissions.
    ApiKey,
    /// A person who signed in through the console's Auth0 tenant: acts as
    /// the Nexus user linked to that account, with the user's permissions.
    User,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::ApiKey => "apiKey",
            SessionKind::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "apiKey" => Some(SessionKind::ApiKey),
            "user" => Some(SessionKind::User),
            _ => None,
        }
    }
}

/// A console session as stored (its token only as a hash, elsewhere). As
/// the audit trail shows it: without the CSRF secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSession {
    pub id: String,
    pub kind: SessionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// The user a `user` session acts as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The IdP tenant whose Auth0 tenant signed the user in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_tenant_id: Option<i32>,
    /// The Auth0 account (`sub`) the user signed in with there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azo_user_id: Option<String>,
    #[serde(skip)]
    pub csrf_secret: String,
    pub created: Timestamp,
    #[serde(skip)]
    pub last_seen: Timestamp,
    pub expires_at: Timestamp,
}

impl ConsoleSession {
    /// A new session signed in at `now` with an API key.
    pub fn for_api_key(id: String, key_id: String, csrf_secret: String, now: Timestamp) -> Self {
        ConsoleSession {
            id,
            kind: SessionKind::ApiKey,
            api_key_id: Some(key_id),
            user_id: None,
            idp_tenant_id: None,
            azo_user_id: None,
            csrf_secret,
            created: now,
            last_seen: now,
            expires_at: now.plus(ABSOLUTE_LIFETIME),
        }
    }

    /// A new session signed in at `now` by a user, through the Auth0
    /// tenant of IdP tenant `tenant_id`.
    pub fn for_user(
        id: String,
        (user_id, tenant_id, azo_user_id): (String, i32, String),
        csrf_secret: String,
        now: Timestamp,
    ) -> Self {
        ConsoleSession {
            id,
            kind: SessionKind::User,
            api_key_id: None,
            user_id: Some(user_id),
            idp_tenant_id: Some(tenant_id),
            azo_user_id: Some(azo_user_id),
            csrf_secret,
            created: now,
            last_seen: now,
            expires_at: now.plus(ABSOLUTE_LIFETIME),
        }
    }

    /// Neither past its absolute expiry nor idle too long.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && now < self.last_seen.plus(IDLE_LIFETIME)
    }

    /// Whether a request at `now` should record that the session was seen.
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now >= self.last_seen.plus(TOUCH_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lives_until_idle_or_absolute_expiry() {
        let start = Timestamp::now();
        let mut session = ConsoleSession::for_api_key("s".into(), "k".into(), "c".into(), start);
        assert!(session.is_live(start));
        assert!(session.is_live(start.plus(IDLE_LIFETIME - Duration::from_secs(1))));
        assert!(!session.is_live(start.plus(IDLE_LIFETIME)));
        // Kept busy, it still ends 12 h after sign-in.
        session.last_seen = start.plus(ABSOLUTE_LIFETIME - Duration::from_secs(60));
        assert!(session.is_live(start.plus(ABSOLUTE_LIFETIME - Duration::from_secs(1))));
        assert!(!session.is_live(start.plus(ABSOLUTE_LIFETIME)));
    }

    #[test]
    fn kinds_read_back_as_written() {
        for kind in [SessionKind::ApiKey, SessionKind::User] {
            assert_eq!(SessionKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SessionKind::parse("User"), None);
        let session = ConsoleSession::for_user(
            "s".into(),
            ("u".into(), 7, "auth0|a".into()),
            "c".into(),
            Timestamp::now(),
        );
        let shown = serde_json::to_value(&session).unwrap();
        assert_eq!(shown["kind"], "user");
        assert_eq!(
            (&shown["userId"], &shown["idpTenantId"]),
            (&serde_json::json!("u"), &serde_json::json!(7))
        );
        assert!(shown.get("apiKeyId").is_none() && shown.get("csrfSecret").is_none());
    }

    #[test]
    fn touches_at_most_every_interval() {
        let start = Timestamp::now();
        let session = ConsoleSession::for_api_key("s".into(), "k".into(), "c".into(), start);
        assert!(!session.needs_touch(start.plus(TOUCH_INTERVAL - Duration::from_secs(1))));
        assert!(session.needs_touch(start.plus(TOUCH_INTERVAL)));
    }
}
