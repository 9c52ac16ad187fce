//! `$filter`: the parser, and the canonical text of what it parsed.

use std::fmt;

use super::{CompareOp, Field, FieldKind, Filter, ListSpec, Literal, QueryError};
use crate::Timestamp;

const MAX_FILTER_LEN: usize = 2000;
const MAX_DEPTH: usize = 20;
const MAX_COMPARISONS: usize = 50;

impl ListSpec {
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
                let (op, op_at) = match self.next("an operator")? {
                    (Token::Word(word), at) => (
                        CompareOp::ALL
                            .into_iter()
                            .find(|op| word.eq_ignore_ascii_case(op.keyword())),
                        at,
                    ),
                    (_, at) => (None, at),
                };
                let op = op.ok_or_else(|| {
                    QueryError(format!(
                        "expected eq, ne, gt, ge, lt or le at position {op_at} \
                         (supported: eq, ne, gt, ge, lt, le, startswith, and, or)"
                    ))
                })?;
                if op.is_ordering() && !field.kind.is_ordered() {
                    return Err(QueryError(format!(
                        "'{op}' at position {op_at} compares integers and date-times; \
                         '{}' is {}, which takes only eq and ne",
                        field.name,
                        match field.kind {
                            FieldKind::Boolean => "true or false",
                            _ => "text",
                        }
                    )));
                }
                let (token, at) = self.next("a value")?;
                let value = literal(field, token, at)?;
                if op.is_ordering() && value == Literal::Null {
                    return Err(QueryError(format!(
                        "'{op}' cannot compare with null (position {at}); use eq null or ne null"
                    )));
                }
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
        (FieldKind::Timestamp, Token::Text(text)) => Timestamp::parse_micros(&text)
            .map(|t| Literal::Text(t.to_text()))
            .map_err(|e| QueryError(format!("'{}' {e}", field.name))),
        (FieldKind::Timestamp, _) => Err(mismatch("a quoted RFC 3339 date-time")),
    }
}

/// The canonical text of a filter, for telling queries apart: lower-case
/// keywords, a parenthesis around every `and` and `or`, one spelling per
/// value (timestamps as stored). Two parsed filters are equal exactly when
/// their texts are.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { field, op, value } => write!(f, "{} {op} {value}", field.name),
            Filter::StartsWith { field, prefix } => {
                write!(f, "startswith({},{})", field.name, Quoted(prefix))
            }
            Filter::And(a, b) => write!(f, "({a} and {b})"),
            Filter::Or(a, b) => write!(f, "({a} or {b})"),
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(text) => Quoted(text).fmt(f),
            Literal::Integer(n) => n.fmt(f),
            Literal::Boolean(b) => b.fmt(f),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// A string as `$filter` quotes it: in single quotes, a quote doubled.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::TEST_SPEC as SPEC;

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
    fn orders_compare_integers_and_date_times() {
        for (input, canonical) in [
            (
                "created GE '2026-01-01T00:00:00Z' and created lt '2026-02-01T00:00:00+01:00'",
                "(created ge '2026-01-01T00:00:00.000000Z' and created lt '2026-01-31T23:00:00.000000Z')",
            ),
            ("organizationId gt -3", "organizationId gt -3"),
            ("organizationId Le 7", "organizationId le 7"),
            (
                "created le '2026-01-01T00:00:00.1234560Z'",
                "created le '2026-01-01T00:00:00.123456Z'",
            ),
        ] {
            let filter = SPEC.parse_filter(input).unwrap();
            assert_eq!(filter.to_string(), canonical);
            assert_eq!(SPEC.parse_filter(canonical).unwrap(), filter);
        }
        assert_ne!(
            SPEC.parse_filter("organizationId gt 3").unwrap(),
            SPEC.parse_filter("organizationId ge 3").unwrap()
        );
    }

    #[test]
    fn orders_are_refused_where_they_mean_nothing() {
        let error = |input: &str| SPEC.parse_filter(input).unwrap_err().0;
        let text = error("displayName gt 'a'");
        assert!(
            text.contains("'gt' at position 12 compares integers and date-times")
                && text.contains("'displayName' is text, which takes only eq and ne"),
            "{text}"
        );
        assert!(error("isActive ge true").contains("'isActive' is true or false"));
        assert!(error("organizationId lt null").contains("'lt' cannot compare with null"));
        assert!(error("created ge '2026-01-01T00:00:00.0000001Z'").contains("microsecond"));
        assert!(error("created ge 'soon'").contains("RFC 3339"));
        assert!(error("created ge 5").contains("a quoted RFC 3339 date-time"));
        let text = error("organizationId gte 3");
        assert!(
            text.contains("expected eq, ne, gt, ge, lt or le at position 15"),
            "{text}"
        );
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
    fn the_canonical_text_spells_each_filter_one_way() {
        for (input, canonical) in [
            (
                "displayName EQ 'O''Brien' OR isActive eq TRUE and created ne '2026-01-02T03:04:05+01:00'",
                "(displayName eq 'O''Brien' or (isActive eq true and created ne '2026-01-02T02:04:05.000000Z'))",
            ),
            (
                "( STARTSWITH( displayName , 'Ju' ) or familyName eq NULL ) and organizationId ne -3",
                "((startswith(displayName,'Ju') or familyName eq null) and organizationId ne -3)",
            ),
            ("isActive eq false", "isActive eq false"),
        ] {
            let filter = SPEC.parse_filter(input).unwrap();
            assert_eq!(filter.to_string(), canonical);
            assert_eq!(SPEC.parse_filter(canonical).unwrap(), filter, "{canonical}");
        }
    }

    #[test]
    fn different_filters_have_different_texts() {
        let text = |input: &str| SPEC.parse_filter(input).unwrap().to_string();
        for (a, b) in [
            ("displayName eq 'a'", "displayName eq 'b'"),
            ("displayName eq 'a'", "displayName ne 'a'"),
            ("displayName eq 'a'", "familyName eq 'a'"),
            ("familyName eq null", "familyName eq 'null'"),
            ("startswith(displayName,'a')", "displayName eq 'a'"),
            (
                "(isActive eq true or organizationId eq 1) and displayName eq 'a'",
                "isActive eq true or (organizationId eq 1 and displayName eq 'a')",
            ),
            (
                "displayName eq 'a'' or ''b'",
                "displayName eq 'a' or displayName eq 'b'",
            ),
        ] {
            assert_ne!(text(a), text(b));
        }
    }
}
