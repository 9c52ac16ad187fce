//! A parsed `$filter` as a SQL condition.

use nexus_core::list_query::{CompareOp, Filter, Literal};

/// Renders a filter as a SQL condition with `$n` placeholders from
/// `first_placeholder`, pushing the values to bind onto `params` in order.
pub(super) fn filter_to_sql(
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
            op: op @ (CompareOp::Eq | CompareOp::Ne),
            value: Literal::Null,
        } => match op {
            CompareOp::Eq => format!("{} IS NULL", field.column),
            _ => format!("{} IS NOT NULL", field.column),
        },
        Filter::Compare { field, op, value } => {
            let value = match value {
                // Flags are stored as INTEGER 0/1.
                Literal::Boolean(b) => Literal::Integer(i64::from(*b)),
                other => other.clone(),
            };
            let placeholder = push(params, value);
            // Timestamps are stored as text that sorts as time (six
            // fractional digits and `Z`), and the parser bound the literal
            // in that form, so the text comparison orders them right.
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
            };
            format!("{} {op} {placeholder}", field.column)
        }
        Filter::StartsWith { field, prefix } => {
            let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
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

/// `text` with the characters `LIKE` treats specially (`%`, `_` and the
/// escape `\`) escaped by `\`.
pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use nexus_core::list_query::ListSpec;

    use super::*;

    /// Has a text, a nullable integer, a boolean and a timestamp field.
    static SPEC: &ListSpec = &crate::users::LIST;

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
    fn order_comparisons() {
        let (s, p) = sql(
            "created ge '2026-01-01T00:00:00Z' and created lt '2026-01-02T00:00:00+02:00' \
             and organizationId gt 2 and organizationId le 9",
            3,
        );
        assert_eq!(
            s,
            "(((created >= $3 AND created < $4) AND organization_id > $5) AND organization_id <= $6)"
        );
        assert_eq!(
            p,
            [
                Literal::Text("2026-01-01T00:00:00.000000Z".into()),
                Literal::Text("2026-01-01T22:00:00.000000Z".into()),
                Literal::Integer(2),
                Literal::Integer(9)
            ]
        );
    }

    #[test]
    fn timestamps_are_normalised() {
        let (_, p) = sql("created ne '2026-01-02T03:04:05+01:00'", 1);
        assert_eq!(p, [Literal::Text("2026-01-02T02:04:05.000000Z".into())]);
        assert!(SPEC.parse_filter("created eq 'yesterday'").is_err());
    }
}
