//! [`Update`]: update expressions (`SET`, `REMOVE`, `ADD`, `DELETE`).

use serde::Serialize;

use super::condition::{IntoOperand, Operand, render_operand};
use super::path::Path;
use super::placeholders::{Expression, Placeholders};
use crate::data::{BinarySet, Error, NumberSet, StringSet, Value, to_value};

/// The changes of an update, rendered as one `UpdateExpression` with generated
/// placeholders. Actions keep their order within each clause.
///
/// ```
/// use portico_guest::data::{Update, attr};
/// let u = Update::new()
///     .set("title", "milk")
///     .set_if_not_exists("created", 1700000000)
///     .add("views", 1)
///     .remove(attr("draft"));
/// assert_eq!(
///     u.to_expression()?.text,
///     "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1) REMOVE #n2 ADD #n3 :v2"
/// );
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    set: Vec<(Path, SetValue)>,
    remove: Vec<Path>,
    add: Vec<(Path, Value)>,
    delete: Vec<(Path, Value)>,
    error: Option<Error>,
}

#[derive(Clone, Debug, PartialEq)]
enum SetValue {
    /// `p = v`
    Assign(Operand),
    /// `p = if_not_exists(p, v)`
    IfNotExists(Operand),
    /// `p = list_append(if_not_exists(p, []), v)`
    Append(Value),
    /// `p = list_append(v, if_not_exists(p, []))`
    Prepend(Value),
    /// `p = if_not_exists(p, 0) + v`
    Increment(Value),
}

/// A scalar where a set is needed becomes a set of one.
fn as_set(value: Value) -> Value {
    match value {
        Value::S(s) => Value::Ss(StringSet::from([s])),
        Value::N(n) => Value::Ns(NumberSet::from([n])),
        Value::B(b) => Value::Bs(BinarySet::from([b])),
        other => other,
    }
}

impl Update {
    /// No changes yet.
    ///
    /// ```
    /// let u = portico_guest::data::Update::new().set("done", true);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are no actions.
    ///
    /// ```
    /// assert!(portico_guest::data::Update::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
            && self.delete.is_empty()
    }

    fn fail(mut self, e: Error) -> Self {
        self.error.get_or_insert(e);
        self
    }

    fn push_set(mut self, path: impl Into<Path>, value: Result<SetValue, Error>) -> Self {
        match value {
            Ok(v) => {
                self.set.push((path.into(), v));
                self
            }
            Err(e) => self.fail(e),
        }
    }

    /// `SET path = value`; the value may also be another attribute ([`Path`]).
    ///
    /// ```
    /// # use portico_guest::data::{Update, attr};
    /// let u = Update::new().set("count", 5).set(attr("a").field("b"), attr("c"));
    /// assert_eq!(u.to_expression()?.text, "SET #n0 = :v0, #n1.#n2 = #n3");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn set(self, path: impl Into<Path>, value: impl IntoOperand) -> Self {
        self.push_set(path, value.into_operand().map(SetValue::Assign))
    }

    /// `SET path = if_not_exists(path, value)`: set only if missing.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let u = Update::new().set_if_not_exists("created_at", "2024-01-01");
    /// ```
    pub fn set_if_not_exists(self, path: impl Into<Path>, value: impl IntoOperand) -> Self {
        self.push_set(path, value.into_operand().map(SetValue::IfNotExists))
    }

    /// `SET path = list_append(if_not_exists(path, []), items)`: append to a list,
    /// creating it if missing.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let u = Update::new().append_to_list("log", ["created"]);
    /// assert_eq!(
    ///     u.to_expression()?.text,
    ///     "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1)"
    /// );
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn append_to_list<T: Serialize>(
        self,
        path: impl Into<Path>,
        items: impl IntoIterator<Item = T>,
    ) -> Self {
        let items = items
            .into_iter()
            .map(|i| to_value(&i))
            .collect::<Result<Vec<_>, _>>();
        self.push_set(path, items.map(|l| SetValue::Append(Value::L(l))))
    }

    /// `SET path = list_append(items, if_not_exists(path, []))`: prepend to a list,
    /// creating it if missing.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let u = Update::new().prepend_to_list("recent", [42]);
    /// ```
    pub fn prepend_to_list<T: Serialize>(
        self,
        path: impl Into<Path>,
        items: impl IntoIterator<Item = T>,
    ) -> Self {
        let items = items
            .into_iter()
            .map(|i| to_value(&i))
            .collect::<Result<Vec<_>, _>>();
        self.push_set(path, items.map(|l| SetValue::Prepend(Value::L(l))))
    }

    /// `SET path = if_not_exists(path, 0) + by`: add to a number, starting from zero.
    /// Unlike [`add`](Self::add), it works on nested attributes.
    ///
    /// ```
    /// # use portico_guest::data::{Update, attr};
    /// let u = Update::new().increment(attr("stats").field("views"), 1);
    /// assert_eq!(
    ///     u.to_expression()?.text,
    ///     "SET #n0.#n1 = if_not_exists(#n0.#n1, :v0) + :v1"
    /// );
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn increment(self, path: impl Into<Path>, by: impl Serialize) -> Self {
        self.push_set(path, to_value(&by).map(SetValue::Increment))
    }

    /// `REMOVE path`: delete an attribute or list element.
    ///
    /// ```
    /// # use portico_guest::data::{Update, attr};
    /// let u = Update::new().remove("draft").remove(attr("tags").index(0));
    /// ```
    pub fn remove(mut self, path: impl Into<Path>) -> Self {
        self.remove.push(path.into());
        self
    }

    /// `ADD path value`: add to a number (starting from zero), or add elements to a set
    /// (creating it). A single string or binary is added as a set of one. Top-level
    /// attributes only (a DynamoDB rule).
    ///
    /// ```
    /// # use portico_guest::data::{Update, StringSet};
    /// let u = Update::new().add("count", 1).add("tags", StringSet::from(["a", "b"])).add("tags2", "c");
    /// ```
    pub fn add(mut self, path: impl Into<Path>, value: impl Serialize) -> Self {
        match to_value(&value) {
            Ok(Value::N(n)) => self.add.push((path.into(), Value::N(n))),
            Ok(v) => self.add.push((path.into(), as_set(v))),
            Err(e) => return self.fail(e),
        }
        self
    }

    /// `DELETE path set`: remove elements from a set. A single string, number or binary
    /// is removed as a set of one.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let u = Update::new().delete_from_set("tags", "old");
    /// ```
    pub fn delete_from_set(mut self, path: impl Into<Path>, elements: impl Serialize) -> Self {
        match to_value(&elements) {
            Ok(v) => self.delete.push((path.into(), as_set(v))),
            Err(e) => return self.fail(e),
        }
        self
    }

    /// All actions of `other` after those of `self`.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let u = Update::new().set("a", 1).merge(Update::new().remove("b"));
    /// ```
    pub fn merge(mut self, other: Update) -> Self {
        self.set.extend(other.set);
        self.remove.extend(other.remove);
        self.add.extend(other.add);
        self.delete.extend(other.delete);
        if let Some(e) = other.error {
            self = self.fail(e);
        }
        self
    }

    /// Renders the update alone, with its own placeholders: for logs and tests.
    ///
    /// # Errors
    /// A value that could not be converted, or no actions at all.
    ///
    /// ```
    /// # use portico_guest::data::Update;
    /// let e = Update::new().delete_from_set("tags", "x").to_expression()?;
    /// assert_eq!(e.text, "DELETE #n0 :v0");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn to_expression(&self) -> Result<Expression, Error> {
        let mut ph = Placeholders::default();
        match self.render(&mut ph)? {
            Some(text) => Ok(ph.into_expression(text)),
            None => Err(Error::validation("an update needs at least one action")),
        }
    }

    /// Renders into the request's placeholders; `None` without actions.
    pub(crate) fn render(&self, ph: &mut Placeholders) -> Result<Option<String>, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut clauses = Vec::new();
        if !self.set.is_empty() {
            let actions: Vec<String> = self
                .set
                .iter()
                .map(|(path, value)| render_set(path, value, ph))
                .collect();
            clauses.push(format!("SET {}", actions.join(", ")));
        }
        if !self.remove.is_empty() {
            let paths: Vec<String> = self.remove.iter().map(|p| p.render(ph)).collect();
            clauses.push(format!("REMOVE {}", paths.join(", ")));
        }
        for (keyword, actions) in [("ADD", &self.add), ("DELETE", &self.delete)] {
            if !actions.is_empty() {
                let actions: Vec<String> = actions
                    .iter()
                    .map(|(path, value)| {
                        let p = path.render(ph);
                        format!("{p} {}", ph.value(value.clone()))
                    })
                    .collect();
                clauses.push(format!("{keyword} {}", actions.join(", ")));
            }
        }
        Ok((!clauses.is_empty()).then(|| clauses.join(" ")))
    }
}

fn render_set(path: &Path, value: &SetValue, ph: &mut Placeholders) -> String {
    let p = path.render(ph);
    match value {
        SetValue::Assign(op) => format!("{p} = {}", render_operand(op, ph)),
        SetValue::IfNotExists(op) => {
            format!("{p} = if_not_exists({p}, {})", render_operand(op, ph))
        }
        SetValue::Append(items) => {
            let empty = ph.value(Value::L(Vec::new()));
            let items = ph.value(items.clone());
            format!("{p} = list_append(if_not_exists({p}, {empty}), {items})")
        }
        SetValue::Prepend(items) => {
            let items = ph.value(items.clone());
            let empty = ph.value(Value::L(Vec::new()));
            format!("{p} = list_append({items}, if_not_exists({p}, {empty}))")
        }
        SetValue::Increment(by) => {
            let zero = ph.value(Value::from(0));
            let by = ph.value(by.clone());
            format!("{p} = if_not_exists({p}, {zero}) + {by}")
        }
    }
}
