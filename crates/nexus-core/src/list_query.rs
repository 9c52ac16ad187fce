//! List query options of the OData-flavoured API: a safe `$filter` subset and
//! `$orderby`, parsed against a whitelist of fields, and rendered to SQL with
//! bound parameters only.

use crate::Timestamp;

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

pub const MAX_FILTER_LEN: usize = 2000;
const MAX_DEPTH: usize = 20;
const MAX_COMPARISONS: usize = 50;

impl ListSpec {
    pub fn field(&'static self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn known(&'static self, name: &str, position: usize) -> Result<&'static Field, QueryError> {
        self.field(name).ok_or_else(|| {
            let names: Vec<_> = self.fields.iter().map(|f| f.name).collect();
            QueryError(format!(
                "unknown field '{name}' at position {position}; allowed: {}",
                names.join(", ")
            ))
        })
    }

    pub fn parse_filter(&'static self, input: &str) -> Result<Filter, QueryError> {
        if input.chars().count() > MAX_FILTER_LEN {
            return Err(QueryError(format!(
                "$filter must be at most {MAX_FILTER_LEN} characters long"
            )));
        }
        let tokens = tokenize(input)?;
        let mut parser = Parser {
            spec: self,
            tokens,
            at: 0,
            comparisons: 0,
        };
        let filter = parser.or(0)?;
        match parser.tokens.get(parser.at) {
            None => Ok(filter),
            Some((_, position)) => Err(QueryError(format!(
                "unexpected input at position {position}"
            ))),
        }
    }

    pub fn parse_orderby(&'static self, input: Option<&str>) -> Result<Vec<OrderBy>, QueryError> {
        let mut order: Vec<OrderBy> = Vec::new();
        if let Some(input) = input.filter(|i| !i.trim().is_empty()) {
            for item in input.split(',') {
                let mut words = item.split_whitespace();
                let name = words
                    .next()
                    .ok_or_else(|| QueryError("$orderby has an empty item".to_owned()))?;
                let field = self
                    .field(name)
                    .ok_or_else(|| QueryError(format!("unknown field '{name}' in $orderby")))?;
                if !field.sortable {
                    return Err(QueryError(format!("'{name}' cannot be used in $orderby")));
                }
                let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("asc") => Direction::Asc,
                    Some("desc") => Direction::Desc,
                    Some(other) => return Err(QueryError(format!("'{other}' is not asc or desc"))),
                };
                if words.next().is_some() {
                    return Err(QueryError(format!(
                        "unexpected text in $orderby item '{}'",
                        item.trim()
                    )));
                }
                if order.iter().any(|o| o.field.name == name) {
                    return Err(QueryError(format!("'{name}' appears twice in $orderby")));
                }
                order.push(OrderBy { field, direction });
            }
        }
        let id = self
            .field(self.id_field)
            .expect("a list spec names its id field");
        if !order.iter().any(|o| o.field.name == id.name) {
            let direction = order.last().map_or(Direction::Asc, |o| o.direction);
            order.push(OrderBy {
                field: id,
                direction,
            });
        }
        Ok(order)
    }
}

/// Checks that `values` can be the position of a row in `order`: one value per
/// order key, each of that key's type, NULL only where the column allows it.
/// The values come from a client (`$skiptoken`), so they are checked before
/// they are bound to a keyset condition.
pub fn check_position(order: &[OrderBy], values: &[Literal]) -> Result<(), QueryError> {
    if values.len() != order.len() {
        return Err(QueryError(format!(
            "holds {} values where the order has {} keys",
            values.len(),
            order.len()
        )));
    }
    for (key, value) in order.iter().zip(values) {
        let field = key.field;
        let fits = match (field.kind, value) {
            (_, Literal::Null) => field.nullable,
            (FieldKind::Text, Literal::Text(_)) => true,
            (FieldKind::Timestamp, Literal::Text(text)) => Timestamp::parse(text).is_ok(),
            (FieldKind::Integer | FieldKind::Boolean, Literal::Integer(_)) => true,
            _ => false,
        };
        if !fits {
            return Err(QueryError(format!(
                "holds a value for '{}' that it cannot take",
                field.name
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(i64),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<(Token, usize)>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((Token::Open, start));
                i += 1;
            }
            ')' => {
                tokens.push((Token::Close, start));
                i += 1;
            }
            ',' => {
                tokens.push((Token::Comma, start));
                i += 1;
            }
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(QueryError(format!(
                                "unterminated string starting at position {start}"
                            )))
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            text.push(c);
                            i += 1;
                        }
                    }
                }
                tokens.push((Token::Text(text), start));
            }
            c if c == '-' || c.is_ascii_digit() => {
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let number = text.parse().map_err(|_| {
                    QueryError(format!("invalid number '{text}' at position {start}"))
                })?;
                tokens.push((Token::Number(number), start));
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => {
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                {
                    i += 1;
                }
                tokens.push((Token::Word(chars[start..i].iter().collect()), start));
            }
            other => {
                return Err(QueryError(format!(
                    "unexpected character '{other}' at position {start}"
                )))
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    spec: &'static ListSpec,
    tokens: Vec<(Token, usize)>,
    at: usize,
    comparisons: usize,
}

impl Parser {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at), Some((Token::Word(w), _)) if w.eq_ignore_ascii_case(keyword))
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or_else(|| self.tokens.last().map_or(0, |(_, p)| p + 1), |(_, p)| *p)
    }

    fn next(&mut self, what: &str) -> Result<(Token, usize), QueryError> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| QueryError(format!("expected {what} at the end of $filter")))?;
        self.at += 1;
        Ok(token)
    }

    fn expect(&mut self, expected: Token, what: &str) -> Result<(), QueryError> {
        let (token, position) = self.next(what)?;
        if token == expected {
            Ok(())
        } else {
            Err(QueryError(format!(
                "expected {what} at position {position}"
            )))
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, QueryError> {
        let mut left = self.and(depth)?;
        while self.peek_keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, QueryError> {
        let mut left = self.primary(depth)?;
        while self.peek_keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.primary(depth)?));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Filter, QueryError> {
        if depth >= MAX_DEPTH {
            return Err(QueryError(format!(
                "$filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        let position = self.position();
        match self.next("a comparison")? {
            (Token::Open, _) => {
                let inner = self.or(depth + 1)?;
                self.expect(Token::Close, "')'")?;
                Ok(inner)
            }
            (Token::Word(word), _) if word.eq_ignore_ascii_case("startswith") => {
                self.count()?;
                self.expect(Token::Open, "'(' after startswith")?;
                let (name, name_at) = match self.next("a field name")? {
                    (Token::Word(name), at) => (name, at),
                    (_, at) => {
                        return Err(QueryError(format!(
                            "expected a field name at position {at}"
                        )))
                    }
                };
                let field = self.spec.known(&name, name_at)?;
                if field.kind != FieldKind::Text {
                    return Err(QueryError(format!(
                        "startswith needs a text field; '{name}' is not one"
                    )));
                }
                self.expect(Token::Comma, "','")?;
                let prefix = match self.next("a quoted string")? {
                    (Token::Text(text), _) => text,
                    (_, at) => {
                        return Err(QueryError(format!(
                            "expected a quoted string at position {at}"
                        )))
                    }
                };
                self.expect(Token::Close, "')'")?;
                Ok(Filter::StartsWith { field, prefix })
            }
            (Token::Word(name), _) => {
                self.count()?;
                let field = self.spec.known(&name, position)?;
                let op = match self.next("eq or ne")? {
                    (Token::Word(op), _) if op.eq_ignore_ascii_case("eq") => CompareOp::Eq,
                    (Token::Word(op), _) if op.eq_ignore_ascii_case("ne") => CompareOp::Ne,
                    (_, at) => {
                        return Err(QueryError(format!(
                            "expected eq or ne at position {at} (supported: eq, ne, startswith, and, or)"
                        )))
                    }
                };
                let (token, at) = self.next("a value")?;
                let value = literal(field, token, at)?;
                Ok(Filter::Compare { field, op, value })
            }
            (_, at) => Err(QueryError(format!(
                "expected a comparison at position {at}"
            ))),
        }
    }

    fn count(&mut self) -> Result<(), QueryError> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(QueryError(format!(
                "$filter has more than {MAX_COMPARISONS} comparisons"
            )));
        }
        Ok(())
    }
}

fn literal(field: &Field, token: Token, at: usize) -> Result<Literal, QueryError> {
    let mismatch = |expected: &str| {
        QueryError(format!(
            "'{}' takes {expected}; the value at position {at} is not one",
            field.name
        ))
    };
    if let Token::Word(word) = &token {
        if word.eq_ignore_ascii_case("null") {
            return Ok(Literal::Null);
        }
    }
    match (field.kind, token) {
        (FieldKind::Text, Token::Text(text)) => Ok(Literal::Text(text)),
        (FieldKind::Text, _) => Err(mismatch("a quoted string")),
        (FieldKind::Integer, Token::Number(n)) => Ok(Literal::Integer(n)),
        (FieldKind::Integer, _) => Err(mismatch("an integer")),
        (FieldKind::Boolean, Token::Word(w)) if w.eq_ignore_ascii_case("true") => {
            Ok(Literal::Boolean(true))
        }
        (FieldKind::Boolean, Token::Word(w)) if w.eq_ignore_ascii_case("false") => {
            Ok(Literal::Boolean(false))
        }
        (FieldKind::Boolean, _) => Err(mismatch("true or false")),
        (FieldKind::Timestamp, Token::Text(text)) => Timestamp::parse(&text)
            .map(|t| Literal::Text(t.to_text()))
            .map_err(|e| QueryError(format!("'{}' {e}", field.name))),
        (FieldKind::Timestamp, _) => Err(mismatch("a quoted RFC 3339 date-time")),
    }
}

/// Renders a filter as a SQL condition with `$n` placeholders from
/// `first_placeholder`, pushing the values to bind onto `params` in order.
pub fn filter_to_sql(
    filter: &Filter,
    first_placeholder: usize,
    params: &mut Vec<Literal>,
) -> String {
    let start = params.len();
    let mut push = |params: &mut Vec<Literal>, value: Literal| {
        params.push(value);
        format!("${}", first_placeholder + params.len() - start - 1)
    };
    render(filter, params, &mut push)
}

fn render(
    filter: &Filter,
    params: &mut Vec<Literal>,
    push: &mut impl FnMut(&mut Vec<Literal>, Literal) -> String,
) -> String {
    match filter {
        Filter::Compare {
            field,
            op,
            value: Literal::Null,
        } => match op {
            CompareOp::Eq => format!("{} IS NULL", field.column),
            CompareOp::Ne => format!("{} IS NOT NULL", field.column),
        },
        Filter::Compare { field, op, value } => {
            let value = match value {
                // Flags are stored as INTEGER 0/1.
                Literal::Boolean(b) => Literal::Integer(i64::from(*b)),
                other => other.clone(),
            };
            let placeholder = push(params, value);
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
            };
            format!("{} {op} {placeholder}", field.column)
        }
        Filter::StartsWith { field, prefix } => {
            let mut pattern = String::new();
            for c in prefix.to_lowercase().chars() {
                if matches!(c, '\\' | '%' | '_') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            let placeholder = push(params, Literal::Text(pattern));
            format!("lower({}) LIKE {placeholder} ESCAPE '\\'", field.column)
        }
        Filter::And(a, b) => format!(
            "({} AND {})",
            render(a, params, push),
            render(b, params, push)
        ),
        Filter::Or(a, b) => format!(
            "({} OR {})",
            render(a, params, push),
            render(b, params, push)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPEC: ListSpec = ListSpec {
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

    fn sql(input: &str, first: usize) -> (String, Vec<Literal>) {
        let filter = SPEC.parse_filter(input).unwrap();
        let mut params = vec![Literal::Text("scope".into()); first - 1];
        let sql = filter_to_sql(&filter, first, &mut params);
        (sql, params.split_off(first - 1))
    }

    #[test]
    fn precedence_and_parentheses() {
        let (s, p) = sql(
            "displayName eq 'a' or isActive eq true and organizationId ne 3",
            1,
        );
        assert_eq!(
            s,
            "(display_name = $1 OR (is_active = $2 AND organization_id <> $3))"
        );
        assert_eq!(
            p,
            [
                Literal::Text("a".into()),
                Literal::Integer(1),
                Literal::Integer(3)
            ]
        );
        let (s, _) = sql(
            "(displayName eq 'a' or isActive eq false) and organizationId eq 3",
            4,
        );
        assert_eq!(
            s,
            "((display_name = $4 OR is_active = $5) AND organization_id = $6)"
        );
    }

    #[test]
    fn quotes_nulls_and_startswith() {
        let (s, p) = sql("displayName eq 'O''Brien' and organizationId eq null", 1);
        assert_eq!(s, "(display_name = $1 AND organization_id IS NULL)");
        assert_eq!(p, [Literal::Text("O'Brien".into())]);
        let (s, p) = sql("STARTSWITH(displayName, '50%_A\\')", 2);
        assert_eq!(s, "lower(display_name) LIKE $2 ESCAPE '\\'");
        assert_eq!(p, [Literal::Text("50\\%\\_a\\\\%".into())]);
    }

    #[test]
    fn timestamps_are_normalised() {
        let (_, p) = sql("created ne '2026-01-02T03:04:05+01:00'", 1);
        assert_eq!(p, [Literal::Text("2026-01-02T02:04:05.000000Z".into())]);
        assert!(SPEC.parse_filter("created eq 'yesterday'").is_err());
    }

    #[test]
    fn rejects_what_it_does_not_support() {
        for bad in [
            "displayName gt 'a'",
            "nope eq 1",
            "organizationId eq '3'",
            "isActive eq 1",
            "startswith(organizationId,'1')",
            "displayName eq 'a",
            "displayName eq 'a' extra",
            "displayName eq 'a'; DROP TABLE users",
            "(displayName eq 'a'",
            "",
        ] {
            assert!(SPEC.parse_filter(bad).is_err(), "{bad:?} accepted");
        }
        let error = SPEC.parse_filter("nope eq 1").unwrap_err();
        assert!(error.0.contains("unknown field 'nope'") && error.0.contains("displayName"));
    }

    #[test]
    fn limits() {
        let deep = format!("{}displayName eq 'a'{}", "(".repeat(25), ")".repeat(25));
        assert!(SPEC.parse_filter(&deep).unwrap_err().0.contains("nested"));
        let many = vec!["isActive eq true"; 51].join(" and ");
        assert!(SPEC
            .parse_filter(&many)
            .unwrap_err()
            .0
            .contains("comparisons"));
        let long = format!("displayName eq '{}'", "a".repeat(2000));
        assert!(SPEC.parse_filter(&long).is_err());
    }

    #[test]
    fn orderby_defaults_and_tie_breaker() {
        let order = SPEC.parse_orderby(None).unwrap();
        assert_eq!(order.len(), 1);
        assert_eq!(
            (order[0].field.name, order[0].direction),
            ("id", Direction::Asc)
        );
        let order = SPEC
            .parse_orderby(Some("displayName DESC, created"))
            .unwrap();
        let names: Vec<_> = order.iter().map(|o| (o.field.name, o.direction)).collect();
        assert_eq!(
            names,
            [
                ("displayName", Direction::Desc),
                ("created", Direction::Asc),
                ("id", Direction::Asc)
            ]
        );
        for bad in [
            "displayName,,created",
            "isActive",
            "displayName up",
            "displayName, displayName",
            "x",
        ] {
            assert!(SPEC.parse_orderby(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn positions_match_their_order() {
        let order = SPEC
            .parse_orderby(Some("familyName desc, created"))
            .unwrap();
        let created = Literal::Text("2026-01-02T02:04:05.000000Z".into());
        let id = Literal::Text("u1".into());
        assert!(check_position(&order, &[Literal::Null, created.clone(), id.clone()]).is_ok());
        assert!(check_position(
            &order,
            &[Literal::Text("Smith".into()), created.clone(), id.clone()]
        )
        .is_ok());
        for bad in [
            vec![Literal::Null, created.clone()],
            vec![Literal::Null, created.clone(), id.clone(), id.clone()],
            vec![Literal::Integer(1), created.clone(), id.clone()],
            vec![Literal::Null, Literal::Text("yesterday".into()), id.clone()],
            vec![Literal::Null, created.clone(), Literal::Null],
        ] {
            assert!(check_position(&order, &bad).is_err(), "{bad:?} accepted");
        }
    }
}
