//! Auth0's log events, as a custom-webhook log stream posts them: the three
//! payload formats, the items, and what Nexus does with each type of event.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The longest `log_id` and `type` accepted (Auth0's are far shorter).
const LOG_ID_MAX: usize = 255;
const TYPE_MAX: usize = 64;
const TEXT_MAX: usize = 1024;

/// One log event: `{log_id, data: {type, user_id, date, …}}`. Fields Nexus
/// does not read are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub log_id: String,
    pub code: String,
    pub user_id: Option<String>,
    /// The account's user name; an e-mail address on database connections.
    pub user_name: Option<String>,
    pub date: Option<String>,
    pub description: Option<String>,
    pub ip: Option<String>,
}

/// An Auth0 log event as a log stream posts it (the OpenAPI document's
/// shape; other fields of Auth0's are accepted and ignored).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogStreamEvent {
    /// Auth0's id of the event: an event is applied once.
    #[schema(example = "90020260101000000000000000000000000000000000000001")]
    pub log_id: String,
    pub data: LogStreamEventData,
}

/// The event's details (Auth0's log event).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogStreamEventData {
    /// Auth0's log type code: `sv`, `scp`, `sdu`, `limit_wc`, `limit_sul`,
    /// `limit_mu` and `gd_enrollment_complete` are acted on, others ignored.
    #[serde(rename = "type")]
    #[schema(example = "sv")]
    pub code: String,
    /// The Auth0 user the event is about.
    #[schema(example = "auth0|65a1b2c3d4e5f6a7b8c9d0e1")]
    pub user_id: Option<String>,
    /// The account's user name (its e-mail address on database connections).
    pub user_name: Option<String>,
    pub date: Option<String>,
    pub description: Option<String>,
    pub connection: Option<String>,
    pub ip: Option<String>,
}

/// A delivery: the events as a JSON array (`JSONARRAY`), one per line
/// (`JSONLINES`), or one event (`JSONOBJECT`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LogStreamPayload {
    Events(Vec<LogStreamEvent>),
    Event(LogStreamEvent),
}

/// What Nexus does with an event, by its Auth0 log type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `sv` (success verification e-mail): the user's address is verified.
    EmailVerified,
    /// `scp` (success change password): reported.
    PasswordChanged,
    /// `sdu` (successful user deletion): the identity is unlinked, reported.
    UserDeleted,
    /// `limit_wc`, `limit_sul`, `limit_mu` (brute-force protection blocked
    /// the account or its address): reported.
    LoginBlocked,
    /// `gd_enrollment_complete` (MFA enrollment complete): the user's
    /// `mfaEnrollmentStatus` becomes `Enrolled`.
    MfaEnrolled,
}

impl Effect {
    /// Every code handled, with its effect.
    pub const CODES: &'static [(&'static str, Effect)] = &[
        ("sv", Effect::EmailVerified),
        ("scp", Effect::PasswordChanged),
        ("sdu", Effect::UserDeleted),
        ("limit_wc", Effect::LoginBlocked),
        ("limit_sul", Effect::LoginBlocked),
        ("limit_mu", Effect::LoginBlocked),
        ("gd_enrollment_complete", Effect::MfaEnrolled),
    ];

    pub fn of(code: &str) -> Option<Effect> {
        Effect::CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, effect)| *effect)
    }

    /// The operation the audit trail records the event as.
    pub fn operation(self) -> &'static str {
        match self {
            Effect::EmailVerified => "logStreamEmailVerified",
            Effect::PasswordChanged => "logStreamPasswordChanged",
            Effect::UserDeleted => "logStreamUserDeleted",
            Effect::LoginBlocked => "logStreamLoginBlocked",
            Effect::MfaEnrolled => "logStreamMfaEnrolled",
        }
    }
}

/// What became of a delivery's events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamReceipt {
    /// Events in the delivery.
    pub received: u32,
    /// Events that changed something (and were audited).
    pub applied: u32,
    /// Events whose `log_id` was received before: nothing was done again.
    pub duplicates: u32,
    /// Events of a type Nexus does not act on, or about an Auth0 user no
    /// Nexus user is linked to, or that no longer apply.
    pub ignored: u32,
}

/// Reads a delivery in any of the formats a custom-webhook stream sends:
/// a JSON array of events (`JSONARRAY`), one event per line (`JSONLINES`),
/// or one event (`JSONOBJECT`).
pub fn parse_payload(bytes: &[u8]) -> Result<Vec<LogEvent>, String> {
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_slice(bytes).into_iter::<Value>() {
        let value =
            value.map_err(|e| format!("the body is not JSON, JSON lines or a JSON array: {e}"))?;
        values.push(value);
    }
    let items = match values.as_slice() {
        [] => return Err("the body is empty; log events are required".to_owned()),
        [Value::Array(items)] => items.clone(),
        _ => values,
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_item(item).map_err(|e| format!("event {index}: {e}")))
        .collect()
}

fn parse_item(item: &Value) -> Result<LogEvent, String> {
    let Value::Object(item) = item else {
        return Err("must be an object {log_id, data}".to_owned());
    };
    let log_id = required_text(item.get("log_id"), "log_id", LOG_ID_MAX)?;
    let Some(Value::Object(data)) = item.get("data") else {
        return Err("data must be an object".to_owned());
    };
    let code = required_text(data.get("type"), "data.type", TYPE_MAX)?;
    let text = |field: &str| -> Result<Option<String>, String> {
        match data.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => required_text(Some(value), &format!("data.{field}"), TEXT_MAX).map(Some),
        }
    };
    Ok(LogEvent {
        log_id,
        code,
        user_id: text("user_id")?,
        user_name: text("user_name")?,
        date: text("date")?,
        description: text("description")?,
        ip: text("ip")?,
    })
}

fn required_text(value: Option<&Value>, field: &str, max: usize) -> Result<String, String> {
    match value {
        Some(Value::String(text)) if !text.is_empty() && text.chars().count() <= max => {
            Ok(text.clone())
        }
        Some(Value::String(_)) => Err(format!("{field} must be 1–{max} characters long")),
        None | Some(Value::Null) => Err(format!("{field} is required")),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"log_id":"90020","data":{"type":"sv","user_id":"auth0|a","date":"2026-01-01T00:00:00.000Z","extra":{"x":1}}}"#;
    const TWO: &str = r#"{"log_id":"90021","data":{"type":"sdu","user_id":"auth0|b"}}"#;

    #[test]
    fn the_three_formats_read_alike() {
        let array = parse_payload(format!("[{ONE},{TWO}]").as_bytes()).unwrap();
        let lines = parse_payload(format!("{ONE}\n{TWO}\n").as_bytes()).unwrap();
        assert_eq!(array, lines);
        assert_eq!(array[0].code, "sv");
        assert_eq!(array[1].user_id.as_deref(), Some("auth0|b"));
        let object = parse_payload(ONE.as_bytes()).unwrap();
        assert_eq!(object, array[..1]);
    }

    #[test]
    fn malformed_events_are_named() {
        assert_eq!(
            parse_payload(b" ").unwrap_err(),
            "the body is empty; log events are required"
        );
        assert!(parse_payload(b"{nope")
            .unwrap_err()
            .starts_with("the body is not JSON"));
        assert_eq!(
            parse_payload(format!("[{ONE}, {{\"data\":{{\"type\":\"sv\"}}}}]").as_bytes())
                .unwrap_err(),
            "event 1: log_id is required"
        );
        assert_eq!(
            parse_payload(br#"{"log_id":"1","data":{"type":7}}"#).unwrap_err(),
            "event 0: data.type must be a string"
        );
        assert_eq!(
            parse_payload(b"[1]").unwrap_err(),
            "event 0: must be an object {log_id, data}"
        );
    }

    #[test]
    fn codes_map_to_effects() {
        assert_eq!(Effect::of("sdu"), Some(Effect::UserDeleted));
        assert_eq!(Effect::of("limit_mu"), Some(Effect::LoginBlocked));
        assert_eq!(Effect::of("s"), None);
    }
}
