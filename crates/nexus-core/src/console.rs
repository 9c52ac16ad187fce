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
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::ApiKey => "apiKey",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        (text == "apiKey").then_some(SessionKind::ApiKey)
    }
}

/// A console session as stored (its token only as a hash, elsewhere). As
/// the audit trail shows it: without the CSRF secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSession {
    pub id: String,
    pub kind: SessionKind,
    pub api_key_id: Option<String>,
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
    fn touches_at_most_every_interval() {
        let start = Timestamp::now();
        let session = ConsoleSession::for_api_key("s".into(), "k".into(), "c".into(), start);
        assert!(!session.needs_touch(start.plus(TOUCH_INTERVAL - Duration::from_secs(1))));
        assert!(session.needs_touch(start.plus(TOUCH_INTERVAL)));
    }
}
