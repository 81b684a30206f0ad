//! Single-item writes: [`Put`], [`UpdateItem`], [`Delete`], and [`ConditionCheck`] for
//! transactions.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::portico::edge::data as wit;
use crate::data::expr::condition::IntoOperand;
use crate::data::expr::placeholders::{Placeholders, UserPlaceholders};
use crate::data::{Condition, Error, Item, Path, Table, Update, document, from_item};

/// What a write returns of the item (`ReturnValues`).
///
/// ```
/// use portico_guest::data::ReturnValues;
/// assert_eq!(ReturnValues::default(), ReturnValues::None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReturnValues {
    /// Nothing.
    #[default]
    None,
    /// The item as it was (put, update, delete).
    AllOld,
    /// The item as it is now (update).
    AllNew,
    /// The updated attributes as they were (update).
    UpdatedOld,
    /// The updated attributes as they are now (update).
    UpdatedNew,
}

impl From<ReturnValues> for wit::ReturnValues {
    fn from(r: ReturnValues) -> Self {
        match r {
            ReturnValues::None => wit::ReturnValues::None,
            ReturnValues::AllOld => wit::ReturnValues::AllOld,
            ReturnValues::AllNew => wit::ReturnValues::AllNew,
            ReturnValues::UpdatedOld => wit::ReturnValues::UpdatedOld,
            ReturnValues::UpdatedNew => wit::ReturnValues::UpdatedNew,
        }
    }
}

/// The conditional part shared by every write.
#[derive(Clone, Debug, Default)]
struct Guard {
    condition: Option<Condition>,
    user: UserPlaceholders,
    return_old_on_condition_failure: bool,
}

/// A write's expressions, rendered with one set of placeholders.
struct Rendered {
    update: Option<String>,
    condition: Option<String>,
    placeholders: wit::Placeholders,
}

impl Guard {
    fn add(&mut self, condition: Condition) {
        self.condition = Some(match self.condition.take() {
            Some(old) => old.and(condition),
            None => condition,
        });
    }

    /// Renders the update expression (if `update` gives one) then the condition.
    fn render(
        &self,
        update: impl FnOnce(&mut Placeholders) -> Result<Option<String>, Error>,
    ) -> Result<Rendered, Error> {
        let mut ph = Placeholders::with_user(&self.user)?;
        let update = update(&mut ph)?;
        let condition = self
            .condition
            .as_ref()
            .map(|c| c.render(&mut ph))
            .transpose()?;
        Ok(Rendered {
            update,
            condition,
            placeholders: ph.into_wit(),
        })
    }

    fn options(
        &self,
        rendered: Rendered,
        return_values: ReturnValues,
    ) -> (Option<String>, wit::WriteOptions) {
        (
            rendered.update,
            wit::WriteOptions {
                condition: rendered.condition,
                placeholders: rendered.placeholders,
                return_values: return_values.into(),
                return_old_on_condition_failure: self.return_old_on_condition_failure,
            },
        )
    }

    fn transact(&self, rendered: &mut Rendered) -> wit::TransactCondition {
        wit::TransactCondition {
            condition: rendered.condition.take(),
            placeholders: std::mem::replace(
                &mut rendered.placeholders,
                wit::Placeholders {
                    names: Vec::new(),
                    values: Vec::new(),
                },
            ),
            return_old_on_condition_failure: self.return_old_on_condition_failure,
        }
    }
}

fn no_update(_: &mut Placeholders) -> Result<Option<String>, Error> {
    Ok(None)
}

fn borrow(item: &Result<Item, Error>) -> Result<&Item, Error> {
    item.as_ref().map_err(Clone::clone)
}

/// The condition methods every write has.
macro_rules! guarded {
    ($ty:ty, $make:literal) => {
        impl $ty {
            /// Writes only if the condition holds (`ConditionExpression`); otherwise
            /// [`Error::ConditionalCheckFailed`]. Calling it again adds a condition
            /// (both must hold).
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr, key};
            /// # fn f(todos: &Table) {
            #[doc = concat!("let request = todos.", $make, ".condition(attr(\"version\").eq(3));")]
            /// # }
            /// ```
            pub fn condition(mut self, condition: Condition) -> Self {
                self.guard.add(condition);
                self
            }

            /// A condition written by hand; give its placeholders with
            /// [`name`](Self::name) and [`value`](Self::value). Same as
            /// `.condition(Condition::raw(expression))`.
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr, key};
            /// # fn f(todos: &Table) {
            #[doc = concat!("let request = todos.", $make)]
            ///     .condition_expr("attribute_not_exists(#k) OR #v < :max")
            ///     .name("#k", "id")
            ///     .name("#v", "version")
            ///     .value(":max", 3);
            /// # }
            /// ```
            pub fn condition_expr(self, expression: impl Into<String>) -> Self {
                self.condition(Condition::raw(expression))
            }

            /// A name placeholder (`#name` → attribute name) for hand-written expressions.
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr, key};
            /// # fn f(todos: &Table) {
            #[doc = concat!("let request = todos.", $make, ".condition_expr(\"attribute_exists(#s)\").name(\"#s\", \"status\");")]
            /// # }
            /// ```
            pub fn name(mut self, placeholder: impl Into<String>, name: impl Into<String>) -> Self {
                self.guard.user.name(placeholder, name);
                self
            }

            /// A value placeholder (`:value` → value) for hand-written expressions.
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr, key};
            /// # fn f(todos: &Table) {
            #[doc = concat!("let request = todos.", $make, ".condition_expr(\"version = :v\").value(\":v\", 3);")]
            /// # }
            /// ```
            pub fn value(mut self, placeholder: impl Into<String>, value: impl Serialize) -> Self {
                self.guard.user.value(placeholder, &value);
                self
            }

            /// On a failed condition, carry the item as it was in the error
            /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`).
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr, key};
            /// # fn f(todos: &Table) {
            #[doc = concat!("let request = todos.", $make, ".condition(attr(\"v\").eq(1)).return_old_on_condition_failure();")]
            /// # }
            /// ```
            pub fn return_old_on_condition_failure(mut self) -> Self {
                self.guard.return_old_on_condition_failure = true;
                self
            }
        }
    };
}

/// A `PutItem` request, from [`Table::put`].
///
/// ```no_run
/// # use portico_guest::data::{Table, attr, key};
/// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
/// let previous = todos
///     .put(key("id", "1").with("title", "milk"))
///     .return_old()
///     .send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Put<'a> {
    table: &'a Table,
    item: Result<Item, Error>,
    guard: Guard,
    return_old: bool,
}

guarded!(Put<'_>, "put(key(\"id\", \"1\"))");

impl<'a> Put<'a> {
    pub(crate) fn new(table: &'a Table, item: Result<Item, Error>) -> Self {
        Put {
            table,
            item,
            guard: Guard::default(),
            return_old: false,
        }
    }

    /// Return the item this put replaced (`ReturnValues = ALL_OLD`).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let replaced = t.put(key("id", "1")).return_old().send()?.is_some();
    /// # Ok(()) }
    /// ```
    pub fn return_old(mut self) -> Self {
        self.return_old = true;
        self
    }

    /// Writes the item. Returns the replaced item when [`return_old`](Self::return_old)
    /// asked for it and there was one.
    ///
    /// # Errors
    /// The host's refusal ([`Error::ConditionalCheckFailed`], …), or an item that could
    /// not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// t.put(key("id", "1").with("n", 1)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Option<Item>, Error> {
        let item = document::from_item(borrow(&self.item)?);
        let return_values = if self.return_old {
            ReturnValues::AllOld
        } else {
            ReturnValues::None
        };
        let (_, options) = self
            .guard
            .options(self.guard.render(no_update)?, return_values);
        let old = self
            .table
            .handle()
            .put(&item, &options)
            .map_err(Error::from_wit)?;
        document::to_item_opt(old)
    }

    /// As [`send`](Self::send), with the replaced item as a `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), or [`Error::Serialization`] when the old item does not
    /// fit `T`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let old: Option<serde_json::Value> = t.put(key("id", "1")).return_old().send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn send_as<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        self.send()?.map(from_item).transpose()
    }

    /// This put as an entry of a transaction.
    pub(crate) fn into_transact(self) -> Result<wit::TransactWriteItem, Error> {
        let item = document::from_item(borrow(&self.item)?);
        let mut rendered = self.guard.render(no_update)?;
        let condition = self.guard.transact(&mut rendered);
        Ok(wit::TransactWriteItem::Put((
            self.table.name().to_owned(),
            item,
            condition,
        )))
    }
}

/// An `UpdateItem` request, from [`Table::update`]: the [`Update`] actions are available
/// directly on it.
///
/// ```no_run
/// # use portico_guest::data::{Table, attr, key, ReturnValues};
/// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
/// let now = todos
///     .update(key("id", "1"))
///     .set("title", "oat milk")
///     .add("version", 1)
///     .remove("draft")
///     .condition(attr("version").eq(3))
///     .return_values(ReturnValues::AllNew)
///     .send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct UpdateItem<'a> {
    table: &'a Table,
    key: Result<Item, Error>,
    update: Update,
    update_expr: Option<String>,
    guard: Guard,
    return_values: ReturnValues,
}

guarded!(
    UpdateItem<'_>,
    "update(key(\"id\", \"1\")).set(\"done\", true)"
);

impl<'a> UpdateItem<'a> {
    pub(crate) fn new(table: &'a Table, key: Result<Item, Error>) -> Self {
        UpdateItem {
            table,
            key,
            update: Update::new(),
            update_expr: None,
            guard: Guard::default(),
            return_values: ReturnValues::None,
        }
    }

    /// Adds the actions of an [`Update`] built elsewhere.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, Update, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let changes = Update::new().set("a", 1).remove("b");
    /// t.update(key("id", "1")).update(changes).send()?;
    /// # Ok(()) }
    /// ```
    pub fn update(mut self, update: Update) -> Self {
        self.update = self.update.merge(update);
        self
    }

    /// An `UpdateExpression` written by hand, instead of the builder's actions; give its
    /// placeholders with [`name`](Self::name) and [`value`](Self::value).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// t.update(key("id", "1"))
    ///     .update_expr("SET #c = #c + :one")
    ///     .name("#c", "count")
    ///     .value(":one", 1)
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn update_expr(mut self, expression: impl Into<String>) -> Self {
        self.update_expr = Some(expression.into());
        self
    }

    /// `SET path = value`: see [`Update::set`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).set("count", 5); }
    /// ```
    pub fn set(mut self, path: impl Into<Path>, value: impl IntoOperand) -> Self {
        self.update = self.update.set(path, value);
        self
    }

    /// `SET path = if_not_exists(path, value)`: see [`Update::set_if_not_exists`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).set_if_not_exists("created", 1); }
    /// ```
    pub fn set_if_not_exists(mut self, path: impl Into<Path>, value: impl IntoOperand) -> Self {
        self.update = self.update.set_if_not_exists(path, value);
        self
    }

    /// Appends to a list: see [`Update::append_to_list`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).append_to_list("log", ["done"]); }
    /// ```
    pub fn append_to_list<T: Serialize>(
        mut self,
        path: impl Into<Path>,
        items: impl IntoIterator<Item = T>,
    ) -> Self {
        self.update = self.update.append_to_list(path, items);
        self
    }

    /// Prepends to a list: see [`Update::prepend_to_list`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).prepend_to_list("recent", [7]); }
    /// ```
    pub fn prepend_to_list<T: Serialize>(
        mut self,
        path: impl Into<Path>,
        items: impl IntoIterator<Item = T>,
    ) -> Self {
        self.update = self.update.prepend_to_list(path, items);
        self
    }

    /// Adds to a number, nested or not: see [`Update::increment`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).increment("views", 1); }
    /// ```
    pub fn increment(mut self, path: impl Into<Path>, by: impl Serialize) -> Self {
        self.update = self.update.increment(path, by);
        self
    }

    /// `REMOVE path`: see [`Update::remove`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).remove("draft"); }
    /// ```
    pub fn remove(mut self, path: impl Into<Path>) -> Self {
        self.update = self.update.remove(path);
        self
    }

    /// `ADD path value`: see [`Update::add`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).add("n", 1); }
    /// ```
    pub fn add(mut self, path: impl Into<Path>, value: impl Serialize) -> Self {
        self.update = self.update.add(path, value);
        self
    }

    /// `DELETE path set`: see [`Update::delete_from_set`].
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) { let u = t.update(key("id", "1")).delete_from_set("tags", "old"); }
    /// ```
    pub fn delete_from_set(mut self, path: impl Into<Path>, elements: impl Serialize) -> Self {
        self.update = self.update.delete_from_set(path, elements);
        self
    }

    /// What to return of the item.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, ReturnValues};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let changed = t.update(key("id", "1")).add("n", 1).return_values(ReturnValues::UpdatedNew).send()?;
    /// # Ok(()) }
    /// ```
    pub fn return_values(mut self, return_values: ReturnValues) -> Self {
        self.return_values = return_values;
        self
    }

    fn render(&self) -> Result<Rendered, Error> {
        self.guard.render(|ph| match &self.update_expr {
            Some(_) if !self.update.is_empty() => Err(Error::validation(
                "an update takes either update_expr or builder actions, not both",
            )),
            Some(text) => Ok(Some(text.clone())),
            None => self.update.render(ph),
        })
    }

    /// Applies the update. Returns what [`return_values`](Self::return_values) asked for.
    ///
    /// # Errors
    /// The host's refusal, or a key or value that could not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// t.update(key("id", "1")).set("done", true).send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Option<Item>, Error> {
        let key = document::from_item(borrow(&self.key)?);
        let (update, options) = self.guard.options(self.render()?, self.return_values);
        let out = self
            .table
            .handle()
            .update(&key, update.as_deref(), &options)
            .map_err(Error::from_wit)?;
        document::to_item_opt(out)
    }

    /// As [`send`](Self::send), with the returned attributes as a `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), or [`Error::Serialization`] when they do not fit `T`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, ReturnValues};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Counter { n: u64 }
    /// let c: Option<Counter> = t.update(key("id", "c")).add("n", 1).return_values(ReturnValues::AllNew).send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn send_as<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        self.send()?.map(from_item).transpose()
    }

    /// This update as an entry of a transaction.
    pub(crate) fn into_transact(self) -> Result<wit::TransactWriteItem, Error> {
        let key = document::from_item(borrow(&self.key)?);
        let mut rendered = self.render()?;
        let update = rendered.update.take();
        let condition = self.guard.transact(&mut rendered);
        Ok(wit::TransactWriteItem::Update((
            self.table.name().to_owned(),
            key,
            update,
            condition,
        )))
    }
}

/// A `DeleteItem` request, from [`Table::delete`].
///
/// ```no_run
/// # use portico_guest::data::{Table, attr, key};
/// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
/// todos.delete(key("id", "1")).condition(attr("done").eq(true)).send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Delete<'a> {
    table: &'a Table,
    key: Result<Item, Error>,
    guard: Guard,
    return_old: bool,
}

guarded!(Delete<'_>, "delete(key(\"id\", \"1\"))");

impl<'a> Delete<'a> {
    pub(crate) fn new(table: &'a Table, key: Result<Item, Error>) -> Self {
        Delete {
            table,
            key,
            guard: Guard::default(),
            return_old: false,
        }
    }

    /// Return the deleted item (`ReturnValues = ALL_OLD`).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let deleted = t.delete(key("id", "1")).return_old().send()?;
    /// # Ok(()) }
    /// ```
    pub fn return_old(mut self) -> Self {
        self.return_old = true;
        self
    }

    /// Deletes the item. Returns it when [`return_old`](Self::return_old) asked for it
    /// and there was one.
    ///
    /// # Errors
    /// The host's refusal, or a key that could not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// t.delete(key("id", "1")).send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Option<Item>, Error> {
        let key = document::from_item(borrow(&self.key)?);
        let return_values = if self.return_old {
            ReturnValues::AllOld
        } else {
            ReturnValues::None
        };
        let (_, options) = self
            .guard
            .options(self.guard.render(no_update)?, return_values);
        let old = self
            .table
            .handle()
            .delete(&key, &options)
            .map_err(Error::from_wit)?;
        document::to_item_opt(old)
    }

    /// As [`send`](Self::send), with the deleted item as a `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), or [`Error::Serialization`] when it does not fit `T`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let gone: Option<serde_json::Value> = t.delete(key("id", "1")).return_old().send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn send_as<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        self.send()?.map(from_item).transpose()
    }

    /// This delete as an entry of a transaction.
    pub(crate) fn into_transact(self) -> Result<wit::TransactWriteItem, Error> {
        let key = document::from_item(borrow(&self.key)?);
        let mut rendered = self.guard.render(no_update)?;
        let condition = self.guard.transact(&mut rendered);
        Ok(wit::TransactWriteItem::Delete((
            self.table.name().to_owned(),
            key,
            condition,
        )))
    }
}

/// A condition on one item, checked inside a transaction without writing it; from
/// [`Table::check`], used with [`TransactWrite::check`](crate::data::TransactWrite::check).
///
/// ```no_run
/// # use portico_guest::data::{Table, attr, key, transact_write};
/// # fn f(users: &Table) -> Result<(), portico_guest::data::Error> {
/// let check = users.check(key("id", "u1"), attr("banned").not_exists());
/// transact_write().check(check).send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ConditionCheck {
    table: String,
    key: Result<Item, Error>,
    guard: Guard,
}

guarded!(
    ConditionCheck,
    "check(key(\"id\", \"1\"), attr(\"id\").exists())"
);

impl ConditionCheck {
    pub(crate) fn new(table: &Table, key: Result<Item, Error>, condition: Condition) -> Self {
        let mut guard = Guard::default();
        guard.add(condition);
        ConditionCheck {
            table: table.name().to_owned(),
            key,
            guard,
        }
    }

    /// This check as an entry of a transaction.
    pub(crate) fn into_transact(self) -> Result<wit::TransactWriteItem, Error> {
        let key = document::from_item(borrow(&self.key)?);
        let mut rendered = self.guard.render(no_update)?;
        let condition = self.guard.transact(&mut rendered);
        Ok(wit::TransactWriteItem::ConditionCheck((
            self.table, key, condition,
        )))
    }
}
