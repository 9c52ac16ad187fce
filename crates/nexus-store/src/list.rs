//! Paged, filtered, ordered listing shared by every collection endpoint.

mod filter;

use nexus_core::list_query::{Direction, FieldKind, Filter, ListSpec, Literal, OrderBy};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::{Conn, StoreError};
use filter::{escape_like, filter_to_sql};

/// Options of one list request, already parsed against the resource's spec.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub search: Option<String>,
    pub order: Vec<OrderBy>,
    pub top: i64,
    pub skip: i64,
    pub count: bool,
    /// Keyset paging: the order-key values of the row before the page (one
    /// per `order` key, checked by `check_position`); `skip` counts from there.
    pub after: Option<Vec<Literal>>,
}

/// One page of a list, with the total that matched when it was asked for.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    /// The order-key values of the page's last row when the page is full:
    /// where the next page starts (`ListParams::after`).
    pub last: Option<Vec<Literal>>,
}

impl<T> Page<T> {
    /// The same page of other items (the rows read into records).
    pub fn with_items<U>(self, items: Vec<U>) -> Page<U> {
        Page {
            items,
            total: self.total,
            last: self.last,
        }
    }

    /// The same page, each item read into another (rows into records).
    pub fn try_map<U, E>(self, read: impl Fn(&T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.iter().map(read).collect::<Result<_, _>>()?;
        Ok(self.with_items(items))
    }
}

/// The rows of `from` (a table, possibly joined) that match `scope` (column,
/// value pairs that must be equal: e.g. the owning user), the filter and the
/// search, in the requested order: the page `params.skip` rows after
/// `params.after` (or after the start when it is not set).
pub(crate) async fn fetch_page(
    conn: &mut Conn,
    spec: &'static ListSpec,
    select: &str,
    from: &str,
    scope: &[(&str, Literal)],
    params: &ListParams,
) -> Result<Page<AnyRow>, StoreError> {
    let (mut conditions, mut binds) = conditions(spec, scope, params);
    // The count ignores where the page starts, so it is taken before the
    // keyset condition joins the others.
    let total = if params.count {
        let sql = format!(
            "SELECT count(*) AS total FROM {from}{}",
            where_sql(&conditions)
        );
        let row = bind_all(sqlx::query(&sql), &binds)
            .fetch_one(&mut *conn)
            .await?;
        Some(sqlx::Row::try_get::<i64, _>(&row, "total")?)
    } else {
        None
    };
    let sql = page_sql(select, from, params, &mut conditions, &mut binds);
    let rows = bind_all(sqlx::query(&sql), &binds)
        .fetch_all(&mut *conn)
        .await?;
    let last = match rows.last() {
        Some(row) if rows.len() as i64 == params.top => Some(position(row, &params.order)?),
        _ => None,
    };
    Ok(Page {
        items: rows,
        total,
        last,
    })
}

/// The database's plan for the page query of `fetch_page`, one line per
/// step, for proving that a list walks an index rather than sorting a scan.
pub(crate) async fn explain_page(
    conn: &mut Conn,
    spec: &'static ListSpec,
    select: &str,
    from: &str,
    params: &ListParams,
) -> Result<Vec<String>, StoreError> {
    let (mut conditions, mut binds) = conditions(spec, &[], params);
    let sql = page_sql(select, from, params, &mut conditions, &mut binds);
    let postgres = conn.backend_name() == "PostgreSQL";
    let explain = if postgres {
        format!("EXPLAIN {sql}")
    } else {
        format!("EXPLAIN QUERY PLAN {sql}")
    };
    let rows = bind_all(sqlx::query(&explain), &binds)
        .fetch_all(&mut *conn)
        .await?;
    let column = if postgres { "QUERY PLAN" } else { "detail" };
    rows.iter()
        .map(|row| Ok(row.try_get::<String, _>(column)?))
        .collect()
}

/// The conditions of scope, filter and search, and the values they bind.
fn conditions(
    spec: &'static ListSpec,
    scope: &[(&str, Literal)],
    params: &ListParams,
) -> (Vec<String>, Vec<Literal>) {
    let mut binds: Vec<Literal> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    for (column, value) in scope {
        binds.push(value.clone());
        conditions.push(format!("{column} = ${}", binds.len()));
    }
    if let Some(filter) = &params.filter {
        let sql = filter_to_sql(filter, binds.len() + 1, &mut binds);
        conditions.push(sql);
    }
    let term = params.search.as_deref().filter(|t| !t.is_empty());
    if term.is_some() && spec.search.is_empty() {
        // Nothing of the resource is searchable, so nothing contains the term.
        conditions.push("1 = 0".to_owned());
    } else if let Some(term) = term {
        binds.push(Literal::Text(format!(
            "%{}%",
            escape_like(&term.to_lowercase())
        )));
        let n = binds.len();
        let columns: Vec<String> = spec
            .search
            .iter()
            .filter_map(|name| spec.field(name))
            .map(|f| format!("lower({}) LIKE ${n} ESCAPE '\\'", f.column))
            .collect();
        conditions.push(format!("({})", columns.join(" OR ")));
    }
    (conditions, binds)
}

/// The page query: `conditions`, then where the page starts, in order,
/// limited; pushes the values it binds onto `binds`.
fn page_sql(
    select: &str,
    from: &str,
    params: &ListParams,
    conditions: &mut Vec<String>,
    binds: &mut Vec<Literal>,
) -> String {
    if let Some(after) = &params.after {
        conditions.push(keyset_condition(&params.order, after, binds));
    }
    // The order keys again under names of their own, to read the last row's
    // position from whatever `select` calls its columns.
    let keys: Vec<String> = params
        .order
        .iter()
        .enumerate()
        .map(|(i, o)| match o.field.kind {
            FieldKind::Integer | FieldKind::Boolean => {
                format!("CAST({} AS BIGINT) AS list_key_{i}", o.field.column)
            }
            FieldKind::Text | FieldKind::Timestamp => format!("{} AS list_key_{i}", o.field.column),
        })
        .collect();
    let order_sql: Vec<String> = params.order.iter().map(order_term).collect();
    let n = binds.len();
    let sql = format!(
        "SELECT {select}, {} FROM {from}{} ORDER BY {} LIMIT ${} OFFSET ${}",
        keys.join(", "),
        where_sql(conditions),
        order_sql.join(", "),
        n + 1,
        n + 2
    );
    binds.push(Literal::Integer(params.top));
    binds.push(Literal::Integer(params.skip));
    sql
}

fn where_sql(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// NULL sorts after every value: PostgreSQL's default, spelled out so that
/// SQLite (which puts NULL first) agrees. Only nullable columns say so, since
/// PostgreSQL will not walk a NOT NULL column's index for `ASC NULLS FIRST`
/// and the like.
fn order_term(order: &OrderBy) -> String {
    let column = order.field.column;
    match (order.direction, order.field.nullable) {
        (Direction::Asc, false) => format!("{column} ASC"),
        (Direction::Desc, false) => format!("{column} DESC"),
        (Direction::Asc, true) => format!("{column} ASC NULLS LAST"),
        (Direction::Desc, true) => format!("{column} DESC NULLS FIRST"),
    }
}

/// The order-key values of a row fetched by `fetch_page`.
fn position(row: &AnyRow, order: &[OrderBy]) -> Result<Vec<Literal>, StoreError> {
    order
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let column = format!("list_key_{i}");
            let value = match o.field.kind {
                FieldKind::Integer | FieldKind::Boolean => row
                    .try_get::<Option<i64>, _>(column.as_str())?
                    .map(Literal::Integer),
                FieldKind::Text | FieldKind::Timestamp => row
                    .try_get::<Option<String>, _>(column.as_str())?
                    .map(Literal::Text),
            };
            Ok(value.unwrap_or(Literal::Null))
        })
        .collect()
}

/// The rows after `after` in `order` (NULL after every value, as in
/// `order_term`): `k1 > v1 OR (k1 = v1 AND k2 > v2) OR …`, with `<` for
/// descending keys and IS [NOT] NULL where a value or a column may be NULL.
/// Values are bound, pushed onto `binds`.
fn keyset_condition(order: &[OrderBy], after: &[Literal], binds: &mut Vec<Literal>) -> String {
    let mut branches: Vec<String> = Vec::new();
    let mut equal: Vec<String> = Vec::new();
    let mut leading_bound = None;
    for (i, (key, value)) in order.iter().zip(after).enumerate() {
        let column = key.field.column;
        let placeholder = match value {
            Literal::Null => None,
            value => {
                binds.push(value.clone());
                Some(format!("${}", binds.len()))
            }
        };
        let beyond = match (&placeholder, key.direction) {
            (Some(p), Direction::Asc) if key.field.nullable => {
                Some(format!("({column} > {p} OR {column} IS NULL)"))
            }
            (Some(p), Direction::Asc) => Some(format!("{column} > {p}")),
            (Some(p), Direction::Desc) => Some(format!("{column} < {p}")),
            // NULL is last in ascending order: nothing is beyond it.
            (None, Direction::Asc) => None,
            (None, Direction::Desc) => Some(format!("{column} IS NOT NULL")),
        };
        if let Some(beyond) = beyond {
            branches.push(
                equal
                    .iter()
                    .cloned()
                    .chain(std::iter::once(beyond))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
        }
        // A plain range on the first key lets both planners start the index
        // walk at the position instead of filtering from the first row.
        if i == 0 && order.len() > 1 {
            leading_bound = match (&placeholder, key.direction) {
                (Some(p), Direction::Asc) if !key.field.nullable => {
                    Some(format!("{column} >= {p}"))
                }
                (Some(p), Direction::Desc) => Some(format!("{column} <= {p}")),
                _ => None,
            };
        }
        equal.push(match &placeholder {
            Some(p) => format!("{column} = {p}"),
            None => format!("{column} IS NULL"),
        });
    }
    let any = match branches.len() {
        0 => return "1 = 0".to_owned(),
        1 => branches.remove(0),
        _ => format!("(({}))", branches.join(") OR (")),
    };
    match leading_bound {
        Some(bound) => format!("({bound} AND {any})"),
        None => any,
    }
}

pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    values: &'q [Literal],
) -> Query<'q, Any, AnyArguments<'q>> {
    for value in values {
        query = match value {
            Literal::Text(text) => query.bind(text.as_str()),
            Literal::Integer(i) => query.bind(*i),
            Literal::Boolean(b) => query.bind(i32::from(*b)),
            Literal::Null => query.bind(None::<String>),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users order by `displayName` (NOT NULL) and `familyName` (nullable).
    static SPEC: &ListSpec = &crate::users::LIST;

    fn condition(orderby: &str, after: &[Literal]) -> (String, Vec<Literal>) {
        let order = SPEC.parse_orderby(Some(orderby)).unwrap();
        let mut binds = vec![Literal::Text("scope".into())];
        let sql = keyset_condition(&order, after, &mut binds);
        (sql, binds.split_off(1))
    }

    fn text(value: &str) -> Literal {
        Literal::Text(value.into())
    }

    #[test]
    fn one_key_is_one_comparison() {
        assert_eq!(condition("id", &[text("u")]).0, "id > $2");
        assert_eq!(condition("id desc", &[text("u")]).0, "id < $2");
    }

    #[test]
    fn later_keys_break_ties_under_a_leading_range() {
        let (sql, binds) = condition("displayName", &[text("Ann"), text("u")]);
        assert_eq!(
            sql,
            "(display_name >= $2 AND ((display_name > $2) OR (display_name = $2 AND id > $3)))"
        );
        assert_eq!(binds, [text("Ann"), text("u")]);
        let (sql, _) = condition("displayName desc", &[text("Ann"), text("u")]);
        assert_eq!(
            sql,
            "(display_name <= $2 AND ((display_name < $2) OR (display_name = $2 AND id < $3)))"
        );
    }

    #[test]
    fn null_comes_after_every_value() {
        let (sql, binds) = condition("familyName", &[text("Smith"), text("u")]);
        assert_eq!(
            sql,
            "(((family_name > $2 OR family_name IS NULL)) OR (family_name = $2 AND id > $3))"
        );
        assert_eq!(binds, [text("Smith"), text("u")]);
        let (sql, binds) = condition("familyName", &[Literal::Null, text("u")]);
        assert_eq!(sql, "family_name IS NULL AND id > $2");
        assert_eq!(binds, [text("u")]);
        let (sql, _) = condition("familyName desc", &[Literal::Null, text("u")]);
        assert_eq!(
            sql,
            "((family_name IS NOT NULL) OR (family_name IS NULL AND id < $2))"
        );
        let (sql, _) = condition("familyName desc", &[text("Smith"), text("u")]);
        assert_eq!(
            sql,
            "(family_name <= $2 AND ((family_name < $2) OR (family_name = $2 AND id < $3)))"
        );
        assert_eq!(
            order_term(&SPEC.parse_orderby(Some("familyName desc")).unwrap()[0]),
            "family_name DESC NULLS FIRST"
        );
    }

    /// `Field::nullable` drives the keyset conditions: it must say what the
    /// schema says, or paging would skip NULL rows.
    #[tokio::test]
    async fn list_specs_know_which_columns_take_null() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("schema.db").display());
        let store = crate::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let specs: [(&ListSpec, &str); 13] = [
            (&crate::users::LIST, "users"),
            (&crate::roles::LIST, "roles"),
            (&crate::roles::MAP_LIST, "role_connection_maps"),
            (&crate::api_keys::LIST, "api_keys"),
            (&crate::custom_upns::LIST, "custom_upns"),
            (&crate::organizations::LIST, "organizations"),
            (&crate::idp_tenants::LIST, "idp_tenants"),
            (&crate::identities::LIST, "identities"),
            (&crate::memberships::LIST, "memberships"),
            (&crate::audit::LIST, "audit_events"),
            (&crate::subscriptions::LIST, "subscriptions"),
            (&crate::subscription_logs::LIST, "subscription_logs"),
            (&crate::upsell::REQUEST_LIST, "upsell_requests"),
        ];
        let mut conn = store.begin_read().await.unwrap();
        for (spec, table) in specs {
            for field in spec.fields {
                let (table, column) = match field.column.split_once('.') {
                    Some(("t", column)) => ("idp_tenants", column),
                    Some((_, column)) => (table, column),
                    None => (table, field.column),
                };
                let row = sqlx::query(
                    "SELECT \"notnull\" + pk AS required FROM pragma_table_info($1) WHERE name = $2",
                )
                .bind(table)
                .bind(column)
                .fetch_one(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
                let required: i64 = row.try_get("required").unwrap();
                assert_eq!(field.nullable, required == 0, "{table}.{column}");
            }
        }
    }
}
