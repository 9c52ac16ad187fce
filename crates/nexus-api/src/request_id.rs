//! `X-Request-Id`: the caller's own id when it is usable, otherwise a new
//! UUID. It is answered in the response header, logged with every line of
//! the request and named in problem responses.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller id kept; a longer one is replaced.
pub const MAX_LEN: usize = 200;

/// The id of the request being handled (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The caller's id if it is 1 to `MAX_LEN` visible ASCII characters,
    /// otherwise a new UUID.
    pub fn of(headers: &HeaderMap) -> RequestId {
        headers
            .get(&HEADER)
            .filter(|value| usable(value.as_bytes()))
            .map(|value| RequestId(value.clone()))
            .unwrap_or_else(Self::generate)
    }

    fn generate() -> RequestId {
        let id = uuid::Uuid::now_v7().to_string();
        RequestId(HeaderValue::from_str(&id).expect("a UUID is a valid header value"))
    }

    pub fn as_str(&self) -> &str {
        self.0.to_str().expect("checked to be visible ASCII")
    }

    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// Visible ASCII only: an id goes into log lines and JSON as it is, so no
// spaces or control characters that could forge or split a line.
fn usable(bytes: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(value: &[u8]) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(
            HEADER,
            HeaderValue::from_bytes(value).expect("header value"),
        );
        RequestId::of(&headers).to_string()
    }

    #[test]
    fn keeps_a_usable_caller_id() {
        assert_eq!(id_for(b"abc-123_x.y:z"), "abc-123_x.y:z");
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(id_for(longest.as_bytes()), longest);
    }

    #[test]
    fn replaces_an_unusable_one_with_a_uuid() {
        for bad in [
            "a".repeat(MAX_LEN + 1).into_bytes(),
            b"has space".to_vec(),
            b"tab\there".to_vec(),
            "caf\u{e9}".as_bytes().to_vec(),
        ] {
            let id = id_for(&bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert!(uuid::Uuid::parse_str(&RequestId::of(&HeaderMap::new()).to_string()).is_ok());
    }
}
