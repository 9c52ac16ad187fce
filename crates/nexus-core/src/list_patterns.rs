//! A list's `$orderby` and `$filter` as ECMA-262 patterns for the OpenAPI
//! document, so that a client (or a generator of requests) can tell a valid
//! expression from the document alone.
//!
//! A regular expression cannot hold the whole grammar (parentheses nest, a
//! field may not repeat in `$orderby`), so each pattern states a regular part
//! of it: every string it matches is accepted by the parser, tested below.
//! `$orderby`: one or two distinct fields, each with an optional direction.
//! `$filter`: up to ten comparisons joined by `and`/`or`, each optionally in
//! one pair of parentheses; timestamps between 1900 and 2099, days up to 28,
//! to the microsecond at most.

use crate::list_query::{CompareOp, FieldKind, ListSpec};

/// A keyword in any letter case: `eq` → `[Ee][Qq]`.
fn keyword(word: &str) -> String {
    word.chars()
        .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
        .collect()
}

fn alternatives<I: IntoIterator<Item = String>>(items: I) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("({})", items.join("|"))
}

const TEXT: &str = r"'([^'\u0000-\u001F\u007F-\u009F]|'')*'";
const INTEGER: &str = r"-?[0-9]{1,18}";
const TIMESTAMP: &str = concat!(
    r"'(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z'"
);

impl ListSpec {
    /// Empty, or one or two distinct sortable fields with `asc`/`desc`.
    pub fn orderby_pattern(&self) -> String {
        let direction = format!("( +{})?", alternatives([keyword("asc"), keyword("desc")]));
        let sortable: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.sortable)
            .map(|f| f.name)
            .collect();
        let lists = sortable.iter().map(|first| {
            let others: Vec<String> = sortable
                .iter()
                .filter(|other| *other != first)
                .map(|other| other.to_string())
                .collect();
            if others.is_empty() {
                // One sortable field: no second item, not even an empty one.
                return format!("{first}{direction}");
            }
            format!(
                "{first}{direction}( *, *{}{direction})?",
                alternatives(others)
            )
        });
        format!("^ *({})? *$", alternatives(lists))
    }

    /// Empty, or comparisons of the list's fields joined by `and`/`or`;
    /// `gt`/`ge`/`lt`/`le` only on integers and timestamps, never with null.
    pub fn filter_pattern(&self) -> String {
        let null = keyword("null");
        let keywords = |ops: &mut dyn Iterator<Item = CompareOp>| {
            alternatives(ops.map(|op| keyword(op.keyword())).collect::<Vec<_>>())
        };
        let equality = keywords(&mut CompareOp::ALL.into_iter().filter(|op| !op.is_ordering()));
        let ordering = keywords(&mut CompareOp::ALL.into_iter().filter(|op| op.is_ordering()));
        let comparisons = self.fields.iter().map(|field| {
            let value = match field.kind {
                FieldKind::Text => TEXT.to_owned(),
                FieldKind::Integer => INTEGER.to_owned(),
                FieldKind::Boolean => alternatives([keyword("true"), keyword("false")]),
                FieldKind::Timestamp => TIMESTAMP.to_owned(),
            };
            let name = field.name;
            let compare = format!("{name} +{equality} +({value}|{null})");
            if field.kind.is_ordered() {
                format!("{compare}|{name} +{ordering} +{value}")
            } else if field.kind == FieldKind::Text {
                let starts = format!(r"{}\( *{name} *, *{TEXT} *\)", keyword("startswith"));
                format!("{compare}|{starts}")
            } else {
                compare
            }
        });
        let comparison = alternatives(comparisons);
        let term = format!(r"({comparison}|\( *{comparison} *\))");
        let join = alternatives([keyword("and"), keyword("or")]);
        format!("^ *({term}( +{join} +{term}){{0,9}})? *$")
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use crate::list_query::{Field, FieldKind, ListSpec};

    const fn field(name: &'static str, kind: FieldKind, sortable: bool) -> Field {
        Field {
            name,
            column: name,
            kind,
            sortable,
            nullable: true,
        }
    }

    static SPEC: ListSpec = ListSpec {
        fields: &[
            field("id", FieldKind::Text, true),
            field("displayName", FieldKind::Text, true),
            field("count", FieldKind::Integer, false),
            field("isActive", FieldKind::Boolean, false),
            field("created", FieldKind::Timestamp, true),
        ],
        search: &["displayName"],
        id_field: "id",
    };

    /// Every sample the pattern matches, the parser accepts; and the
    /// samples marked as in the pattern's part of the grammar match it.
    fn check(pattern: &str, parses: impl Fn(&str) -> bool, samples: &[(&str, bool)]) {
        let regex = Regex::new(pattern).expect("a valid pattern");
        for (sample, in_pattern) in samples {
            assert_eq!(
                regex.is_match(sample),
                *in_pattern,
                "{sample:?} against {pattern}"
            );
            if *in_pattern {
                assert!(parses(sample), "{sample:?} matches but does not parse");
            }
        }
    }

    #[test]
    fn orderby() {
        check(
            &SPEC.orderby_pattern(),
            |s| SPEC.parse_orderby(Some(s)).is_ok(),
            &[
                ("", true),
                ("displayName", true),
                ("displayName DESC, id asc", true),
                (" created desc ,displayName ", true),
                ("displayName,displayName", false),
                ("count", false),
                ("nope", false),
                ("displayName sideways", false),
                ("id,created,displayName", false),
            ],
        );
    }

    #[test]
    fn orderby_of_a_list_with_one_sortable_field() {
        static ONE: ListSpec = ListSpec {
            fields: &[field("id", FieldKind::Integer, true)],
            search: &[],
            id_field: "id",
        };
        check(
            &ONE.orderby_pattern(),
            |s| ONE.parse_orderby(Some(s)).is_ok(),
            &[
                ("", true),
                (" id DeSC ", true),
                ("id desc , ", false),
                ("id,", false),
                ("id, id", false),
            ],
        );
    }

    #[test]
    fn filter() {
        check(
            &SPEC.filter_pattern(),
            |s| s.trim().is_empty() || SPEC.parse_filter(s).is_ok(),
            &[
                ("", true),
                ("displayName eq 'Ju''s'", true),
                (
                    "isActive eq TRUE and (count ne -3) or startswith(displayName,'J')",
                    true,
                ),
                ("created eq '2026-02-28T23:59:59.5Z' OR id eq null", true),
                (
                    "created GE '2026-01-01T00:00:00Z' and created lt '2026-02-01T00:00:00.123456Z'",
                    true,
                ),
                ("count gt -3 and count Le 7", true),
                ("created gt null", false),
                ("displayName ge 'a'", false),
                ("isActive lt true", false),
                ("created ge '2026-01-01T00:00:00.1234567Z'", false),
                ("count gte 3", false),
                ("count eq 'x'", false),
                ("isActive eq 'true'", false),
                ("startswith(count,'1')", false),
                ("((id eq 'a'))", false),
                ("nope eq 1", false),
                ("id eq 'unterminated", false),
                ("id eq 'a' and", false),
            ],
        );
    }
}
