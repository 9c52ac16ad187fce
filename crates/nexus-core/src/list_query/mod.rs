//! List query options of the OData-flavoured API: a safe `$filter` subset and
//! `$orderby`, parsed against a whitelist of fields into the values below.
//! The store renders them to SQL, with bound parameters only.

mod filter;
mod memory;
mod order;

pub use memory::{parse_select, select_pattern, MemoryPage, MemoryQuery};
pub use order::check_position;

/// How a whitelisted field is typed in filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Integer,
    Boolean,
    Timestamp,
}

/// A field a list endpoint allows in `$filter` / `$orderby`.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// The JSON name on the wire.
    pub name: &'static str,
    /// The SQL column (never taken from input).
    pub column: &'static str,
    pub kind: FieldKind,
    pub sortable: bool,
    /// The column may hold NULL. NULL sorts after every value on both
    /// backends (PostgreSQL's default, made explicit for SQLite), and a keyset
    /// condition needs its own branches for it; kept off for NOT NULL columns
    /// so that both planners can still walk an index.
    pub nullable: bool,
}

impl Field {
    /// A field that can be filtered on, not sorted by, and is never NULL.
    pub const fn new(name: &'static str, column: &'static str, kind: FieldKind) -> Field {
        Field {
            name,
            column,
            kind,
            sortable: false,
            nullable: false,
        }
    }

    pub const fn sortable(self) -> Field {
        Field {
            sortable: true,
            ..self
        }
    }

    pub const fn nullable(self) -> Field {
        Field {
            nullable: true,
            ..self
        }
    }
}

/// What one list endpoint allows.
#[derive(Debug)]
pub struct ListSpec {
    pub fields: &'static [Field],
    /// JSON names searched by `$search`.
    pub search: &'static [&'static str],
    /// The JSON name of the unique id, the final tie-breaker of every order.
    pub id_field: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Integer(i64),
    Boolean(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The keyword in `$filter`.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// `gt`, `ge`, `lt`, `le`: they need values that have an order.
    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

impl FieldKind {
    /// Whether `gt`/`ge`/`lt`/`le` may compare the field: integers and
    /// instants have an order that means something; text and flags do not.
    pub fn is_ordered(self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Timestamp)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        field: &'static Field,
        op: CompareOp,
        value: Literal,
    },
    StartsWith {
        field: &'static Field,
        prefix: String,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: &'static Field,
    pub direction: Direction,
}

/// A parse error, worded for API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl ListSpec {
    pub fn field(&'static self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A list of every field kind, for the tests of the parsers.
#[cfg(test)]
static TEST_SPEC: ListSpec = ListSpec {
    fields: &[
        Field {
            name: "id",
            column: "id",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "displayName",
            column: "display_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: false,
        },
        Field {
            name: "familyName",
            column: "family_name",
            kind: FieldKind::Text,
            sortable: true,
            nullable: true,
        },
        Field {
            name: "organizationId",
            column: "organization_id",
            kind: FieldKind::Integer,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "isActive",
            column: "is_active",
            kind: FieldKind::Boolean,
            sortable: false,
            nullable: false,
        },
        Field {
            name: "created",
            column: "created",
            kind: FieldKind::Timestamp,
            sortable: true,
            nullable: false,
        },
    ],
    search: &["displayName"],
    id_field: "id",
};
