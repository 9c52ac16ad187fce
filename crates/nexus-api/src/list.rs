//! OData-style list options (`$top`, `$skip`, `$orderby`, `$filter`,
//! `$search`, `$count`) and the `{"value": [...], "@odata.count": N}` envelope.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use nexus_core::list_query::ListSpec;
use nexus_core::ValidationErrors;
use nexus_store::{ListParams, Page};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::problem::ApiError;

pub const DEFAULT_TOP: i64 = 100;
pub const MAX_TOP: i64 = 1000;

/// The list options of a request, as sent. Documented for OpenAPI by
/// `ListOptionsDoc`; checked against a resource's spec by `params`.
#[derive(Debug, Default)]
pub struct ListOptions(HashMap<String, String>);

/// The list options, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListOptionsDoc {
    /// How many items to return (default 100, at most 1000).
    #[param(rename = "$top", minimum = 0, maximum = 1000)]
    top: Option<i64>,
    /// How many items to skip.
    #[param(rename = "$skip", minimum = 0)]
    skip: Option<i64>,
    /// Comma-separated `field [asc|desc]`; the id is always the last tie-breaker.
    #[param(rename = "$orderby", example = "displayName desc")]
    orderby: Option<String>,
    /// `eq`, `ne`, `startswith(field,'x')`, `and`, `or` and parentheses on the
    /// resource's filterable fields, e.g. `isActive eq true and startswith(displayName,'Ju')`.
    #[param(rename = "$filter")]
    filter: Option<String>,
    /// Case-insensitive text contained in any of the resource's searchable fields.
    #[param(rename = "$search")]
    search: Option<String>,
    /// `true` adds `@odata.count`, the number of matching items.
    #[param(rename = "$count")]
    count: Option<bool>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListOptions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        Ok(ListOptions(map))
    }
}

impl ListOptions {
    /// Checks every option against what the resource allows.
    pub fn params(&self, spec: &'static ListSpec) -> Result<ListParams, ApiError> {
        let mut errors = ValidationErrors::new();
        for key in self.0.keys() {
            if !matches!(
                key.as_str(),
                "$top" | "$skip" | "$orderby" | "$filter" | "$search" | "$count"
            ) {
                errors.add(key, "is not a supported query option; use $top, $skip, $orderby, $filter, $search or $count");
            }
        }
        let top = self.number(&mut errors, "$top", DEFAULT_TOP, MAX_TOP);
        let skip = self.number(&mut errors, "$skip", 0, i64::MAX);
        let count = match self.0.get("$count").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.add("$count", "must be true or false");
                false
            }
        };
        let order = spec
            .parse_orderby(self.0.get("$orderby").map(String::as_str))
            .map_err(|e| errors.add("$orderby", e.to_string()))
            .unwrap_or_default();
        let filter = match self.0.get("$filter").filter(|f| !f.trim().is_empty()) {
            Some(text) => spec
                .parse_filter(text)
                .map_err(|e| errors.add("$filter", e.to_string()))
                .ok(),
            None => None,
        };
        let search = self.0.get("$search").cloned();
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            errors.add("$search", "must be at most 200 characters long");
        }
        errors.into_result()?;
        Ok(ListParams {
            filter,
            search,
            order,
            top,
            skip,
            count,
        })
    }

    fn number(&self, errors: &mut ValidationErrors, key: &str, default: i64, max: i64) -> i64 {
        match self.0.get(key) {
            None => default,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (0..=max).contains(&n) => n,
                _ => {
                    errors.add(key, format!("must be a whole number from 0 to {max}"));
                    default
                }
            },
        }
    }
}

/// A page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub value: Vec<T>,
    /// The number of items matching the request; present with `$count=true`.
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

impl<T> From<Page<T>> for Envelope<T> {
    fn from(page: Page<T>) -> Self {
        Envelope {
            value: page.items,
            count: page.total,
        }
    }
}
