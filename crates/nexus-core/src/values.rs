//! Constrained values. Each has one constructor that checks every rule, so a
//! rule lives in exactly one place and nothing unchecked reaches the store.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{check_text, Len};

macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// `user_part@domain_part`, for legacy AD/RDP applications.
    CustomUpnValue
);
text_value!(
    /// Ties a custom UPN to Auth0 clients whose `client_metadata.app_upn_key`
    /// equals it.
    ClientUpnKey
);
text_value!(EmailAddress);
text_value!(
    /// E.164: `+`, a country code not starting with 0, at most 15 digits in all.
    PhoneNumber
);
text_value!(
    /// A DNS host name: dot-separated LDH labels.
    DnsName
);
text_value!(
    /// An absolute http(s) URL.
    HttpUrl
);
text_value!(
    /// The id of an Auth0 client (application): 1-64 ASCII letters, digits,
    /// `_` or `-`.
    AzoClientId
);

impl AzoClientId {
    pub fn parse(value: &str) -> Result<Self, String> {
        let shaped = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if shaped && (1..=64).contains(&value.len()) {
            Ok(AzoClientId(value.to_owned()))
        } else {
            Err("must be 1-64 ASCII letters, digits, '_' or '-'".to_owned())
        }
    }
}

impl CustomUpnValue {
    pub const MAX_LEN: usize = 1024; // seed 000: maxLength 1024

    pub fn parse(value: &str) -> Result<Self, String> {
        check_text(value, Len::between(1, Self::MAX_LEN))?;
        if value.chars().any(char::is_whitespace) {
            return Err("must not contain whitespace".to_owned());
        }
        let mut parts = value.split('@');
        let (user, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(user), Some(domain), None) => (user, domain),
            _ => {
                return Err(
                    "must take the form user_part@domain_part with exactly one '@'".to_owned(),
                )
            }
        };
        if user.is_empty() {
            return Err("must have a non-empty user_part before '@'".to_owned());
        }
        DnsName::parse(domain).map_err(|e| format!("domain_part {e}"))?;
        Ok(CustomUpnValue(value.to_owned()))
    }
}

impl ClientUpnKey {
    pub const MAX_LEN: usize = 255; // seed 000: maxLength 255

    pub fn parse(value: &str) -> Result<Self, String> {
        // An empty key could never match a client's app_upn_key; "no key" is null.
        check_text(value, Len::between(1, Self::MAX_LEN))?;
        Ok(ClientUpnKey(value.to_owned()))
    }
}

impl DnsName {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() {
            return Err("must be a DNS name, not empty".to_owned());
        }
        if value.len() > 253 {
            return Err("must be a DNS name of at most 253 characters".to_owned());
        }
        for label in value.split('.') {
            let valid = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !valid {
                return Err(format!(
                    "must be a DNS name (labels of 1-63 letters, digits or inner hyphens); '{label}' is not a valid label"
                ));
            }
        }
        Ok(DnsName(value.to_owned()))
    }
}

impl EmailAddress {
    pub const MAX_LEN: usize = 250;

    pub fn parse(value: &str) -> Result<Self, String> {
        static LOCAL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
                .expect("valid regex")
        });
        check_text(value, Len::between(1, Self::MAX_LEN))?;
        let invalid = || "must be an email address such as name@example.com".to_owned();
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        if local.len() > 64 || !LOCAL.is_match(local) {
            return Err(invalid());
        }
        if !domain.contains('.') || DnsName::parse(domain).is_err() {
            return Err(invalid());
        }
        Ok(EmailAddress(value.to_owned()))
    }
}

impl PhoneNumber {
    pub fn parse(value: &str) -> Result<Self, String> {
        static E164: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^\+[1-9][0-9]{1,14}$").expect("valid regex"));
        if E164.is_match(value) {
            Ok(PhoneNumber(value.to_owned()))
        } else {
            Err("must be an E.164 phone number such as +14155550123".to_owned())
        }
    }
}

impl HttpUrl {
    pub fn parse(value: &str, max_len: usize) -> Result<Self, String> {
        static SHAPE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(crate::patterns::HTTP_URL).expect("valid regex"));
        check_text(value, Len::between(1, max_len))?;
        if !SHAPE.is_match(value) {
            return Err("must be an absolute http or https URL".to_owned());
        }
        match url::Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Ok(HttpUrl(value.to_owned()))
            }
            _ => Err("must be an absolute http or https URL".to_owned()),
        }
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Accepts the canonical spelling in any letter case.
            pub fn parse(value: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(value))
                    .ok_or_else(|| {
                        let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!("must be one of {}", names.join(", "))
                    })
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// How a user signs in.
    AuthenticationMethod { Database, Ad, Federation, Email, Sms }
);
wire_enum!(
    /// How CreateUser reads `organization`.
    OrganizationIdType { Id, Name }
);
wire_enum!(OrganizationType {
    Customer,
    Partner,
    BusinessUnit,
    FunctionalArea
});

impl AuthenticationMethod {
    /// The method of an identity on a connection of this Auth0 strategy.
    pub fn from_strategy(strategy: &str) -> AuthenticationMethod {
        match strategy {
            "auth0" => AuthenticationMethod::Database,
            "ad" | "auth0-adldap" => AuthenticationMethod::Ad,
            "email" => AuthenticationMethod::Email,
            "sms" => AuthenticationMethod::Sms,
            _ => AuthenticationMethod::Federation,
        }
    }

    /// The Auth0 connection strategy an identity of this method is created with
    /// when the caller does not name one.
    pub fn default_strategy(&self) -> &'static str {
        match self {
            AuthenticationMethod::Database => "auth0",
            AuthenticationMethod::Ad => "ad",
            AuthenticationMethod::Federation => "samlp",
            AuthenticationMethod::Email => "email",
            AuthenticationMethod::Sms => "sms",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_upn_value_accepts_the_documented_form() {
        assert!(CustomUpnValue::parse("justin@acme.ecihosted.com").is_ok());
        assert!(CustomUpnValue::parse("j.b-1@corp").is_ok());
    }

    #[test]
    fn custom_upn_value_rejects_malformed() {
        for bad in [
            "",
            "justin",
            "@acme.com",
            "justin@",
            "a@b@c.com",
            "jus tin@acme.com",
            "justin@acme..com",
            "justin@-acme.com",
            "justin@acme_corp.com",
            "justin@acme.com\n",
        ] {
            assert!(CustomUpnValue::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn custom_upn_value_length_edge() {
        let domain = "a.b";
        let at_limit = format!("{}@{domain}", "u".repeat(1024 - 1 - domain.len()));
        assert_eq!(at_limit.len(), 1024);
        assert!(CustomUpnValue::parse(&at_limit).is_ok());
        let over = format!("u{at_limit}");
        assert!(CustomUpnValue::parse(&over)
            .unwrap_err()
            .contains("at most 1024"));
    }

    #[test]
    fn client_upn_key_edges() {
        assert!(ClientUpnKey::parse(&"k".repeat(255)).is_ok());
        assert!(ClientUpnKey::parse(&"k".repeat(256)).is_err());
        assert!(ClientUpnKey::parse("").is_err());
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert!(PhoneNumber::parse("+14155550123").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
        for bad in [
            "14155550123",
            "+0123",
            "+1234567890123456",
            "+1 415 555",
            "+",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn email_addresses() {
        assert!(EmailAddress::parse("justin@example.com").is_ok());
        assert!(EmailAddress::parse("first.last+tag@sub.example.co").is_ok());
        for bad in [
            "justin",
            "justin@example",
            "a..b@example.com",
            "@example.com",
            "a b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn enums_parse_case_insensitively_and_render_canonically() {
        assert_eq!(
            AuthenticationMethod::parse("database").unwrap().as_str(),
            "Database"
        );
        assert!(AuthenticationMethod::parse("Password")
            .unwrap_err()
            .contains("Database, Ad"));
        assert_eq!(
            OrganizationType::parse("BUSINESSUNIT").unwrap(),
            OrganizationType::BusinessUnit
        );
    }

    #[test]
    fn urls() {
        assert!(HttpUrl::parse("https://cdn.example.com/a.png", 250).is_ok());
        assert!(HttpUrl::parse("javascript:alert(1)", 250).is_err());
        assert!(HttpUrl::parse("/relative.png", 250).is_err());
    }
}
