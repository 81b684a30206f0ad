//! Document paths: `a`, `a.b`, `a[2]`, `a.b[2].c`, with placeholders already resolved.

use std::fmt;

use super::errors::{Problem, Problems};
use crate::value::{Item, Value};

/// The deepest document path DynamoDB accepts: 32 levels, the top-level attribute included.
pub const MAX_PATH_DEPTH: usize = 32;

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// An attribute of an item or a map (`a`, `.b`).
    Attr(String),
    /// An element of a list (`[2]`).
    Index(usize),
}

/// A document path: a top-level attribute name, then map keys and list indexes.
///
/// Paths order element by element, list indexes numerically; the update engine relies on
/// this to apply list changes in index order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    elements: Vec<PathElement>,
}

impl Path {
    /// A path from its elements; `None` unless it starts with an attribute name.
    pub fn new(elements: Vec<PathElement>) -> Option<Self> {
        matches!(elements.first(), Some(PathElement::Attr(_))).then_some(Self { elements })
    }

    /// A path to a top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Self {
        Self {
            elements: vec![PathElement::Attr(name.into())],
        }
    }

    /// The elements, top-level attribute first.
    pub fn elements(&self) -> &[PathElement] {
        &self.elements
    }

    /// The top-level attribute's name.
    pub fn head(&self) -> &str {
        match self.elements.first() {
            Some(PathElement::Attr(name)) => name,
            // `new` and the parser only make paths that start with a name.
            _ => "",
        }
    }

    /// Whether the path goes below a top-level attribute.
    pub fn is_nested(&self) -> bool {
        self.elements.len() > 1
    }

    /// The path's last element (always present).
    pub(crate) fn last(&self) -> Option<&PathElement> {
        self.elements.last()
    }

    /// The elements above the last one: the path of the container holding the target.
    pub(crate) fn parent_elements(&self) -> &[PathElement] {
        self.elements.split_last().map_or(&[], |(_, parent)| parent)
    }

    /// The value at this path in `item`, if there is one.
    pub fn resolve<'v>(&self, item: &'v Item) -> Option<&'v Value> {
        let (PathElement::Attr(name), rest) = self.elements.split_first()? else {
            return None;
        };
        let mut value = item.get(name)?;
        for element in rest {
            value = step(value, element)?;
        }
        Some(value)
    }

    /// DynamoDB's rendering in error messages: `[a, [2], b]`.
    pub(crate) fn bracketed(&self) -> String {
        let parts: Vec<String> = self
            .elements
            .iter()
            .map(|element| match element {
                PathElement::Attr(name) => name.clone(),
                PathElement::Index(index) => format!("[{index}]"),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

/// One step down from `value`: a map's attribute or a list's element.
pub(crate) fn step<'v>(value: &'v Value, element: &PathElement) -> Option<&'v Value> {
    match (element, value) {
        (PathElement::Attr(name), Value::M(map)) => map.get(name),
        (PathElement::Index(index), Value::L(list)) => list.get(*index),
        _ => None,
    }
}

impl fmt::Display for Path {
    /// Document-path notation: `a.b[2].c`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, element) in self.elements.iter().enumerate() {
            match element {
                PathElement::Attr(name) if i == 0 => f.write_str(name)?,
                PathElement::Attr(name) => write!(f, ".{name}")?,
                PathElement::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// How two paths of one update or projection relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    /// They address different parts of the item.
    Disjoint,
    /// One is the other or lies within it.
    Overlap,
    /// At some level one indexes a list where the other names a map attribute.
    Conflict,
}

fn relation(one: &Path, two: &Path) -> Relation {
    for (a, b) in one.elements.iter().zip(&two.elements) {
        match (a, b) {
            (PathElement::Attr(x), PathElement::Attr(y)) if x != y => return Relation::Disjoint,
            (PathElement::Index(x), PathElement::Index(y)) if x != y => return Relation::Disjoint,
            (PathElement::Attr(_), PathElement::Index(_))
            | (PathElement::Index(_), PathElement::Attr(_)) => return Relation::Conflict,
            _ => {}
        }
    }
    Relation::Overlap
}

/// Checks a newly parsed target path against the earlier ones of the same update or
/// projection, reporting DynamoDB's overlap and conflict errors.
pub(crate) fn check_against(earlier: &[Path], path: &Path, problems: &mut Problems) {
    for previous in earlier {
        let (problem, verb) = match relation(previous, path) {
            Relation::Disjoint => continue,
            Relation::Overlap => (Problem::PathOverlap, "overlap"),
            Relation::Conflict => (Problem::PathConflict, "conflict"),
        };
        problems.report(
            problem,
            format!(
                "Two document paths {verb} with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                previous.bracketed(),
                path.bracketed()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::errors::ExprKind;

    fn path(elements: &[PathElement]) -> Path {
        Path::new(elements.to_vec()).expect("starts with a name")
    }

    fn attr(name: &str) -> PathElement {
        PathElement::Attr(name.to_owned())
    }

    #[test]
    fn resolves_nested_maps_and_lists() {
        let item = Item::from([(
            "a".to_owned(),
            Value::M(
                [(
                    "b".to_owned(),
                    Value::L(vec![
                        Value::n(0),
                        Value::M([("c".to_owned(), Value::s("x"))].into()),
                    ]),
                )]
                .into(),
            ),
        )]);
        let c = path(&[attr("a"), attr("b"), PathElement::Index(1), attr("c")]);
        assert_eq!(c.resolve(&item), Some(&Value::s("x")));
        assert_eq!(c.to_string(), "a.b[1].c");
        assert_eq!(c.bracketed(), "[a, b, [1], c]");
        assert_eq!(c.head(), "a");
        assert!(c.is_nested());
        let missing = path(&[attr("a"), attr("b"), PathElement::Index(7)]);
        assert_eq!(missing.resolve(&item), None);
        let wrong_kind = path(&[attr("a"), PathElement::Index(0)]);
        assert_eq!(wrong_kind.resolve(&item), None);
        assert_eq!(Path::attribute("zz").resolve(&item), None);
    }

    #[test]
    fn paths_must_start_with_a_name() {
        assert!(Path::new(vec![PathElement::Index(0)]).is_none());
        assert!(Path::new(vec![]).is_none());
    }

    #[test]
    fn indexes_order_numerically() {
        let two = path(&[attr("a"), PathElement::Index(2)]);
        let ten = path(&[attr("a"), PathElement::Index(10)]);
        assert!(two < ten);
    }

    #[test]
    fn overlaps_and_conflicts_are_reported() {
        let a = Path::attribute("a");
        let ab = path(&[attr("a"), attr("b")]);
        let a0 = path(&[attr("a"), PathElement::Index(0)]);
        let c = Path::attribute("c");

        let mut problems = Problems::default();
        check_against(std::slice::from_ref(&c), &ab, &mut problems);
        assert!(problems.is_empty());

        let mut problems = Problems::default();
        check_against(std::slice::from_ref(&a), &ab, &mut problems);
        assert_eq!(
            problems
                .into_result(ExprKind::Update)
                .unwrap_err()
                .message(),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
        );

        let mut problems = Problems::default();
        check_against(&[ab], &a0, &mut problems);
        assert_eq!(
            problems
                .into_result(ExprKind::Update)
                .unwrap_err()
                .message(),
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
        );

        let mut problems = Problems::default();
        check_against(std::slice::from_ref(&a), &a, &mut problems);
        assert!(!problems.is_empty());
    }
}
