//! Reading columns the way both backends store them.

use nexus_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::StoreError;

pub(crate) trait RowExt {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i32, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i32>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn timestamp(&self, column: &str) -> Result<Timestamp, StoreError>;
    fn opt_timestamp(&self, column: &str) -> Result<Option<Timestamp>, StoreError>;
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

    /// Flags are INTEGER 0/1 in both schemas.
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get::<i32, _>(column)? != 0)
    }

    fn timestamp(&self, column: &str) -> Result<Timestamp, StoreError> {
        parse_timestamp(column, &self.text(column)?)
    }

    fn opt_timestamp(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        self.opt_text(column)?
            .map(|t| parse_timestamp(column, &t))
            .transpose()
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
