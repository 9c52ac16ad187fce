//! An organization's domains and how a domain is proven: a DNS TXT record
//! that holds the domain's current verification code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{check_text, Check, Len};
use crate::values::{AuthenticationMethod, DnsName};
use crate::{Timestamp, ValidationErrors};

/// One of an organization's domains (OrganizationDomain).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationDomain {
    pub domain_id: i32,
    /// Lower-case ASCII: an internationalized name in its punycode form.
    #[schema(example = "acme.example.com")]
    pub domain: String,
    pub organization_id: i32,
    /// The organization that has verified the domain: this one once it has,
    /// another if that one verified it first, null while none has.
    pub owner_organization_id: Option<i32>,
    pub is_verified: bool,
    /// When this organization verified the domain.
    pub verified: Option<Timestamp>,
    /// The value the TXT record `_nexus-verification.<domain>` must hold
    /// after `nexus-verification=`; null until one is generated.
    pub verification_code: Option<String>,
    pub verification_code_expires: Option<Timestamp>,
    pub verification_method: DomainVerificationMethod,
    pub authentication_method: AuthenticationMethod,
    /// The source that started the creation; read-only afterwards.
    pub domain_source: Option<String>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

crate::values::wire_enum!(
    /// How a domain is proven: `DnsTxt`, a TXT record at
    /// `_nexus-verification.<domain>` holding `nexus-verification=<code>`.
    DomainVerificationMethod { DnsTxt }
);

/// The name of the TXT record that proves `domain`.
pub fn verification_record_name(domain: &str) -> String {
    format!("_nexus-verification.{domain}")
}

/// The value the TXT record must hold, exactly, for `code`.
pub fn verification_record_value(code: &str) -> String {
    format!("nexus-verification={code}")
}

/// A domain as stored: IDNA (UTS 46) ASCII, lower case, without a trailing
/// dot, at least two labels of 1-63 letters, digits or inner hyphens, at
/// most 253 characters in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(String);

impl DomainName {
    pub const MAX_LEN: usize = 253;

    pub fn parse(value: &str) -> Result<Self, String> {
        check_text(value, Len::between(1, Self::MAX_LEN))?;
        let name = value.strip_suffix('.').unwrap_or(value);
        let ascii = idna::domain_to_ascii(name)
            .map_err(|_| "must be a DNS name; it is not a valid internationalized domain name")?;
        DnsName::parse(&ascii).map_err(|e| match name.is_ascii() {
            true => e,
            false => format!("{e} (in its ASCII form {ascii})"),
        })?;
        if !ascii.contains('.') {
            return Err("must be a DNS name of at least two labels, e.g. example.com".to_owned());
        }
        Ok(DomainName(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const DOMAIN_SOURCE: Len = Len::at_most(250);

/// Body of `POST /v1/organizations/{organizationId}/domains`
/// (CreateOrganizationDomain).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrganizationDomainBody {
    /// A DNS name of at least two labels; letter case and a trailing dot do
    /// not matter. Internationalized names are also accepted and kept in
    /// their ASCII (punycode) form.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 253, example = "acme.example.com")]
    pub domain: Option<String>,
    #[schema(required = true, value_type = DomainVerificationMethod)]
    pub verification_method: Option<String>,
    /// How the domain's users sign in.
    #[schema(required = true, value_type = AuthenticationMethod)]
    pub authentication_method: Option<String>,
    /// The source that started the creation; read-only afterwards.
    #[schema(max_length = 250)]
    pub domain_source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOrganizationDomain {
    pub domain: DomainName,
    pub verification_method: DomainVerificationMethod,
    pub authentication_method: AuthenticationMethod,
    pub domain_source: Option<String>,
}

impl CreateOrganizationDomainBody {
    pub fn into_new(self) -> Result<NewOrganizationDomain, ValidationErrors> {
        let mut check = Check::new();
        let domain = check.required("domain", self.domain);
        let domain = check.parse("domain", domain, DomainName::parse);
        let method = check.required("verificationMethod", self.verification_method);
        let method = check.parse(
            "verificationMethod",
            method,
            DomainVerificationMethod::parse,
        );
        let authentication = check.required("authenticationMethod", self.authentication_method);
        let authentication = check.parse(
            "authenticationMethod",
            authentication,
            AuthenticationMethod::parse,
        );
        let domain_source = check.text("domainSource", self.domain_source, DOMAIN_SOURCE);
        check.finish_with(|| NewOrganizationDomain {
            domain: domain.expect("checked"),
            verification_method: method.expect("checked"),
            authentication_method: authentication.expect("checked"),
            domain_source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_become_lower_case_ascii() {
        let parsed = |v: &str| DomainName::parse(v).map(|d| d.as_str().to_owned());
        assert_eq!(parsed("Acme.Example.COM.").unwrap(), "acme.example.com");
        assert_eq!(parsed("bücher.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(parsed("a-b.c1").unwrap(), "a-b.c1");
    }

    #[test]
    fn bad_domains_are_refused() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(62); 4].join("."));
        for bad in [
            "",
            "com",
            "com.",
            "a..b",
            ".a.b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "a b.com",
            "a.com..",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let longest = format!(
            "{}.com",
            vec!["a".repeat(62); 4].join(".")[..249].to_owned()
        );
        assert_eq!(longest.len(), 253);
        assert!(DomainName::parse(&longest).is_ok());
    }

    #[test]
    fn body_reports_every_bad_field() {
        let errors = CreateOrganizationDomainBody {
            domain: Some("nope".into()),
            verification_method: Some("Email".into()),
            authentication_method: None,
            domain_source: Some("s".repeat(251)),
        }
        .into_new()
        .unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "authenticationMethod",
                "domain",
                "domainSource",
                "verificationMethod"
            ]
        );
        assert!(errors.fields()["verificationMethod"][0].contains("DnsTxt"));
    }
}
