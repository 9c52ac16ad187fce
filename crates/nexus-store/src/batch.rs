//! Writes that belong together, run as one: on PostgreSQL one round trip
//! (each statement a data-modifying `WITH`, all run to completion on one
//! snapshot), on SQLite — in process, where a statement costs no round
//! trip — one after the other. Placeholders are numbered across all the
//! statements as values are bound.

use crate::{Backend, Conn, StoreError};

/// A value bound to a statement of a batch.
pub(crate) enum Value<'a> {
    Int(i32),
    OptInt(Option<i32>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Owned(String),
}

#[derive(Default)]
pub(crate) struct Batch<'a> {
    statements: Vec<String>,
    values: Vec<Value<'a>>,
}

impl<'a> Batch<'a> {
    /// The placeholder of `value`, bound.
    pub(crate) fn bind(&mut self, value: Value<'a>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a statement; the statements run in the order they were added.
    /// None may write a row another one writes.
    pub(crate) fn push(&mut self, sql: String) {
        self.statements.push(sql);
    }

    /// The id a statement added before (an `INSERT … RETURNING id` into
    /// `table`, whose ids only grow) gave its row, as an expression a later
    /// statement can use: on SQLite, whose one writer runs the transaction
    /// alone, the table's newest id.
    pub(crate) fn inserted_id(&self, conn: &Conn, table: &str) -> String {
        let last = self
            .statements
            .len()
            .checked_sub(1)
            .expect("an insert added before");
        match Backend::of(conn) {
            Backend::Postgres => format!("(SELECT id FROM w{last})"),
            Backend::Sqlite => format!("(SELECT max(id) FROM {table})"),
        }
    }

    pub(crate) async fn run(self, conn: &mut Conn) -> Result<(), StoreError> {
        if self.statements.is_empty() {
            return Ok(());
        }
        let sqls = match Backend::of(conn) {
            Backend::Postgres => {
                let parts: Vec<String> = (self.statements.iter().enumerate())
                    .map(|(i, sql)| format!("w{i} AS ({sql})"))
                    .collect();
                vec![format!("WITH {} SELECT 1 AS done", parts.join(", "))]
            }
            // One call to sqlx's SQLite worker thread runs them all, each
            // statement binding the numbered placeholders it names.
            Backend::Sqlite => vec![self.statements.join(";\n")],
        };
        for sql in &sqls {
            let mut query = sqlx::query(sql);
            for value in &self.values {
                query = match value {
                    Value::Int(value) => query.bind(*value),
                    Value::OptInt(value) => query.bind(*value),
                    Value::Text(value) => query.bind(*value),
                    Value::OptText(value) => query.bind(*value),
                    Value::Owned(value) => query.bind(value.as_str()),
                };
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
