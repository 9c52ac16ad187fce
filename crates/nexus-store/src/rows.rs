//! Reading columns the way both backends store them.

use std::collections::HashMap;

use nexus_core::{Audit, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Backend, Conn, StoreError};

pub(crate) trait RowExt {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i32, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i32>, StoreError>;

    /// Flags are INTEGER 0/1 in both schemas.
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.int(column)? != 0)
    }

    fn timestamp(&self, column: &str) -> Result<Timestamp, StoreError> {
        parse_timestamp(column, &self.text(column)?)
    }

    /// The stamps every record carries, from the four columns of that name.
    fn audit(&self) -> Result<Audit, StoreError> {
        Ok(Audit {
            created: self.timestamp("created")?,
            created_by: self.text("created_by")?,
            modified: self.timestamp("modified")?,
            modified_by: self.text("modified_by")?,
        })
    }

    fn opt_timestamp(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        self.opt_text(column)?
            .map(|t| parse_timestamp(column, &t))
            .transpose()
    }

    /// A JSON object stored as its text.
    fn json_object(
        &self,
        column: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        match serde_json::from_str(&self.text(column)?) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(other) => Err(StoreError::Corrupt(format!(
                "{column}: not a JSON object: {other}"
            ))),
            Err(e) => Err(StoreError::Corrupt(format!("{column}: {e}"))),
        }
    }
}

impl RowExt for AnyRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i32, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i32>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// A row of the SQLite readers that run on the calling thread
/// (`login::sqlite_reads`).
impl RowExt for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(column)?)
    }

    fn int(&self, column: &str) -> Result<i32, StoreError> {
        Ok(self.get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i32>, StoreError> {
        Ok(self.get(column)?)
    }
}

fn parse_timestamp(column: &str, text: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Flags are bound as INTEGER 0/1.
pub(crate) fn flag(value: bool) -> i32 {
    i32::from(value)
}

/// `$first, $first+1, …` for an `IN (…)` list of `count` values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row that arrived as a JSON object inside another row (a collection
/// aggregated by `json_collection`), read with the same `RowExt` calls.
pub(crate) struct JsonRow<'a>(pub &'a serde_json::Map<String, serde_json::Value>);

impl JsonRow<'_> {
    fn value(&self, column: &str) -> Result<&serde_json::Value, StoreError> {
        self.0
            .get(column)
            .ok_or_else(|| StoreError::Corrupt(format!("{column}: missing from the JSON row")))
    }

    pub(crate) fn array(&self, column: &str) -> Result<Vec<JsonRow<'_>>, StoreError> {
        json_objects(self.value(column)?, column)
    }

    /// A nested object (`json_object_sql`), read as a row of its own.
    pub(crate) fn object(&self, column: &str) -> Result<JsonRow<'_>, StoreError> {
        self.value(column)?
            .as_object()
            .map(JsonRow)
            .ok_or_else(|| StoreError::Corrupt(format!("{column}: not a JSON object")))
    }
}

impl RowExt for JsonRow<'_> {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.opt_text(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column}: null")))
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(text) => Ok(Some(text.clone())),
            other => Err(StoreError::Corrupt(format!("{column}: not text: {other}"))),
        }
    }

    fn int(&self, column: &str) -> Result<i32, StoreError> {
        self.opt_int(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column}: null")))
    }

    fn opt_int(&self, column: &str) -> Result<Option<i32>, StoreError> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            value => value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("{column}: not an int32: {value}"))),
        }
    }
}

/// Parses a column holding a JSON array of objects.
pub(crate) fn json_array(text: &str, column: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn json_objects<'a>(
    value: &'a serde_json::Value,
    column: &str,
) -> Result<Vec<JsonRow<'a>>, StoreError> {
    let items = value
        .as_array()
        .ok_or_else(|| StoreError::Corrupt(format!("{column}: not a JSON array")))?;
    items
        .iter()
        .map(|item| {
            item.as_object()
                .map(JsonRow)
                .ok_or_else(|| StoreError::Corrupt(format!("{column}: not a JSON object")))
        })
        .collect()
}

/// SQL for a scalar subquery that answers the rows of `from` as a JSON array
/// (text) of objects made by `json_object_sql`, in no order: the reader sorts
/// them (an ordered aggregate costs SQLite a temporary b-tree per row read).
pub(crate) fn json_collection(
    backend: Backend,
    columns: &str,
    nested: &[(&str, String)],
    from: &str,
) -> String {
    let object = json_object_sql(backend, columns, nested);
    match backend {
        Backend::Postgres => {
            format!("(SELECT CAST(COALESCE(json_agg({object}), '[]') AS TEXT) FROM {from})")
        }
        Backend::Sqlite => format!("(SELECT json_group_array({object}) FROM {from})"),
    }
}

/// SQL for a JSON object keyed by `columns`' names (`expr AS name`, or a
/// column's name without its table); `nested` adds keys whose values are
/// JSON themselves (collections, objects).
pub(crate) fn json_object_sql(
    backend: Backend,
    columns: &str,
    nested: &[(&str, String)],
) -> String {
    let mut pairs: Vec<String> = columns
        .split(',')
        .map(str::trim)
        .map(|column| match column.rsplit_once(" AS ") {
            Some((expr, alias)) => format!("'{}', {}", alias.trim(), expr.trim()),
            None => format!(
                "'{}', {column}",
                column.rsplit('.').next().unwrap_or(column)
            ),
        })
        .collect();
    for (key, sql) in nested {
        // A nested collection is JSON text: parse it back into JSON.
        pairs.push(match backend {
            Backend::Postgres => format!("'{key}', CAST({sql} AS json)"),
            Backend::Sqlite => format!("'{key}', json({sql})"),
        });
    }
    match backend {
        Backend::Postgres => format!("json_build_object({})", pairs.join(", ")),
        Backend::Sqlite => format!("json_object({})", pairs.join(", ")),
    }
}

/// What `group_by_parent` reads: the rows of `select` (`SELECT … FROM …`)
/// whose `parent` column is one of the parents' ids, in `order`.
pub(crate) struct ChildRows<'a> {
    pub select: &'a str,
    pub parent: &'a str,
    pub order: &'a str,
}

/// The children of many parents in one query, each read with `read` and
/// grouped by its parent's id (`key`), in `rows.order` within a group.
pub(crate) async fn group_by_parent<T>(
    conn: &mut Conn,
    rows: ChildRows<'_>,
    ids: &[i32],
    read: impl Fn(&AnyRow) -> Result<T, StoreError>,
    key: impl Fn(&T) -> i32,
) -> Result<HashMap<i32, Vec<T>>, StoreError> {
    let children = children_of(conn, rows, ids, read).await?;
    Ok(grouped(children, key))
}

/// The children of many parents in one query, each read with `read`, in
/// `rows.order`: for children that need more filled in before they are
/// grouped (`grouped`).
pub(crate) async fn children_of<T>(
    conn: &mut Conn,
    rows: ChildRows<'_>,
    ids: &[i32],
    read: impl Fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{} WHERE {} IN ({}) ORDER BY {}",
        rows.select,
        rows.parent,
        placeholders(1, ids.len()),
        rows.order
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(conn).await?.iter().map(read).collect()
}

/// `children` by their parent's id (`key`), each group in their order.
pub(crate) fn grouped<T>(children: Vec<T>, key: impl Fn(&T) -> i32) -> HashMap<i32, Vec<T>> {
    let mut groups: HashMap<i32, Vec<T>> = HashMap::new();
    for child in children {
        groups.entry(key(&child)).or_default().push(child);
    }
    groups
}
