//! OData-style list options (`$top`, `$skip`, `$skiptoken`, `$orderby`,
//! `$filter`, `$search`, `$count`) and the
//! `{"value": [...], "@odata.count": N, "@odata.nextLink": "…"}` envelope.

use axum::extract::{FromRequestParts, OriginalUri, Query};
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nexus_core::list_query::{check_position, parse_select, ListSpec, Literal, MemoryQuery};
use nexus_core::ValidationErrors;
use nexus_service::{ListParams, Page};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::problem::ApiError;
use crate::shape::{Shape, ShapeSpec};

pub const DEFAULT_TOP: i64 = 100;
pub const MAX_TOP: i64 = 1000;

/// Longer than any token this server issues (a few order keys of at most a
/// few hundred characters each).
const MAX_SKIPTOKEN_LEN: usize = 4096;

/// The list options of a request, as sent, and the path they were sent to.
/// Documented for OpenAPI by `ListOptionsDoc`; checked against a resource's
/// spec by `params`.
#[derive(Debug, Default)]
pub struct ListOptions {
    path: String,
    /// In the order sent; the last of a repeated option counts.
    pairs: Vec<(String, String)>,
}

/// The list options, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListOptionsDoc {
    /// How many items to return (default 100, at most 1000).
    #[param(rename = "$top", minimum = 0, maximum = 1000)]
    top: Option<i64>,
    /// How many items to skip; with `$skiptoken`, counted from where the
    /// token starts. Deep pages are cheaper through `$skiptoken`.
    #[param(rename = "$skip", minimum = 0)]
    skip: Option<i64>,
    /// Where the page starts: the token in the previous page's
    /// `@odata.nextLink`, valid only with the same `$orderby`, `$filter` and
    /// `$search`. Opaque.
    #[param(rename = "$skiptoken")]
    skiptoken: Option<String>,
    /// Comma-separated `field [asc|desc]`, each field once; the id is always
    /// the last tie-breaker.
    #[param(rename = "$orderby")]
    orderby: Option<String>,
    /// `eq`, `ne`, `gt`, `ge`, `lt`, `le`, `startswith(field,'x')`, `and`,
    /// `or` and parentheses on the resource's filterable fields, e.g.
    /// `isActive eq true and startswith(displayName,'Ju')`. `gt`, `ge`, `lt`
    /// and `le` compare integers and date-times only; date-times are quoted
    /// RFC 3339, to the microsecond at most, e.g.
    /// `time ge '2026-01-01T00:00:00Z' and time lt '2026-02-01T00:00:00Z'`.
    /// The pattern states a regular part of the grammar; deeper parentheses
    /// and up to 50 comparisons are accepted too.
    #[param(rename = "$filter", max_length = 2000)]
    filter: Option<String>,
    /// Case-insensitive text contained in any of the resource's searchable fields.
    #[param(rename = "$search", max_length = 200)]
    search: Option<String>,
    /// `true` adds `@odata.count`, the number of matching items.
    #[param(rename = "$count")]
    count: Option<bool>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListOptions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |uri| uri.path())
            .to_owned();
        Ok(ListOptions { path, pairs })
    }
}

impl ListOptions {
    /// These options with `$orderby` = `orderby` unless the request gives
    /// one; next links then carry it too.
    pub fn with_default_order(mut self, orderby: &str) -> Self {
        if self.get("$orderby").is_none() {
            self.pairs
                .insert(0, ("$orderby".to_owned(), orderby.to_owned()));
        }
        self
    }

    /// Refuses every option but `supported`.
    fn only(&self, supported: &[&str], errors: &mut ValidationErrors) {
        for (key, _) in &self.pairs {
            if !supported.contains(&key.as_str()) {
                let message = format!(
                    "is not a supported query option of this list; use {}",
                    supported.join(", ")
                );
                errors.add(key, message);
            }
        }
    }

    /// The options every list reads the same way.
    fn common(&self, spec: &'static ListSpec, errors: &mut ValidationErrors) -> Common {
        let top = self.number(errors, "$top", DEFAULT_TOP, MAX_TOP);
        let skip = self.number(errors, "$skip", 0, i64::MAX);
        let count = match self.get("$count") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.add("$count", "must be true or false");
                false
            }
        };
        let order = spec
            .parse_orderby(self.get("$orderby"))
            .map_err(|e| errors.add("$orderby", e.to_string()))
            .unwrap_or_default();
        let search = self.get("$search").map(str::to_owned);
        if search.is_some() && spec.search.is_empty() {
            errors.add("$search", "is not supported by this list: use $filter");
        } else if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            errors.add("$search", "must be at most 200 characters long");
        }
        Common {
            top,
            skip,
            count,
            order,
            search,
        }
    }

    /// Checks every option against what the resource allows.
    pub fn params(&self, spec: &'static ListSpec) -> Result<ListParams, ApiError> {
        Ok(self.checked(spec, None)?.0)
    }

    /// `params`, and the `$select` and `$expand` of the items.
    pub fn shaped_params(
        &self,
        spec: &'static ListSpec,
        shape: &'static ShapeSpec,
    ) -> Result<(ListParams, Shape), ApiError> {
        let (params, shape) = self.checked(spec, Some(shape))?;
        Ok((params, shape.unwrap_or_default()))
    }

    fn checked(
        &self,
        spec: &'static ListSpec,
        shape: Option<&'static ShapeSpec>,
    ) -> Result<(ListParams, Option<Shape>), ApiError> {
        let mut errors = ValidationErrors::new();
        let mut options = vec![
            "$top",
            "$skip",
            "$skiptoken",
            "$orderby",
            "$filter",
            "$search",
            "$count",
        ];
        if shape.is_some() {
            options.extend(["$select", "$expand"]);
        }
        self.only(&options, &mut errors);
        let shape = shape.map(|shape| Shape::read(|key| self.get(key), shape, &mut errors));
        let Common {
            top,
            skip,
            count,
            order,
            search,
        } = self.common(spec, &mut errors);
        let filter = match self.get("$filter").filter(|f| !f.trim().is_empty()) {
            Some(text) => spec
                .parse_filter(text)
                .map_err(|e| errors.add("$filter", e.to_string()))
                .ok(),
            None => None,
        };
        // A token is read only against a query that parsed: it is checked
        // against that query's order and fingerprint.
        let token = self.get("$skiptoken").filter(|_| errors.is_empty());
        let mut params = ListParams {
            filter,
            search,
            order,
            top,
            skip,
            count,
            after: None,
        };
        errors.into_result()?;
        // Whether a token fits depends on what the server issued, not on its
        // form: one that does not is well-formed but cannot be applied.
        if let Some(token) = token {
            let after = self.read_token(token, &params).map_err(|message| {
                ApiError::inapplicable(ValidationErrors::single("$skiptoken", message))
            })?;
            params.after = Some(after);
        }
        Ok((params, shape))
    }

    /// Checks the options of a list Nexus pages in memory (its items come
    /// from an IdP at each request): `$top`, `$skip`, `$orderby`, `$search`,
    /// `$count` and `$select` of `fields`.
    pub fn memory_query(
        &self,
        spec: &'static ListSpec,
        fields: &'static [&'static str],
    ) -> Result<MemoryQuery, ApiError> {
        let mut errors = ValidationErrors::new();
        self.only(
            &["$top", "$skip", "$orderby", "$search", "$count", "$select"],
            &mut errors,
        );
        let Common {
            top,
            skip,
            count,
            order,
            search,
        } = self.common(spec, &mut errors);
        let select = self.get("$select").and_then(|text| {
            parse_select(text, fields)
                .map_err(|e| errors.add("$select", e.to_string()))
                .ok()
        });
        errors.into_result()?;
        Ok(MemoryQuery {
            search,
            order,
            top,
            skip,
            count,
            select,
        })
    }

    /// This request again for the page after `query`'s: its options with
    /// `$skip` moved on by `$top`.
    pub fn next_page_link(&self, query: &MemoryQuery) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            let repeated_later = self.pairs[i + 1..].iter().any(|(k, _)| k == key);
            if key != "$skip" && !repeated_later {
                pairs.push((key, value.clone()));
            }
        }
        pairs.push(("$skip", (query.skip + query.top).to_string()));
        let mut link = self.path.clone();
        for (i, (key, value)) in pairs.iter().enumerate() {
            link.push(if i == 0 { '?' } else { '&' });
            link.extend(utf8_percent_encode(key, QUERY_PART));
            link.push('=');
            link.extend(utf8_percent_encode(value, QUERY_PART));
        }
        link
    }

    /// The list envelope of a page; with `@odata.nextLink` when the page is
    /// full, since more may follow.
    pub fn envelope<T>(&self, params: &ListParams, page: Page<T>) -> Envelope<T> {
        let next_link = page
            .last
            .as_deref()
            .map(|last| self.next_link(params, last));
        Envelope {
            value: page.items,
            context: None,
            count: page.total,
            next_link,
        }
    }

    /// The envelope of a page shaped by `$select`/`$expand`, with the
    /// `@odata.context` of `set`.
    pub fn shaped_envelope<T: Serialize, S: From<Value>>(
        &self,
        params: &ListParams,
        page: Page<T>,
        shape: &Shape,
        set: &str,
    ) -> Envelope<S> {
        let items: Vec<S> = page.items.iter().map(|item| shape.apply(item)).collect();
        let envelope = self.envelope(params, page.with_items(items));
        Envelope {
            context: Some(shape.context(set)),
            ..envelope
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// This request again without `$skip`/`$skiptoken`, starting after `last`.
    fn next_link(&self, params: &ListParams, last: &[Literal]) -> String {
        let token = SkipToken {
            query: self.fingerprint(params),
            keys: last.iter().map(literal_to_json).collect(),
        };
        let json = serde_json::to_vec(&token).expect("a skip token serializes");
        let token = URL_SAFE_NO_PAD.encode(json);
        let mut link = self.path.clone();
        let mut separator = '?';
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            let repeated_later = self.pairs[i + 1..].iter().any(|(k, _)| k == key);
            if key == "$skip" || key == "$skiptoken" || repeated_later {
                continue;
            }
            link.push(separator);
            link.extend(utf8_percent_encode(key, QUERY_PART));
            link.push('=');
            link.extend(utf8_percent_encode(value, QUERY_PART));
            separator = '&';
        }
        link.push(separator);
        link.push_str("$skiptoken=");
        link.push_str(&token);
        link
    }

    /// The position a token holds, if it belongs to this query and fits its
    /// order; else why not, for the problem's detail.
    fn read_token(&self, token: &str, params: &ListParams) -> Result<Vec<Literal>, String> {
        const NOT_OURS: &str = "is not a token from an @odata.nextLink of this API";
        if token.len() > MAX_SKIPTOKEN_LEN {
            return Err(format!("is longer than {MAX_SKIPTOKEN_LEN} characters"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| format!("{NOT_OURS} (not base64url)"))?;
        let token: SkipToken =
            serde_json::from_slice(&json).map_err(|_| format!("{NOT_OURS} (not its JSON)"))?;
        if token.query != self.fingerprint(params) {
            return Err(
                "belongs to another query: use it with the path, $orderby, $filter \
                 and $search of the request whose @odata.nextLink held it"
                    .to_owned(),
            );
        }
        let after = token
            .keys
            .iter()
            .map(json_to_literal)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{NOT_OURS} (a value is not a string, integer or null)"))?;
        check_position(&params.order, &after).map_err(|e| format!("{NOT_OURS} ({e})"))?;
        Ok(after)
    }

    /// A short digest of what decides the order and the rows of a list: the
    /// path, the order, the filter and the search, each in a canonical form.
    fn fingerprint(&self, params: &ListParams) -> String {
        let order: Vec<String> = params.order.iter().map(ToString::to_string).collect();
        let filter = params
            .filter
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        // The search is case-insensitive, and an empty one searches nothing.
        let search = params.search.as_deref().unwrap_or_default().to_lowercase();
        let canonical = format!("{}\n{}\n{filter}\n{search}", self.path, order.join(","));
        let digest = Sha256::digest(canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(&digest[..9])
    }

    fn number(&self, errors: &mut ValidationErrors, key: &str, default: i64, max: i64) -> i64 {
        match self.get(key) {
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

/// What `params` and `memory_query` read alike.
struct Common {
    top: i64,
    skip: i64,
    count: bool,
    order: Vec<nexus_core::list_query::OrderBy>,
    search: Option<String>,
}

/// The options of a list Nexus pages in memory, for the OpenAPI document.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MemoryListOptionsDoc {
    /// Comma-separated fields to answer; every field without it.
    #[param(rename = "$select")]
    select: Option<String>,
    /// How many items to return (default 100, at most 1000).
    #[param(rename = "$top", minimum = 0, maximum = 1000)]
    top: Option<i64>,
    /// How many items to skip.
    #[param(rename = "$skip", minimum = 0)]
    skip: Option<i64>,
    /// Comma-separated `field [asc|desc]`, each field once; the id is always
    /// the last tie-breaker.
    #[param(rename = "$orderby")]
    orderby: Option<String>,
    /// Case-insensitive text contained in any of the resource's searchable fields.
    #[param(rename = "$search", max_length = 200)]
    search: Option<String>,
    /// `true` adds `@odata.count`, the number of matching items.
    #[param(rename = "$count")]
    count: Option<bool>,
}

/// Characters of a query key or value that `next_link` writes as they are:
/// the unreserved ones, and `$ , ( ) '` of OData's option syntax.
const QUERY_PART: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b',')
    .remove(b'(')
    .remove(b')')
    .remove(b'\'');

/// What a `$skiptoken` holds, before base64url: the order-key values of the
/// last row returned, and the fingerprint of the query that returned it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipToken {
    #[serde(rename = "q")]
    query: String,
    #[serde(rename = "k")]
    keys: Vec<Value>,
}

fn literal_to_json(value: &Literal) -> Value {
    match value {
        Literal::Text(text) => Value::from(text.as_str()),
        Literal::Integer(i) => Value::from(*i),
        Literal::Boolean(b) => Value::from(*b),
        Literal::Null => Value::Null,
    }
}

fn json_to_literal(value: &Value) -> Option<Literal> {
    match value {
        Value::String(text) => Some(Literal::Text(text.clone())),
        Value::Number(n) => n.as_i64().map(Literal::Integer),
        Value::Null => Some(Literal::Null),
        _ => None,
    }
}

/// A page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub value: Vec<T>,
    /// What the list holds, as OData names it (Nexus serves no `$metadata`);
    /// on lists that take `$select`.
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The number of items matching the request; present with `$count=true`.
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The next page: this request's path and options with `$skiptoken` in
    /// place of `$skip`. Present when the page is full; absent on the last.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// Documents the `$orderby` and `$filter` of one list: the fields they
/// take, named and as patterns (`ListSpec::orderby_pattern`,
/// `filter_pattern`), and an example `$orderby`; leaves `$search` out of a
/// list that has nothing to search.
pub fn document_orderby(operation: &mut utoipa::openapi::path::Operation, spec: &ListSpec) {
    use utoipa::openapi::path::ParameterBuilder;
    if spec.search.is_empty() {
        if let Some(parameters) = operation.parameters.as_mut() {
            parameters.retain(|p| p.name != "$search");
        }
    }
    let sortable: Vec<&str> = spec
        .fields
        .iter()
        .filter(|f| f.sortable)
        .map(|f| f.name)
        .collect();
    let example = sortable
        .iter()
        .find(|name| **name != spec.id_field)
        .unwrap_or(&spec.id_field);
    for parameter in operation.parameters.iter_mut().flatten() {
        let pattern = match parameter.name.as_str() {
            "$orderby" => spec.orderby_pattern(),
            "$filter" => spec.filter_pattern(),
            _ => continue,
        };
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(schema))) =
            parameter.schema.as_mut()
        {
            schema.pattern = Some(pattern);
        }
        let description = parameter.description.as_deref().unwrap_or_default();
        *parameter = if parameter.name == "$orderby" {
            ParameterBuilder::from(parameter.clone())
                .description(Some(format!(
                    "{description} Sortable fields: {}.",
                    sortable.join(", ")
                )))
                .example(Some(serde_json::json!(format!("{example} desc"))))
                .build()
        } else {
            ParameterBuilder::from(parameter.clone())
                .description(Some(format!(
                    "{description} Filterable fields: {}.",
                    filterable(spec)
                )))
                .build()
        };
    }
}

/// `a, b, c (gt, ge, lt, le on b, c)`: the fields of a list's `$filter`.
fn filterable(spec: &ListSpec) -> String {
    let names = |ordered: bool| -> Vec<&str> {
        spec.fields
            .iter()
            .filter(|f| !ordered || f.kind.is_ordered())
            .map(|f| f.name)
            .collect()
    };
    let ordered = names(true);
    if ordered.is_empty() {
        names(false).join(", ")
    } else {
        format!(
            "{} (gt, ge, lt, le on {})",
            names(false).join(", "),
            ordered.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(query: &[(&str, &str)]) -> String {
        let options = ListOptions {
            path: "/v1/users".to_owned(),
            pairs: query
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        };
        let params = options.params(&nexus_service::users::LIST).unwrap();
        options.fingerprint(&params)
    }

    #[test]
    fn a_fingerprint_follows_what_the_query_means() {
        let filter = "displayName eq 'a' and created ne '2026-01-02T03:04:05+01:00'";
        let base = fingerprint(&[("$filter", filter)]);
        let respelled = "( displayName EQ 'a' ) AND created ne '2026-01-02T02:04:05Z'";
        assert_eq!(base, fingerprint(&[("$top", "5"), ("$filter", respelled)]));
        for other in [
            "displayName eq 'b' and created ne '2026-01-02T03:04:05+01:00'",
            "displayName ne 'a' and created ne '2026-01-02T03:04:05+01:00'",
            "displayName eq 'a' or created ne '2026-01-02T03:04:05+01:00'",
            "displayName eq 'a' and created ne '2026-01-02T03:04:06+01:00'",
            "givenName eq 'a' and created ne '2026-01-02T03:04:05+01:00'",
        ] {
            assert_ne!(base, fingerprint(&[("$filter", other)]), "{other}");
        }
        assert_ne!(base, fingerprint(&[]));
        assert_ne!(
            base,
            fingerprint(&[("$filter", filter), ("$orderby", "displayName")])
        );
    }
}
