use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant in UTC. On the wire and in the database it is RFC 3339 text with
/// exactly six fractional digits and a `Z`, so stored values sort as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        // Truncate to what the text form keeps, so a value read back compares equal.
        let now = Utc::now();
        Timestamp(
            DateTime::from_timestamp_micros(now.timestamp_micros())
                .expect("current time is in range"),
        )
    }

    /// Parses any RFC 3339 form (offsets are converted to UTC).
    pub fn parse(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| {
                let utc = t.with_timezone(&Utc);
                Timestamp(DateTime::from_timestamp_micros(utc.timestamp_micros()).unwrap_or(utc))
            })
            .map_err(|e| format!("must be an RFC 3339 date-time ({e})"))
    }

    /// `parse`, refusing a value finer than the microsecond that stored
    /// times keep: truncated, it would not compare as the caller wrote it.
    pub fn parse_micros(text: &str) -> Result<Self, String> {
        let parsed = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("must be an RFC 3339 date-time ({e})"))?;
        if parsed.timestamp_subsec_nanos() % 1000 != 0 {
            return Err(
                "must be an RFC 3339 date-time to the microsecond at most (six fractional digits)"
                    .to_owned(),
            );
        }
        Self::parse(text)
    }

    /// The time of a change to a record last changed at `previous`: now, or
    /// a microsecond after `previous` when this clock is behind it (another
    /// replica's clock ran ahead), so that `modified` never goes backwards.
    pub fn now_after(previous: Timestamp) -> Self {
        Timestamp::now().max(Timestamp(previous.0 + chrono::Duration::microseconds(1)))
    }

    pub fn plus_days(&self, days: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::days(days))
    }

    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::seconds(seconds))
    }

    pub fn plus(&self, duration: std::time::Duration) -> Self {
        Timestamp(self.0 + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX))
    }

    pub fn to_text(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339 date-time in UTC"))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_utc() {
        let t = Timestamp::parse("2026-01-02T03:04:05+01:00").unwrap();
        assert_eq!(t.to_text(), "2026-01-02T02:04:05.000000Z");
    }

    #[test]
    fn round_trips_through_text() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_text()).unwrap(), now);
    }

    #[test]
    fn now_after_never_goes_backwards() {
        let now = Timestamp::now();
        assert!(Timestamp::now_after(now) > now);
        let ahead = now.plus_seconds(60);
        assert_eq!(
            Timestamp::now_after(ahead),
            Timestamp(ahead.0 + chrono::Duration::microseconds(1))
        );
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(Timestamp::parse("2026-01-02 03:04").is_err());
    }
}
