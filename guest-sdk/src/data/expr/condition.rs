//! [`Condition`]: condition, filter and key-condition expressions, built from paths.

use std::ops::{BitAnd, BitOr, Not};

use serde::Serialize;

use super::path::Path;
use super::placeholders::{Expression, Placeholders};
use crate::data::{Error, Value, ValueType, to_value};

/// One side of a comparison: a value, an attribute, or an attribute's size.
///
/// Comparison methods take anything that is [`IntoOperand`]: every `Serialize` value
/// (a value), a [`Path`] (another attribute) or a [`Size`].
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A value, sent as a `:v` placeholder.
    Value(Value),
    /// An attribute.
    Path(Path),
    /// `size(path)`.
    Size(Path),
}

/// Converts into an [`Operand`]: any `Serialize` value, a [`Path`] or a [`Size`].
///
/// ```
/// use portico_guest::data::attr;
/// let a = attr("price").lt(100);                // a value
/// let b = attr("price").lt(attr("max_price"));  // another attribute
/// ```
pub trait IntoOperand {
    /// The operand, or why the value cannot be stored.
    ///
    /// # Errors
    /// [`Error::Serialization`] when a value cannot be converted.
    ///
    /// ```
    /// use portico_guest::data::{IntoOperand, Operand};
    /// assert!(matches!(5.into_operand(), Ok(Operand::Value(_))));
    /// ```
    fn into_operand(self) -> Result<Operand, Error>;
}

impl<T: Serialize> IntoOperand for T {
    fn into_operand(self) -> Result<Operand, Error> {
        to_value(&self).map(Operand::Value)
    }
}

impl IntoOperand for Path {
    fn into_operand(self) -> Result<Operand, Error> {
        Ok(Operand::Path(self))
    }
}

impl IntoOperand for Size {
    fn into_operand(self) -> Result<Operand, Error> {
        Ok(Operand::Size(self.0))
    }
}

/// `size(path)`: the length of a string or binary, or the number of elements of a set,
/// list or map. Compare it with the same methods as a path.
///
/// ```
/// use portico_guest::data::attr;
/// let c = attr("tags").size().gt(3);
/// assert_eq!(c.to_expression()?.text, "size(#n0) > :v0");
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size(Path);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

/// A condition: for a conditional write (`ConditionExpression`), a query or scan filter
/// (`FilterExpression`), or a transaction's condition check.
///
/// Build one from [`attr`](crate::data::attr) and combine with [`and`](Self::and),
/// [`or`](Self::or), [`not`](Self::not) (or `&`, `|`, `!`). Attribute names and values
/// become generated placeholders when the request is sent.
///
/// ```
/// use portico_guest::data::attr;
/// let c = attr("version").eq(3).and(attr("status").is_in(["open", "held"]).not());
/// assert_eq!(c.to_expression()?.text, "#n0 = :v0 AND NOT #n1 IN (:v1, :v2)");
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Condition(Node);

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Compare(Operand, Comparator, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Type(Path, ValueType),
    BeginsWith(Path, Operand),
    Contains(Path, Operand),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Raw(String),
    /// A value that could not be converted; rendering reports it.
    Invalid(Error),
}

fn build(f: impl FnOnce() -> Result<Node, Error>) -> Condition {
    Condition(f().unwrap_or_else(Node::Invalid))
}

fn compare(left: Operand, cmp: Comparator, right: impl IntoOperand) -> Condition {
    build(|| Ok(Node::Compare(left, cmp, right.into_operand()?)))
}

fn between(left: Operand, low: impl IntoOperand, high: impl IntoOperand) -> Condition {
    build(|| {
        Ok(Node::Between(
            left,
            low.into_operand()?,
            high.into_operand()?,
        ))
    })
}

/// Comparisons shared by [`Path`] and [`Size`].
macro_rules! comparisons {
    ($ty:ty, $operand:expr) => {
        impl $ty {
            /// `self = value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("status").eq("open");
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn eq(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Eq, value)
            }

            /// `self <> value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("status").ne("closed");
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn ne(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Ne, value)
            }

            /// `self < value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("price").lt(10);
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn lt(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Lt, value)
            }

            /// `self <= value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("price").le(10);
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn le(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Le, value)
            }

            /// `self > value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("stock").gt(0);
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn gt(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Gt, value)
            }

            /// `self >= value`.
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("stock").ge(1);
            /// ```
            #[allow(clippy::should_implement_trait)]
            pub fn ge(self, value: impl IntoOperand) -> Condition {
                compare($operand(self), Comparator::Ge, value)
            }

            /// `self BETWEEN low AND high` (inclusive).
            ///
            /// ```
            /// # use portico_guest::data::attr;
            /// let c = attr("age").between(18, 65);
            /// ```
            pub fn between(self, low: impl IntoOperand, high: impl IntoOperand) -> Condition {
                between($operand(self), low, high)
            }
        }
    };
}

comparisons!(Path, Operand::Path);
comparisons!(Size, |s: Size| Operand::Size(s.0));

impl Path {
    /// `self IN (a, b, …)`: equal to one of the values (1 to 100 of them).
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("status").is_in(["open", "held"]);
    /// ```
    pub fn is_in<T: IntoOperand>(self, values: impl IntoIterator<Item = T>) -> Condition {
        build(|| {
            let values = values
                .into_iter()
                .map(IntoOperand::into_operand)
                .collect::<Result<Vec<_>, _>>()?;
            if values.is_empty() {
                return Err(Error::validation("IN needs at least one value"));
            }
            Ok(Node::In(Operand::Path(self), values))
        })
    }

    /// `attribute_exists(self)`.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("id").exists();
    /// ```
    pub fn exists(self) -> Condition {
        Condition(Node::Exists(self))
    }

    /// `attribute_not_exists(self)`: on a put, "only if no such item yet".
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let create_only = attr("id").not_exists();
    /// ```
    pub fn not_exists(self) -> Condition {
        Condition(Node::NotExists(self))
    }

    /// `attribute_type(self, type)`.
    ///
    /// ```
    /// # use portico_guest::data::{attr, ValueType};
    /// let c = attr("tags").is_type(ValueType::Ss);
    /// ```
    pub fn is_type(self, value_type: ValueType) -> Condition {
        Condition(Node::Type(self, value_type))
    }

    /// `begins_with(self, prefix)`: a string (or binary) prefix.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("sk").begins_with("order#");
    /// ```
    pub fn begins_with(self, prefix: impl IntoOperand) -> Condition {
        build(|| Ok(Node::BeginsWith(self, prefix.into_operand()?)))
    }

    /// `contains(self, value)`: a substring of a string, or an element of a set or list.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("tags").contains("urgent");
    /// ```
    pub fn contains(self, value: impl IntoOperand) -> Condition {
        build(|| Ok(Node::Contains(self, value.into_operand()?)))
    }

    /// `size(self)`, to compare.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("title").size().le(100);
    /// ```
    pub fn size(self) -> Size {
        Size(self)
    }
}

impl Condition {
    /// A condition written by hand, with placeholders given on the request
    /// (`.name("#k", "id")`, `.value(":v", 1)`).
    ///
    /// ```
    /// use portico_guest::data::{Condition, attr};
    /// let c = Condition::raw("attribute_not_exists(#k)").or(attr("v").lt(3));
    /// assert_eq!(c.to_expression()?.text, "(attribute_not_exists(#k)) OR #n0 < :v0");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn raw(expression: impl Into<String>) -> Self {
        Condition(Node::Raw(expression.into()))
    }

    /// Both conditions.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("a").eq(1).and(attr("b").eq(2));
    /// ```
    pub fn and(self, other: Condition) -> Condition {
        let mut list = match self.0 {
            Node::And(list) => list,
            node => vec![node],
        };
        match other.0 {
            Node::And(more) => list.extend(more),
            node => list.push(node),
        }
        Condition(Node::And(list))
    }

    /// Either condition.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("a").eq(1).or(attr("b").eq(2));
    /// ```
    pub fn or(self, other: Condition) -> Condition {
        let mut list = match self.0 {
            Node::Or(list) => list,
            node => vec![node],
        };
        match other.0 {
            Node::Or(more) => list.extend(more),
            node => list.push(node),
        }
        Condition(Node::Or(list))
    }

    /// The opposite condition.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// let c = attr("tags").contains("spam").not();
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Condition {
        Condition(Node::Not(Box::new(self.0)))
    }

    /// All of the conditions (at least one).
    ///
    /// ```
    /// # use portico_guest::data::{attr, Condition};
    /// let c = Condition::all([attr("a").exists(), attr("b").exists()]);
    /// ```
    pub fn all(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Self::fold(conditions, Condition::and, "Condition::all")
    }

    /// Any of the conditions (at least one).
    ///
    /// ```
    /// # use portico_guest::data::{attr, Condition};
    /// let c = Condition::any([attr("a").exists(), attr("b").exists()]);
    /// ```
    pub fn any(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Self::fold(conditions, Condition::or, "Condition::any")
    }

    fn fold(
        conditions: impl IntoIterator<Item = Condition>,
        join: fn(Condition, Condition) -> Condition,
        what: &str,
    ) -> Condition {
        conditions.into_iter().reduce(join).unwrap_or_else(|| {
            Condition(Node::Invalid(Error::validation(format!(
                "{what} needs at least one condition"
            ))))
        })
    }

    /// Renders the condition alone, with its own placeholders: for logs and tests.
    ///
    /// # Errors
    /// A value that could not be converted, or an empty `IN` / `all` / `any`.
    ///
    /// ```
    /// use portico_guest::data::attr;
    /// let e = attr("a").field("b").index(2).exists().to_expression()?;
    /// assert_eq!(e.text, "attribute_exists(#n0.#n1[2])");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn to_expression(&self) -> Result<Expression, Error> {
        let mut ph = Placeholders::default();
        let text = self.render(&mut ph)?;
        Ok(ph.into_expression(text))
    }

    /// Renders into the request's placeholders.
    pub(crate) fn render(&self, ph: &mut Placeholders) -> Result<String, Error> {
        let mut out = String::new();
        render(&self.0, ph, &mut out)?;
        Ok(out)
    }
}

/// Renders an operand: a value placeholder, a path, or `size(path)`.
pub(crate) fn render_operand(op: &Operand, ph: &mut Placeholders) -> String {
    match op {
        Operand::Value(v) => ph.value(v.clone()),
        Operand::Path(p) => p.render(ph),
        Operand::Size(p) => format!("size({})", p.render(ph)),
    }
}

/// Renders a child of `AND`, `OR` or `NOT`, in parentheses when it needs them.
fn child(
    node: &Node,
    parent_is_and: Option<bool>,
    ph: &mut Placeholders,
    out: &mut String,
) -> Result<(), Error> {
    let wrap = match node {
        Node::Raw(_) => true,
        Node::And(_) => parent_is_and != Some(true),
        Node::Or(_) => parent_is_and != Some(false),
        _ => false,
    };
    if wrap {
        out.push('(');
    }
    render(node, ph, out)?;
    if wrap {
        out.push(')');
    }
    Ok(())
}

fn render(node: &Node, ph: &mut Placeholders, out: &mut String) -> Result<(), Error> {
    match node {
        Node::Compare(l, cmp, r) => {
            let l = render_operand(l, ph);
            let r = render_operand(r, ph);
            out.push_str(&format!("{l} {} {r}", cmp.symbol()));
        }
        Node::Between(v, lo, hi) => {
            let v = render_operand(v, ph);
            let lo = render_operand(lo, ph);
            let hi = render_operand(hi, ph);
            out.push_str(&format!("{v} BETWEEN {lo} AND {hi}"));
        }
        Node::In(v, list) => {
            let v = render_operand(v, ph);
            let list: Vec<String> = list.iter().map(|o| render_operand(o, ph)).collect();
            out.push_str(&format!("{v} IN ({})", list.join(", ")));
        }
        Node::Exists(p) => out.push_str(&format!("attribute_exists({})", p.render(ph))),
        Node::NotExists(p) => out.push_str(&format!("attribute_not_exists({})", p.render(ph))),
        Node::Type(p, t) => {
            let p = p.render(ph);
            let t = ph.value(Value::S(t.name().to_owned()));
            out.push_str(&format!("attribute_type({p}, {t})"));
        }
        Node::BeginsWith(p, v) => {
            let p = p.render(ph);
            let v = render_operand(v, ph);
            out.push_str(&format!("begins_with({p}, {v})"));
        }
        Node::Contains(p, v) => {
            let p = p.render(ph);
            let v = render_operand(v, ph);
            out.push_str(&format!("contains({p}, {v})"));
        }
        Node::And(list) | Node::Or(list) => {
            let is_and = matches!(node, Node::And(_));
            for (i, c) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(if is_and { " AND " } else { " OR " });
                }
                child(c, Some(is_and), ph, out)?;
            }
        }
        Node::Not(c) => {
            out.push_str("NOT ");
            child(c, None, ph, out)?;
        }
        Node::Raw(text) => out.push_str(text),
        Node::Invalid(e) => return Err(e.clone()),
    }
    Ok(())
}

impl BitAnd for Condition {
    type Output = Condition;

    /// `a & b` is `a.and(b)`.
    fn bitand(self, rhs: Condition) -> Condition {
        self.and(rhs)
    }
}

impl BitOr for Condition {
    type Output = Condition;

    /// `a | b` is `a.or(b)`.
    fn bitor(self, rhs: Condition) -> Condition {
        self.or(rhs)
    }
}

impl Not for Condition {
    type Output = Condition;

    /// `!a` is `a.not()`.
    fn not(self) -> Condition {
        Condition::not(self)
    }
}
