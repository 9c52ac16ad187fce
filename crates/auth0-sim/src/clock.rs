//! The wall clock as Auth0 writes it: Unix seconds and RFC 3339 instants.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

pub(crate) fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
