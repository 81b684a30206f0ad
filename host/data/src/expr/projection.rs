//! Projection expressions: which attributes (or parts of them) a read returns.
//!
//! ```text
//! projection ::= path (',' path)*
//! ```
//!
//! The result keeps the item's structure: `a.b` returns `{a: {b: …}}`. List elements are
//! returned as a list of the selected elements in index order: `l[1], l[3]` on
//! `[w, x, y, z]` returns `{l: [x, z]}`. Paths that do not resolve are left out.

use std::collections::BTreeMap;

use super::context::ExprContext;
use super::errors::ExprKind;
use super::lexer::TokenKind;
use super::parser::Parser;
use super::path::{self, Path, PathElement, step};
use crate::error::DataError;
use crate::value::{Item, Value};

/// A parsed projection expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    paths: Vec<Path>,
}

impl Projection {
    /// The projected paths, in the order written.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The parts of `item` the projection selects.
    pub fn apply(&self, item: &Item) -> Item {
        project(&self.paths, item)
    }
}

/// Parses a projection expression.
pub(crate) fn parse(text: &str, ctx: &mut ExprContext) -> Result<Projection, DataError> {
    let mut parser = Parser::new(text, ExprKind::Projection, ctx)?;
    let mut paths: Vec<Path> = Vec::new();
    loop {
        let path = parser.path(|_| false)?;
        path::check_against(&paths, &path, &mut parser.problems);
        paths.push(path);
        if !parser.eat(TokenKind::Comma) {
            break;
        }
    }
    parser.expect_end()?;
    parser.finish()?;
    Ok(Projection { paths })
}

/// A projected part of a value, while the result is built.
enum Part {
    /// The whole value.
    Whole(Value),
    /// Some attributes of a map.
    Map(BTreeMap<String, Part>),
    /// Some elements of a list, by index.
    List(BTreeMap<usize, Part>),
}

impl Part {
    fn into_value(self) -> Value {
        match self {
            Part::Whole(value) => value,
            Part::Map(parts) => Value::M(
                parts
                    .into_iter()
                    .map(|(name, part)| (name, part.into_value()))
                    .collect(),
            ),
            Part::List(parts) => Value::L(parts.into_values().map(Part::into_value).collect()),
        }
    }
}

/// The parts of `item` at `paths`, nested structure kept.
pub(crate) fn project<'p>(paths: impl IntoIterator<Item = &'p Path>, item: &Item) -> Item {
    let mut parts: BTreeMap<String, Part> = BTreeMap::new();
    for path in paths {
        let Some((PathElement::Attr(head), rest)) = path.elements().split_first() else {
            continue;
        };
        let Some(value) = item.get(head) else {
            continue;
        };
        let Some(part) = select(value, rest) else {
            continue;
        };
        match parts.get_mut(head) {
            Some(slot) => merge(slot, part),
            None => {
                parts.insert(head.clone(), part);
            }
        }
    }
    parts
        .into_iter()
        .map(|(name, part)| (name, part.into_value()))
        .collect()
}

/// The part of `value` that `path` (relative to it) selects, if it resolves.
fn select(value: &Value, path: &[PathElement]) -> Option<Part> {
    let Some((element, rest)) = path.split_first() else {
        return Some(Part::Whole(value.clone()));
    };
    let inner = select(step(value, element)?, rest)?;
    Some(match element {
        PathElement::Attr(name) => Part::Map(BTreeMap::from([(name.clone(), inner)])),
        PathElement::Index(index) => Part::List(BTreeMap::from([(*index, inner)])),
    })
}

/// Merges a newly selected part into what was selected before from the same value.
fn merge(slot: &mut Part, part: Part) {
    match (slot, part) {
        // The whole value is already selected.
        (Part::Whole(_), _) => {}
        (slot, Part::Whole(value)) => *slot = Part::Whole(value),
        (Part::Map(into), Part::Map(from)) => {
            for (name, part) in from {
                match into.get_mut(&name) {
                    Some(existing) => merge(existing, part),
                    None => {
                        into.insert(name, part);
                    }
                }
            }
        }
        (Part::List(into), Part::List(from)) => {
            for (index, part) in from {
                match into.get_mut(&index) {
                    Some(existing) => merge(existing, part),
                    None => {
                        into.insert(index, part);
                    }
                }
            }
        }
        // Parts of one value always have the same shape; nothing else can happen.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Placeholders;

    fn names() -> BTreeMap<String, String> {
        [
            ("#n".to_owned(), "name".to_owned()),
            ("#d".to_owned(), "data".to_owned()),
        ]
        .into()
    }

    fn parse_ok(text: &str) -> Projection {
        let names = names();
        let mut ctx = ExprContext::names_only(&names);
        parse(text, &mut ctx).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn parse_err(text: &str) -> String {
        let names = names();
        let mut ctx = ExprContext::names_only(&names);
        parse(text, &mut ctx).expect_err(text).message()
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::M(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn item() -> Item {
        Item::from([
            ("a".to_owned(), Value::n(1)),
            ("name".to_owned(), Value::s("n")),
            (
                "m".to_owned(),
                map(&[
                    ("x", Value::n(1)),
                    ("y", Value::n(2)),
                    ("z", map(&[("q", Value::n(3))])),
                ]),
            ),
            (
                "l".to_owned(),
                Value::L(vec![
                    Value::s("w"),
                    map(&[("k", Value::n(1)), ("j", Value::n(2))]),
                    Value::s("y"),
                    Value::s("z"),
                ]),
            ),
        ])
    }

    #[test]
    fn top_level_attributes() {
        let out = parse_ok("a, #n, absent").apply(&item());
        assert_eq!(
            out,
            Item::from([
                ("a".to_owned(), Value::n(1)),
                ("name".to_owned(), Value::s("n"))
            ])
        );
    }

    #[test]
    fn nested_maps_keep_structure() {
        let out = parse_ok("m.x, m.z.q, m.nope").apply(&item());
        assert_eq!(
            out["m"],
            map(&[("x", Value::n(1)), ("z", map(&[("q", Value::n(3))]))])
        );
    }

    #[test]
    fn list_elements_become_a_list_in_index_order() {
        let out = parse_ok("l[3], l[0], l[9]").apply(&item());
        assert_eq!(out["l"], Value::L(vec![Value::s("w"), Value::s("z")]));
        let out = parse_ok("l[1].j").apply(&item());
        assert_eq!(out["l"], Value::L(vec![map(&[("j", Value::n(2))])]));
        let out = parse_ok("l[9], a.b, m[0]").apply(&item());
        assert_eq!(out, Item::new(), "paths that do not resolve are left out");
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_err("a, data"),
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: data"
        );
        parse_ok("a, #d");
        assert_eq!(
            parse_err("#x"),
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            parse_err("a, a.b"),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
        );
        assert_eq!(
            parse_err("a[0], a.b"),
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [0]], path two: [a, b]"
        );
        assert_eq!(
            parse_err("a,"),
            "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""
        );
        assert_eq!(
            parse_err("a b"),
            "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\""
        );
        assert_eq!(
            parse_err(""),
            "Invalid ProjectionExpression: The expression can not be empty;"
        );
        for text in [":v", "a = b", "size(a)", "a..b", "a[]", "(a)"] {
            assert!(parse_err(text).contains("Syntax error"), "{text}");
        }
    }

    #[test]
    fn placeholders_are_marked_used() {
        let only_names = names();
        let mut ctx = ExprContext::names_only(&only_names);
        parse("#n", &mut ctx).expect("parses");
        assert_eq!(
            ctx.finish().unwrap_err().message(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#d}"
        );
        let placeholders = Placeholders {
            names: names(),
            ..Placeholders::default()
        };
        let mut ctx = ExprContext::new(&placeholders);
        parse("#n, #d", &mut ctx).expect("parses");
        assert!(ctx.finish().is_ok());
    }

    #[test]
    fn merging_parts_of_one_value() {
        let mut whole = Part::Whole(Value::n(1));
        merge(&mut whole, Part::Map(BTreeMap::new()));
        assert!(matches!(whole, Part::Whole(_)));
        let mut slot = Part::List(BTreeMap::from([(2, Part::Whole(Value::n(2)))]));
        merge(
            &mut slot,
            Part::List(BTreeMap::from([(0, Part::Whole(Value::n(0)))])),
        );
        assert_eq!(slot.into_value(), Value::L(vec![Value::n(0), Value::n(2)]));
    }
}
