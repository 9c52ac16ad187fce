//! `$select` and `$expand`: which fields of a resource to answer and which
//! of its related resources to fill in, on lists and on single reads.

use std::borrow::Cow;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use nexus_core::list_query::parse_select;
use nexus_core::ValidationErrors;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::problem::ApiError;

/// What a resource can be shaped by: its fields (`$select`) and its
/// related resources (`$expand`).
#[derive(Debug)]
pub struct ShapeSpec {
    pub fields: &'static [&'static str],
    pub expansions: &'static [&'static str],
}

/// A request's `$select` and `$expand`.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    select: Option<Vec<&'static str>>,
    expand: Vec<&'static str>,
}

impl Shape {
    /// Reads `$select` and `$expand` (the last of each when repeated).
    pub(crate) fn read<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        spec: &'static ShapeSpec,
        errors: &mut ValidationErrors,
    ) -> Shape {
        let select = get("$select").and_then(|text| {
            parse_select(text, spec.fields)
                .map_err(|e| errors.add("$select", e.to_string()))
                .ok()
        });
        let expand = match get("$expand") {
            None => Vec::new(),
            Some(text) => parse_select(text, spec.expansions).unwrap_or_else(|_| {
                let allowed = if spec.expansions.is_empty() {
                    "nothing can be expanded here".to_owned()
                } else {
                    format!("it takes {}", spec.expansions.join(", "))
                };
                errors.add(
                    "$expand",
                    format!("names what cannot be expanded: {allowed}"),
                );
                Vec::new()
            }),
        };
        Shape { select, expand }
    }

    pub fn expands(&self, name: &str) -> bool {
        self.expand.contains(&name)
    }

    /// `item` with only the selected fields and the expanded ones.
    pub fn apply<S: From<Value>>(&self, item: &impl Serialize) -> S {
        let mut value = serde_json::to_value(item).expect("a resource serializes");
        if let (Some(select), Value::Object(map)) = (&self.select, &mut value) {
            map.retain(|key, _| {
                select.contains(&key.as_str()) || self.expand.contains(&key.as_str())
            });
        }
        S::from(value)
    }

    /// The `@odata.context` of `set`: with `$select`, its fields in
    /// parentheses, as OData writes them.
    pub fn context(&self, set: &str) -> String {
        match &self.select {
            Some(fields) => format!("/v1/$metadata#{set}({})", fields.join(",")),
            None => format!("/v1/$metadata#{set}"),
        }
    }
}

/// The schema of a resource as `$select` shapes it: any of its fields may
/// be absent.
fn selection_schema<T: ToSchema>() -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.clear();
        object.description = Some(format!(
            "{}: the fields `$select` names (every field without it) and those `$expand` names.",
            T::name()
        ));
    }
    schema
}

/// A resource shaped by `$select`/`$expand`, documented as the resource
/// with every field optional.
macro_rules! selection {
    ($name:ident, $resource:ty) => {
        #[derive(Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(Value);

        impl From<Value> for $name {
            fn from(value: Value) -> Self {
                $name(value)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                selection_schema::<$resource>()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$resource as ToSchema>::schemas(schemas);
            }
        }
    };
}

selection!(MembershipSelection, nexus_core::organization::Membership);
selection!(
    OrganizationSelection,
    nexus_core::organization::Organization
);
selection!(ProductSelection, nexus_core::product::Product);
selection!(
    SubscriptionSelection,
    nexus_core::subscription::Subscription
);
selection!(UpsellRequestSelection, nexus_core::upsell::UpsellRequest);

/// The `$select` and `$expand` of a single read; any other option is
/// refused.
#[derive(Debug, Default)]
pub struct ItemOptions {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for ItemOptions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        Ok(ItemOptions { pairs })
    }
}

impl ItemOptions {
    pub fn shape(&self, spec: &'static ShapeSpec) -> Result<Shape, ApiError> {
        let mut errors = ValidationErrors::new();
        for (key, _) in &self.pairs {
            if key != "$select" && key != "$expand" {
                errors.add(
                    key,
                    "is not a supported query option of this read; use $select, $expand",
                );
            }
        }
        let get = |key: &str| {
            self.pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let shape = Shape::read(get, spec, &mut errors);
        errors.into_result()?;
        Ok(shape)
    }
}

/// `$select` and `$expand`, for the OpenAPI document (their patterns are
/// each operation's: `document_shapes`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ShapeOptionsDoc {
    /// Comma-separated fields to answer; every field without it.
    #[param(rename = "$select")]
    select: Option<String>,
    /// Comma-separated related resources to fill in.
    #[param(rename = "$expand")]
    expand: Option<String>,
}

/// `$select` alone, for a resource with nothing to expand (its pattern is
/// each operation's: `document_shapes`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SelectOptionDoc {
    /// Comma-separated fields to answer; every field without it.
    #[param(rename = "$select")]
    select: Option<String>,
}
