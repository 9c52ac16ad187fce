//! The list options applied to items Nexus holds in memory (read from an
//! IdP at each request rather than from the database), by their JSON
//! field names: `$search`, `$orderby`, `$skip`, `$top`, `$count` and
//! `$select`, with the order and NULL placement of the SQL lists.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{Direction, ListSpec, OrderBy, QueryError};

/// The options of one request, checked against the list's `ListSpec`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryQuery {
    pub search: Option<String>,
    pub order: Vec<OrderBy>,
    pub top: i64,
    pub skip: i64,
    pub count: bool,
    /// The fields to answer; every field without `$select`.
    pub select: Option<Vec<&'static str>>,
}

/// One page, the number of items that matched (with `$count=true`), and
/// whether more follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPage {
    pub items: Vec<Value>,
    pub total: Option<i64>,
    pub more: bool,
}

/// `$select`: comma-separated names of `fields`; a name given twice counts
/// once.
pub fn parse_select(
    input: &str,
    fields: &'static [&'static str],
) -> Result<Vec<&'static str>, QueryError> {
    let mut selected: Vec<&'static str> = Vec::new();
    for item in input.split(',') {
        let name = item.trim();
        if name.is_empty() {
            return Err(QueryError("$select has an empty item".to_owned()));
        }
        let field = fields
            .iter()
            .find(|f| **f == name)
            .ok_or_else(|| QueryError(format!("unknown field '{name}' in $select")))?;
        if !selected.contains(field) {
            selected.push(field);
        }
    }
    Ok(selected)
}

/// The pattern of a `$select` of `fields`, for the OpenAPI document: one
/// or more names, comma-separated.
pub fn select_pattern(fields: &[&str]) -> String {
    let name = format!("({})", fields.join("|"));
    format!("^ *{name}( *, *{name})* *$")
}

impl ListSpec {
    /// Applies `query` to `items` (objects with the list's fields).
    pub fn apply(&self, items: Vec<Value>, query: &MemoryQuery) -> MemoryPage {
        let needle = query
            .search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let mut matched: Vec<Value> = items
            .into_iter()
            .filter(|item| {
                needle.as_ref().is_none_or(|needle| {
                    self.search.iter().any(|field| {
                        item[*field]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(needle))
                    })
                })
            })
            .collect();
        matched.sort_by(|a, b| compare(a, b, &query.order));
        let total = matched.len();
        let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
        let top = usize::try_from(query.top).unwrap_or(usize::MAX);
        let items: Vec<Value> = matched
            .into_iter()
            .skip(skip)
            .take(top)
            .map(|item| select(item, query.select.as_deref()))
            .collect();
        MemoryPage {
            more: skip.saturating_add(top) < total,
            items,
            total: query.count.then_some(total as i64),
        }
    }
}

/// The order of two items by each key in turn; NULL (or absent) after
/// every value, first with `desc`, as the SQL lists order.
fn compare(a: &Value, b: &Value, order: &[OrderBy]) -> Ordering {
    for key in order {
        let name = key.field.name;
        let ascending = match (&a[name], &b[name]) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (x, y) => x
                .as_str()
                .unwrap_or_default()
                .cmp(y.as_str().unwrap_or_default()),
        };
        let ordering = match key.direction {
            Direction::Asc => ascending,
            Direction::Desc => ascending.reverse(),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

fn select(item: Value, fields: Option<&[&str]>) -> Value {
    match (fields, item) {
        (Some(fields), Value::Object(mut object)) => {
            let mut selected = Map::new();
            for field in fields {
                if let Some(value) = object.remove(*field) {
                    selected.insert((*field).to_owned(), value);
                }
            }
            Value::Object(selected)
        }
        (_, item) => item,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::list_query::TEST_SPEC;

    fn query(orderby: Option<&str>) -> MemoryQuery {
        MemoryQuery {
            search: None,
            order: TEST_SPEC.parse_orderby(orderby).unwrap(),
            top: 100,
            skip: 0,
            count: false,
            select: None,
        }
    }

    fn ids(page: &MemoryPage) -> Vec<&str> {
        page.items
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect()
    }

    fn items() -> Vec<Value> {
        vec![
            json!({"id": "c", "displayName": "Beta", "familyName": null}),
            json!({"id": "a", "displayName": "alpha", "familyName": "Z"}),
            json!({"id": "b", "displayName": "Beta", "familyName": "A"}),
        ]
    }

    #[test]
    fn orders_with_the_id_last_and_nulls_after_values() {
        assert_eq!(
            ids(&TEST_SPEC.apply(items(), &query(None))),
            ["a", "b", "c"]
        );
        let by_name = TEST_SPEC.apply(items(), &query(Some("displayName desc")));
        assert_eq!(ids(&by_name), ["a", "c", "b"]);
        let by_family = TEST_SPEC.apply(items(), &query(Some("familyName")));
        assert_eq!(ids(&by_family), ["b", "a", "c"]);
        let desc = TEST_SPEC.apply(items(), &query(Some("familyName desc")));
        assert_eq!(ids(&desc), ["c", "a", "b"]);
    }

    #[test]
    fn searches_skips_tops_counts_and_selects() {
        let mut q = query(None);
        q.search = Some("BET".into());
        q.count = true;
        q.skip = 1;
        q.top = 1;
        q.select = Some(vec!["id"]);
        let page = TEST_SPEC.apply(items(), &q);
        assert_eq!(page.items, [json!({"id": "c"})]);
        assert_eq!((page.total, page.more), (Some(2), false));
        q.skip = 0;
        assert!(TEST_SPEC.apply(items(), &q).more);
    }

    #[test]
    fn select_names_known_fields_once() {
        const FIELDS: &[&str] = &["id", "name", "owners"];
        assert_eq!(parse_select(" name , id", FIELDS).unwrap(), ["name", "id"]);
        assert!(parse_select("name,", FIELDS).is_err());
        assert!(parse_select("secretive", FIELDS).is_err());
        assert_eq!(parse_select("id,id", FIELDS).unwrap(), ["id"]);
        let pattern = regex::Regex::new(&select_pattern(FIELDS)).unwrap();
        assert!(pattern.is_match("id") && pattern.is_match(" name , owners "));
        assert!(!pattern.is_match("") && !pattern.is_match("id,") && !pattern.is_match("x"));
    }
}
