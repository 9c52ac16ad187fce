//! Products: what organizations subscribe to, made of applications.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::application::Application;
use crate::role::NewRole;
use crate::validation::{json_object, Check, Len};
use crate::values::HttpUrl;
use crate::{Timestamp, ValidationErrors};

/// A product: what an organization subscribes to, made of applications.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: i32,
    /// Unique (case-insensitively).
    pub name: String,
    pub display_name: String,
    pub url: Option<String>,
    pub is_active: bool,
    /// A JSON object, for the product's operators.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// A JSON object that may be shown to anyone who sees the product.
    #[schema(value_type = Object)]
    pub public_metadata: Map<String, Value>,
    pub long_description: Option<String>,
    /// The organization that makes the product.
    pub organization_id: Option<i32>,
    /// The product's applications, by name.
    pub applications: Vec<Application>,
    /// Its subscriptions with `$expand=subscriptions`, else empty.
    pub subscriptions: Vec<crate::subscription::Subscription>,
    pub created: Timestamp,
    pub created_by: String,
    pub modified: Timestamp,
    pub modified_by: String,
}

/// The fields of a Product, for `$select`.
pub const PRODUCT_FIELDS: &[&str] = &[
    "id",
    "name",
    "displayName",
    "url",
    "isActive",
    "metadata",
    "publicMetadata",
    "longDescription",
    "organizationId",
    "applications",
    "subscriptions",
    "created",
    "createdBy",
    "modified",
    "modifiedBy",
];

pub const NAME: Len = Len::between(1, 100);
const DISPLAY_NAME: Len = Len::between(1, 250);
const URL_MAX: usize = 2048;
const LONG_DESCRIPTION: Len = Len::at_most(4000);
const AUDIENCE: Len = Len::between(1, 250);
/// The developer role of a product is named `{name}-developers`.
pub const DEVELOPERS_SUFFIX: &str = "-developers";
/// The longest product name whose developer role name fits a role name.
pub const NAME_WITH_DEVELOPERS_ROLE: usize = crate::role::ROLE_NAME.max - DEVELOPERS_SUFFIX.len();

/// A product's name: ASCII letters, digits, `.`, `_` and `-`, starting with
/// a letter or digit (it names roles and appears in URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(text: &str) -> Result<ProductName, String> {
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && text.len() <= NAME.max {
            Ok(ProductName(text.to_owned()))
        } else {
            Err(format!(
                "must be 1-{} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit",
                NAME.max
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Body of `POST /v1/products` (CreateProduct).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProductBody {
    /// Unique (case-insensitively). At most 89 characters with
    /// `developersRoleAudience`, so that the role's name fits.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, example = "ledger")]
    pub name: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 250, example = "Ledger")]
    pub display_name: Option<String>,
    /// An absolute http or https URL.
    #[schema(
        min_length = 1,
        max_length = 2048,
        example = "https://ledger.example.com"
    )]
    pub url: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
    /// A JSON object of at most 16384 bytes as JSON; default `{}`.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// A JSON object of at most 16384 bytes as JSON; default `{}`.
    #[schema(value_type = Option<Object>)]
    pub public_metadata: Option<Map<String, Value>>,
    #[schema(max_length = 4000)]
    pub long_description: Option<String>,
    /// The organization that makes the product.
    #[serde(default, deserialize_with = "crate::validation::opt_int32")]
    pub organization_id: Option<i32>,
    /// Also creates the product's developer role, `{name}-developers`, for
    /// this audience (the API the role applies to), in the same transaction.
    /// Needs the `role.write` permission besides `product.write`.
    #[schema(min_length = 1, max_length = 250, example = "https://api.example.com")]
    pub developers_role_audience: Option<String>,
}

/// Body of `PATCH /v1/products/{productId}`: an absent field is left as it
/// is; `null` clears `url`, `longDescription` and `organizationId` and
/// leaves the others.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchProductBody {
    /// Unique (case-insensitively). The developer role keeps its name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 250)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2048)]
    pub url: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// Replaces the metadata (a JSON object of at most 16384 bytes as JSON).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Replaces the public metadata (a JSON object of at most 16384 bytes
    /// as JSON).
    #[schema(value_type = Option<Object>)]
    pub public_metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "crate::validation::present")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub long_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validation::present_int32")]
    #[schema(value_type = Option<i32>)]
    pub organization_id: Option<Option<i32>>,
}

/// A checked product to create.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: ProductName,
    pub display_name: String,
    pub url: Option<String>,
    pub is_active: bool,
    pub metadata: Map<String, Value>,
    pub public_metadata: Map<String, Value>,
    pub long_description: Option<String>,
    pub organization_id: Option<i32>,
    /// The developer role to create with it.
    pub developers_role: Option<NewRole>,
}

/// Checked changes: `None` leaves a field as it is; `Some(None)` clears a
/// nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub display_name: Option<String>,
    pub url: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub metadata: Option<Map<String, Value>>,
    pub public_metadata: Option<Map<String, Value>>,
    pub long_description: Option<Option<String>>,
    pub organization_id: Option<Option<i32>>,
}

impl ProductChanges {
    /// `current` with these changes made (its collections untouched).
    pub fn applied_to(&self, current: &Product) -> Product {
        let mut next = current.clone();
        if let Some(name) = &self.name {
            next.name = name.as_str().to_owned();
        }
        if let Some(display_name) = &self.display_name {
            next.display_name = display_name.clone();
        }
        if let Some(url) = &self.url {
            next.url = url.clone();
        }
        if let Some(is_active) = self.is_active {
            next.is_active = is_active;
        }
        if let Some(metadata) = &self.metadata {
            next.metadata = metadata.clone();
        }
        if let Some(public_metadata) = &self.public_metadata {
            next.public_metadata = public_metadata.clone();
        }
        if let Some(long_description) = &self.long_description {
            next.long_description = long_description.clone();
        }
        if let Some(organization_id) = self.organization_id {
            next.organization_id = organization_id;
        }
        next
    }
}

fn url(check: &mut Check, value: Option<String>) -> Option<String> {
    check.parse("url", value, |u| {
        HttpUrl::parse(u, URL_MAX).map(HttpUrl::into_inner)
    })
}

fn name(check: &mut Check, value: Option<String>) -> Option<ProductName> {
    check.parse("name", value, ProductName::parse)
}

impl CreateProductBody {
    pub fn into_new(self) -> Result<NewProduct, ValidationErrors> {
        let mut check = Check::new();
        let name_text = check.required("name", self.name);
        let name = name(&mut check, name_text);
        let display_name = check.required_text("displayName", self.display_name, DISPLAY_NAME);
        let url = url(&mut check, self.url);
        let metadata = json_object(&mut check, "metadata", self.metadata);
        let public_metadata = json_object(&mut check, "publicMetadata", self.public_metadata);
        let long_description =
            check.text("longDescription", self.long_description, LONG_DESCRIPTION);
        let audience = check.text(
            "developersRoleAudience",
            self.developers_role_audience,
            AUDIENCE,
        );
        if audience
            .as_deref()
            .is_some_and(|a| a.chars().any(char::is_whitespace))
        {
            check.fail("developersRoleAudience", "must not contain whitespace");
        }
        if let (Some(name), Some(_)) = (&name, &audience) {
            if name.as_str().len() > NAME_WITH_DEVELOPERS_ROLE {
                check.fail(
                    "name",
                    format!(
                        "must be at most {NAME_WITH_DEVELOPERS_ROLE} characters long with \
                         developersRoleAudience: the role is named {{name}}{DEVELOPERS_SUFFIX}"
                    ),
                );
            }
        }
        check.finish_with(|| {
            let name = name.expect("checked");
            let display_name = display_name.expect("checked");
            let developers_role = audience.map(|audience| NewRole {
                name: format!("{}{DEVELOPERS_SUFFIX}", name.as_str()),
                audience,
                description: Some(format!("Developers of {display_name}")),
                permissions: Vec::new(),
            });
            NewProduct {
                name,
                display_name,
                url,
                is_active: self.is_active.unwrap_or(true),
                metadata,
                public_metadata,
                long_description,
                organization_id: self.organization_id,
                developers_role,
            }
        })
    }
}

impl PatchProductBody {
    pub fn into_changes(self) -> Result<ProductChanges, ValidationErrors> {
        let mut check = Check::new();
        let changes = ProductChanges {
            name: name(&mut check, self.name),
            display_name: check.text("displayName", self.display_name, DISPLAY_NAME),
            url: self.url.map(|set| url(&mut check, set)),
            is_active: self.is_active,
            metadata: self
                .metadata
                .map(|m| json_object(&mut check, "metadata", Some(m))),
            public_metadata: self
                .public_metadata
                .map(|m| json_object(&mut check, "publicMetadata", Some(m))),
            long_description: self
                .long_description
                .map(|set| check.text("longDescription", set, LONG_DESCRIPTION)),
            organization_id: self.organization_id,
        };
        check.finish_with(|| changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CreateProductBody {
        CreateProductBody {
            name: Some("ledger".into()),
            display_name: Some("Ledger".into()),
            ..Default::default()
        }
    }

    fn fields(errors: &ValidationErrors) -> Vec<String> {
        errors.fields().keys().cloned().collect()
    }

    fn refused(body: CreateProductBody) -> Vec<String> {
        fields(&body.into_new().unwrap_err())
    }

    #[test]
    fn defaults() {
        let new = body().into_new().unwrap();
        assert_eq!(new.name.as_str(), "ledger");
        assert!(new.is_active);
        assert!(new.metadata.is_empty() && new.public_metadata.is_empty());
        assert_eq!(new.url, None);
        assert!(new.developers_role.is_none());
    }

    #[test]
    fn every_missing_field_is_reported() {
        assert_eq!(
            refused(CreateProductBody::default()),
            ["displayName", "name"]
        );
    }

    #[test]
    fn name_edges_and_pattern() {
        for good in ["a", "9", "Ledger-2.0_beta", &"n".repeat(100)] {
            let new = CreateProductBody {
                name: Some(good.to_owned()),
                ..body()
            };
            assert!(new.into_new().is_ok(), "{good}");
        }
        for bad in [
            "",
            &"n".repeat(101),
            "-a",
            ".a",
            "_a",
            "a b",
            "a/b",
            "é",
            "a\n",
        ] {
            let new = CreateProductBody {
                name: Some(bad.to_owned()),
                ..body()
            };
            assert_eq!(refused(new), ["name"], "{bad:?}");
        }
    }

    #[test]
    fn display_name_edges() {
        let with = |n: usize| CreateProductBody {
            display_name: Some("d".repeat(n)),
            ..body()
        };
        assert!(with(1).into_new().is_ok());
        assert!(with(250).into_new().is_ok());
        assert_eq!(refused(with(0)), ["displayName"]);
        assert_eq!(refused(with(251)), ["displayName"]);
    }

    #[test]
    fn url_edges() {
        let with = |u: String| CreateProductBody {
            url: Some(u),
            ..body()
        };
        let base = "https://example.com/";
        let at_limit = format!("{base}{}", "p".repeat(URL_MAX - base.len()));
        assert!(with(at_limit.clone()).into_new().is_ok());
        assert_eq!(refused(with(format!("{at_limit}p"))), ["url"]);
        assert!(with("http://ledger.example.com:8080/x?y#z".into())
            .into_new()
            .is_ok());
        for bad in [
            "",
            "ftp://example.com",
            "example.com",
            "https://",
            "/relative",
        ] {
            assert_eq!(refused(with(bad.into())), ["url"], "{bad}");
        }
    }

    #[test]
    fn long_description_edges() {
        let with = |n: usize| CreateProductBody {
            long_description: Some("l".repeat(n)),
            ..body()
        };
        assert!(with(0).into_new().is_ok());
        assert!(with(4000).into_new().is_ok());
        assert_eq!(refused(with(4001)), ["longDescription"]);
    }

    #[test]
    fn metadata_size_edges() {
        // {"k":"…"} is 8 bytes besides the value.
        let of = |n: usize| {
            let mut map = Map::new();
            map.insert("k".into(), Value::String("v".repeat(n)));
            map
        };
        let limit = crate::validation::JSON_OBJECT_MAX_BYTES - 8;
        let ok = CreateProductBody {
            metadata: Some(of(limit)),
            public_metadata: Some(of(limit)),
            ..body()
        };
        assert!(ok.into_new().is_ok());
        let big = CreateProductBody {
            metadata: Some(of(limit + 1)),
            public_metadata: Some(of(limit + 1)),
            ..body()
        };
        assert_eq!(refused(big), ["metadata", "publicMetadata"]);
    }

    #[test]
    fn developers_role() {
        let new = CreateProductBody {
            developers_role_audience: Some("https://api.example.com".into()),
            ..body()
        }
        .into_new()
        .unwrap();
        let role = new.developers_role.unwrap();
        assert_eq!(role.name, "ledger-developers");
        assert_eq!(role.audience, "https://api.example.com");
        assert!(role.permissions.is_empty());
        assert_eq!(role.description.as_deref(), Some("Developers of Ledger"));
    }

    #[test]
    fn developers_role_audience_edges() {
        let with = |a: String| CreateProductBody {
            developers_role_audience: Some(a),
            ..body()
        };
        assert!(with("a".into()).into_new().is_ok());
        assert!(with("a".repeat(250)).into_new().is_ok());
        assert_eq!(refused(with(String::new())), ["developersRoleAudience"]);
        assert_eq!(refused(with("a".repeat(251))), ["developersRoleAudience"]);
        assert_eq!(refused(with("a b".into())), ["developersRoleAudience"]);
    }

    #[test]
    fn a_name_with_a_developers_role_leaves_room_for_the_suffix() {
        let with = |n: usize| CreateProductBody {
            name: Some("n".repeat(n)),
            developers_role_audience: Some("aud".into()),
            ..body()
        };
        let role = with(89).into_new().unwrap().developers_role.unwrap();
        assert_eq!(role.name.len(), crate::role::ROLE_NAME.max);
        assert_eq!(refused(with(90)), ["name"]);
        // Without the role, the name may be longer.
        let plain = CreateProductBody {
            name: Some("n".repeat(100)),
            ..body()
        };
        assert!(plain.into_new().is_ok());
    }

    #[test]
    fn patch_reads_null_as_clear_for_nullable_fields() {
        let body: PatchProductBody =
            serde_json::from_str(r#"{"url": null, "longDescription": null, "organizationId": null, "displayName": null}"#)
                .unwrap();
        let changes = body.into_changes().unwrap();
        assert_eq!(changes.url, Some(None));
        assert_eq!(changes.long_description, Some(None));
        assert_eq!(changes.organization_id, Some(None));
        assert_eq!(changes.display_name, None);
        let empty: PatchProductBody = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.into_changes().unwrap(), ProductChanges::default());
    }

    #[test]
    fn patch_edges() {
        let errors = PatchProductBody {
            name: Some("-x".into()),
            display_name: Some(String::new()),
            url: Some(Some("nope".into())),
            long_description: Some(Some("l".repeat(4001))),
            ..Default::default()
        }
        .into_changes()
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            ["displayName", "longDescription", "name", "url"]
        );
        let ok = PatchProductBody {
            name: Some("n".repeat(100)),
            display_name: Some("d".repeat(250)),
            long_description: Some(Some("l".repeat(4000))),
            ..Default::default()
        };
        assert!(ok.into_changes().is_ok());
        assert!(PatchProductBody {
            name: Some("n".repeat(101)),
            ..Default::default()
        }
        .into_changes()
        .is_err());
    }

    #[test]
    fn metadata_must_be_an_object() {
        let parsed: Result<CreateProductBody, _> =
            serde_json::from_str(r#"{"name": "a", "displayName": "A", "metadata": [1]}"#);
        assert!(parsed.is_err());
    }

    #[test]
    fn changes_apply_to_a_product() {
        let now = Timestamp::now();
        let product = Product {
            id: 1,
            name: "a".into(),
            display_name: "A".into(),
            url: Some("https://a.example.com".into()),
            is_active: true,
            metadata: Map::new(),
            public_metadata: Map::new(),
            long_description: None,
            organization_id: Some(3),
            applications: vec![],
            subscriptions: vec![],
            created: now,
            created_by: "k".into(),
            modified: now,
            modified_by: "k".into(),
        };
        assert_eq!(ProductChanges::default().applied_to(&product), product);
        let changed = ProductChanges {
            url: Some(None),
            organization_id: Some(None),
            is_active: Some(false),
            ..Default::default()
        }
        .applied_to(&product);
        assert_eq!(changed.url, None);
        assert_eq!(changed.organization_id, None);
        assert!(!changed.is_active);
        let mut answered: Vec<String> = match serde_json::to_value(&product).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            _ => unreachable!(),
        };
        answered.sort();
        let mut selectable: Vec<String> = PRODUCT_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        selectable.sort();
        assert_eq!(answered, selectable);
    }
}
