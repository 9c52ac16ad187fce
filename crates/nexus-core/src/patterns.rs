//! The value rules of the parsers, written as ECMA-262 patterns for the
//! OpenAPI document. Each pattern is tested here against the parser whose
//! rule it states, so the document and the server cannot drift apart. The
//! syntax used (`\uXXXX`, classes, groups, bounded repeats) means the same
//! to ECMA-262, Python's `re` and Rust's `regex`.

/// `check_text`: no control character (Unicode category Cc).
pub const NO_CONTROL_CHARACTERS: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// Text without whitespace (an audience, a client id).
pub const NO_WHITESPACE: &str = r"^[^\s\u0000-\u001F\u007F-\u009F]*$";

/// A name that paths also accept in place of a numeric id: text with at
/// least one character that is not a digit.
pub const NOT_ONLY_DIGITS: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F0-9][^\u0000-\u001F\u007F-\u009F]*$";

/// `LogStreamToken`: visible ASCII, no space (its length is the schema's
/// `minLength`/`maxLength`).
pub const LOG_STREAM_TOKEN: &str = r"^[!-~]*$";

/// `PhoneNumber`: E.164.
pub const PHONE_NUMBER: &str = r"^\+[1-9][0-9]{1,14}$";

/// `DnsName`: dot-separated LDH labels of 1–63 characters (the whole at
/// most 253, stated as `maxLength`).
pub const DNS_NAME: &str = concat!(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
);

/// `DomainName` (an organization's domain), over ASCII: at least two
/// LDH labels, any letter case, an optional trailing dot (the whole at most
/// 253, stated as `maxLength`). The parser also takes internationalized
/// names, which no pattern states.
pub const ORGANIZATION_DOMAIN: &str = concat!(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\.?$"
);

/// `CustomUpnValue`: `user_part@domain_part`, one `@`, no whitespace, the
/// domain a DNS name.
pub const CUSTOM_UPN_VALUE: &str = concat!(
    r"^[^@\s\u0000-\u001F\u007F-\u009F]+@",
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
);

/// One permission code of a role: lowercase dotted (at most 100 characters,
/// stated as `maxLength`).
pub const PERMISSION_CODE: &str = r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$";

/// A URL host: `[::1]`, an IPv4 address, or a name whose last label starts
/// with a letter (a last label of digits, or `0x…`, is read as an IPv4 part
/// by URL parsers).
macro_rules! host {
    () => {
        concat!(
            r"(\[::1\]|([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*",
            r"|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))"
        )
    };
}

/// An optional port after a URL's host.
macro_rules! port {
    () => {
        r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
    };
}

/// What may follow a URL's host: a port, then a path, query or fragment.
macro_rules! after_host {
    () => {
        concat!(port!(), r"([/?#][^\s\u0000-\u001F\u007F-\u009F]*)?$")
    };
}

/// `parse_base_url`: an https URL, or an http one on a loopback host.
pub const BASE_URL: &str = concat!(
    r"^([Hh][Tt][Tt][Pp][Ss]://",
    host!(),
    r"|[Hh][Tt][Tt][Pp]://(127\.0\.0\.1|localhost|\[::1\]))",
    after_host!()
);

/// `HttpUrl`: an absolute http or https URL with a host name or IPv4
/// address and an optional port. The parser requires this shape and also
/// that the URL parses.
pub const HTTP_URL: &str = concat!(r"^[Hh][Tt][Tt][Pp][Ss]?://", host!(), after_host!());

/// `WebhookUrl`: an absolute http or https URL with a host name or IPv4
/// address, an optional port, and no fragment (`http` is accepted only
/// where private addresses are allowed).
pub const WEBHOOK_URL: &str = concat!(
    r"^[Hh][Tt][Tt][Pp][Ss]?://",
    host!(),
    port!(),
    r"([/?][^\s#\u0000-\u001F\u007F-\u009F]*)?$"
);

/// The inside of a non-empty OData string literal: a quote only doubled.
pub const ODATA_STRING_CONTENT: &str = r"^([^']|'')+$";

/// An organization's numeric id (within int32).
pub const ORGANIZATION_ID: &str = r"^-?[0-9]{1,9}$";

/// How many words a space-separated list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    AtLeastOne,
    AnyNumber,
}

/// A space-separated list of the given words.
pub fn space_separated(words: &[&str], count: Words) -> String {
    let word = format!("({})", words.join("|").replace('.', r"\."));
    let list = format!("{word}( +{word})*");
    match count {
        Words::AtLeastOne => format!("^ *{list} *$"),
        Words::AnyNumber => format!("^ *({list})? *$"),
    }
}

/// A comma-separated list of the given words, each optional, with spaces
/// around them allowed (the `roles` query of the membership role removal).
pub fn comma_separated(words: &[&str]) -> String {
    let word = format!(r"\s*({})?\s*", words.join("|"));
    format!("^{word}(,{word})*$")
}

/// `SystemName` of an organization alias: ASCII letters, digits, `.`,
/// `_` and `-`, starting with a letter or digit, 1–100 characters.
pub const SYSTEM_NAME: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";

/// `ProductName`: ASCII letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit (its length is the schema's `maxLength`).
pub const PRODUCT_NAME: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]*$";

/// `ModuleString`: ASCII letters, digits, `.`, `_`, `:`, `-`, starting with
/// a letter or digit (its length is the schema's `maxLength`).
pub const MODULE_STRING: &str = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$";

/// `AzoClientId`: an Auth0 client id, ASCII letters, digits, `_` and `-`
/// (its length is the schema's `minLength`/`maxLength`).
pub const AZO_CLIENT_ID: &str = r"^[A-Za-z0-9_-]+$";

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::validation::{check_text, Len};
    use crate::values::{CustomUpnValue, DnsName, HttpUrl, PhoneNumber};

    /// The pattern accepts exactly what the parser accepts, over the samples.
    fn agrees(pattern: &str, parser: impl Fn(&str) -> bool, samples: &[&str]) {
        let regex = Regex::new(pattern).expect("a valid pattern");
        for sample in samples {
            assert_eq!(
                regex.is_match(sample),
                parser(sample),
                "{pattern} and the parser disagree on {sample:?}"
            );
        }
    }

    #[test]
    fn system_names() {
        let long = "a".repeat(100);
        let longer = "a".repeat(101);
        let samples = [
            "crm",
            "Sales.Force_1-x",
            "9",
            &long,
            &longer,
            "",
            ".x",
            "-x",
            "a b",
            "a/b",
            "é",
        ];
        agrees(
            SYSTEM_NAME,
            |s| crate::organization_alias::SystemName::parse(s).is_ok(),
            &samples,
        );
    }

    #[test]
    fn product_names_and_client_ids() {
        let long = "a".repeat(100);
        let samples = [
            "ledger",
            "Ledger-2.0_b",
            "9",
            &long,
            "",
            ".x",
            "-x",
            "_x",
            "a b",
            "a/b",
            "é",
            "a\n",
        ];
        agrees(
            PRODUCT_NAME,
            |s| crate::product::ProductName::parse(s).is_ok(),
            &samples,
        );
        agrees(
            MODULE_STRING,
            |s| crate::upsell::ModuleString::parse(s).is_ok(),
            &[
                "a",
                "HR:payroll.v2_x-1",
                "",
                ":a",
                "-x",
                "a b",
                "a/b",
                "é",
                "a\n",
            ],
        );
        let long = "c".repeat(64);
        let samples = [
            "a", "A-z_09", "-", "_", &long, "", "a b", "a.b", "é", "a/b", "a\n",
        ];
        agrees(
            AZO_CLIENT_ID,
            |s| crate::values::AzoClientId::parse(s).is_ok(),
            &samples,
        );
    }

    #[test]
    fn log_stream_tokens() {
        let parser = |t: &str| {
            crate::idp_tenant::LogStreamToken::new(format!("{t}0123456789abcdef"))
                .check()
                .is_ok()
        };
        let pattern = |t: &str| {
            Regex::new(LOG_STREAM_TOKEN)
                .unwrap()
                .is_match(&format!("{t}0123456789abcdef"))
        };
        for sample in ["", "a b", "tab\t", "é", "~!{}", "Bearer", "\u{7f}"] {
            assert_eq!(pattern(sample), parser(sample), "{sample:?}");
        }
    }

    #[test]
    fn text_and_names() {
        let samples = [
            "",
            "a",
            "a\u{7}",
            "tab\there",
            "\u{85}",
            "ok é ✓",
            "123",
            "12a",
            "a12",
        ];
        agrees(
            NO_CONTROL_CHARACTERS,
            |s| check_text(s, Len::at_most(100)).is_ok(),
            &samples,
        );
        agrees(
            NOT_ONLY_DIGITS,
            |s| {
                check_text(s, Len::between(1, 100)).is_ok()
                    && !s.bytes().all(|b| b.is_ascii_digit())
            },
            &samples,
        );
    }

    #[test]
    fn no_whitespace() {
        agrees(
            NO_WHITESPACE,
            |s| check_text(s, Len::at_most(100)).is_ok() && !s.chars().any(char::is_whitespace),
            &[
                "https://api.example.com",
                "a b",
                "a\u{a0}b",
                "a\u{2003}",
                "x\u{7}",
                "",
            ],
        );
    }

    #[test]
    fn phone_numbers() {
        agrees(
            PHONE_NUMBER,
            |s| PhoneNumber::parse(s).is_ok(),
            &[
                "+14155550123",
                "+1",
                "+01234",
                "14155550123",
                "+123456789012345",
                "+1234567890123456",
                "+1 415",
            ],
        );
    }

    #[test]
    fn organization_domains_over_ascii() {
        use crate::organization_domain::DomainName;
        let long_label = format!("{}.com", "a".repeat(64));
        let max_label = format!("{}.com", "a".repeat(63));
        let names = [
            "example.com",
            "Example.COM.",
            "a",
            "a.",
            "a-b.c",
            "-a.com",
            "a-.com",
            "a..b",
            ".a.b",
            "a.b..",
            "under_score.com",
            "a b.com",
            long_label.as_str(),
            max_label.as_str(),
            "1.2.3.4",
        ];
        agrees(
            ORGANIZATION_DOMAIN,
            |s| DomainName::parse(s).is_ok(),
            &names,
        );
    }

    #[test]
    fn dns_names_and_custom_upns() {
        let long_label = "a".repeat(64);
        let max_label = "a".repeat(63);
        let names = [
            "example.com",
            "a",
            "a-b.c",
            "-a.com",
            "a-.com",
            "a..b",
            ".a",
            "a.",
            "xn--bcher-kva.example",
            "under_score.com",
            long_label.as_str(),
            max_label.as_str(),
            "1.2.3.4",
            "é.com",
        ];
        agrees(DNS_NAME, |s| DnsName::parse(s).is_ok(), &names);
        let upns: Vec<String> = names
            .iter()
            .map(|n| format!("user@{n}"))
            .chain(
                [
                    "@example.com",
                    "a@b@c",
                    "a b@c",
                    "a@",
                    "ü.ser@x",
                    "a\u{a0}b@c",
                    "tab\t@c",
                ]
                .map(String::from),
            )
            .collect();
        let upns: Vec<&str> = upns.iter().map(String::as_str).collect();
        agrees(
            CUSTOM_UPN_VALUE,
            |s| CustomUpnValue::parse(s).is_ok(),
            &upns,
        );
    }

    #[test]
    fn permission_codes() {
        agrees(
            PERMISSION_CODE,
            |s| crate::auth::Permissions::parse(s).is_ok_and(|p| p.codes().len() == 1),
            &[
                "user.read",
                "read",
                "a_b-c.d",
                "User.read",
                "user..read",
                ".read",
                "read.",
                "",
                "a b",
            ],
        );
    }

    #[test]
    fn http_urls() {
        agrees(
            HTTP_URL,
            |s| HttpUrl::parse(s, 250).is_ok(),
            &[
                "https://example.com/api/v2/",
                "http://127.0.0.1:4010",
                "HTTPS://A.B",
                "ftp://x",
                "https://",
                "https:///path",
                "https://a b",
                "https://x/a b",
                "https://x?q=1#f",
                "example.com",
                "https://a.7",
                "https://a.0x1f",
                "http://127.0.0.1:65535",
                "http://127.0.0.1:65536",
                "https://1.2.3.4:80",
                "https://256.1.1.1",
                "https://a.b7",
            ],
        );
    }

    #[test]
    fn base_urls() {
        agrees(
            BASE_URL,
            |s| crate::idp_tenant::parse_base_url(s).is_ok(),
            &[
                "https://tenant.example.com",
                "http://127.0.0.1:4010",
                "http://localhost/",
                "http://[::1]:9",
                "http://example.com",
                "http://127.0.0.2",
                "https://[::1]",
                "ftp://localhost",
                "https://x/a b",
            ],
        );
    }

    #[test]
    fn space_separated_words() {
        let words = ["read", "user.read"];
        let parse = |s: &str| {
            crate::auth::Permissions::parse(s)
                .is_ok_and(|p| p.codes().iter().all(|c| words.contains(&c.as_str())))
        };
        let samples = [
            "read",
            " read  user.read ",
            "",
            "userxread",
            "read,user.read",
            "readread",
            "bogus",
        ];
        agrees(&space_separated(&words, Words::AnyNumber), parse, &samples);
        agrees(
            &space_separated(&words, Words::AtLeastOne),
            |s| parse(s) && !s.trim().is_empty(),
            &samples,
        );
    }

    #[test]
    fn comma_separated_words() {
        let pattern = comma_separated(&["organization-admin"]);
        let split = |s: &str| {
            s.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .all(|w| w == "organization-admin")
        };
        agrees(
            &pattern,
            split,
            &[
                "",
                "organization-admin",
                " organization-admin , organization-admin",
                ",,",
                "owner",
                "organization-adminorganization-admin",
                "organization-admin,owner",
            ],
        );
    }
}
