//! Paged, filtered, ordered listing shared by every collection endpoint.

use nexus_core::list_query::{filter_to_sql, Direction, Filter, ListSpec, Literal, OrderBy};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

use crate::{Conn, StoreError};

/// Options of one list request, already parsed against the resource's spec.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub search: Option<String>,
    pub order: Vec<OrderBy>,
    pub top: i64,
    pub skip: i64,
    pub count: bool,
}

/// One page of a list, with the total that matched when it was asked for.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
}

/// The rows of `from` (a table, possibly joined) that match `scope` (column,
/// value pairs that must be equal: e.g. the owning user), the filter and the
/// search, in the requested order.
pub(crate) async fn fetch_page(
    conn: &mut Conn,
    spec: &'static ListSpec,
    select: &str,
    from: &str,
    scope: &[(&str, Literal)],
    params: &ListParams,
) -> Result<(Vec<AnyRow>, Option<i64>), StoreError> {
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
    if let Some(term) = params.search.as_deref().filter(|t| !t.is_empty()) {
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
    let where_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };

    let total = if params.count {
        let sql = format!("SELECT count(*) AS total FROM {from}{where_sql}");
        let row = bind_all(sqlx::query(&sql), &binds)
            .fetch_one(&mut *conn)
            .await?;
        Some(sqlx::Row::try_get::<i64, _>(&row, "total")?)
    } else {
        None
    };

    let order_sql: Vec<String> = params
        .order
        .iter()
        .map(|o| {
            let dir = match o.direction {
                Direction::Asc => "ASC",
                Direction::Desc => "DESC",
            };
            format!("{} {dir}", o.field.column)
        })
        .collect();
    let n = binds.len();
    let sql = format!(
        "SELECT {select} FROM {from}{where_sql} ORDER BY {} LIMIT ${} OFFSET ${}",
        order_sql.join(", "),
        n + 1,
        n + 2
    );
    binds.push(Literal::Integer(params.top));
    binds.push(Literal::Integer(params.skip));
    let rows = bind_all(sqlx::query(&sql), &binds)
        .fetch_all(&mut *conn)
        .await?;
    Ok((rows, total))
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

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
