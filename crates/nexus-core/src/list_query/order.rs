//! `$orderby`, and the position of a row in an order (`$skiptoken`).

use std::fmt;

use super::{Direction, FieldKind, ListSpec, Literal, OrderBy, QueryError};
use crate::Timestamp;

impl ListSpec {
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

/// `field asc` or `field desc`: the canonical text of one order key.
impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        write!(f, "{} {direction}", self.field.name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::TEST_SPEC as SPEC;
    use super::*;

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

    #[test]
    fn order_keys_read_as_field_and_direction() {
        let order = SPEC.parse_orderby(Some("displayName DESC")).unwrap();
        let texts: Vec<String> = order.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["displayName desc", "id desc"]);
    }
}
