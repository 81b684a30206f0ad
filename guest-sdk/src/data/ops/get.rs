//! [`Get`]: `GetItem`.

use serde::de::DeserializeOwned;

use crate::bindings::portico::edge::data as wit;
use crate::data::expr::placeholders::{Placeholders, UserPlaceholders};
use crate::data::expr::projection::Projection;
use crate::data::{Error, Item, Path, Table, document, from_item};

/// A `GetItem` request, from [`Table::get`].
///
/// ```no_run
/// # use portico_guest::data::{Table, key};
/// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
/// let item = todos.get(key("id", "1")).project(["title", "done"]).send()?;
/// if let Some(item) = item {
///     let title = item.get_s("title");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Get<'a> {
    table: &'a Table,
    key: Result<Item, Error>,
    consistent: bool,
    projection: Projection,
    user: UserPlaceholders,
}

impl<'a> Get<'a> {
    pub(crate) fn new(table: &'a Table, key: Result<Item, Error>) -> Self {
        Get {
            table,
            key,
            consistent: false,
            projection: Projection::All,
            user: UserPlaceholders::default(),
        }
    }

    /// A strongly consistent read.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let item = t.get(key("id", "1")).consistent().send()?;
    /// # Ok(()) }
    /// ```
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Returns only these attributes (or nested paths).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, attr};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let item = t.get(key("id", "1")).project([attr("title"), attr("meta").field("owner")]).send()?;
    /// # Ok(()) }
    /// ```
    pub fn project<P: Into<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.projection = Projection::paths(paths);
        self
    }

    /// A `ProjectionExpression` written by hand; give its `#` placeholders with
    /// [`name`](Self::name).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let item = t.get(key("id", "1")).projection_expr("#t, done").name("#t", "title").send()?;
    /// # Ok(()) }
    /// ```
    pub fn projection_expr(mut self, expression: impl Into<String>) -> Self {
        self.projection = Projection::Raw(expression.into());
        self
    }

    /// A name placeholder for a hand-written projection.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let item = t.get(key("id", "1")).projection_expr("#s").name("#s", "status").send()?;
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, placeholder: impl Into<String>, name: impl Into<String>) -> Self {
        self.user.name(placeholder, name);
        self
    }

    /// The read as the host takes it (the transaction entry has every part).
    fn build(&self) -> Result<wit::TransactGetItem, Error> {
        let key = self.key.as_ref().map_err(Clone::clone)?;
        let mut ph = Placeholders::with_user(&self.user)?;
        let projection = self.projection.render(&mut ph)?;
        Ok(wit::TransactGetItem {
            table: self.table.name().to_owned(),
            key: document::from_item(key),
            projection,
            names: ph.into_names()?,
        })
    }

    /// Reads the item: `None` when there is none.
    ///
    /// # Errors
    /// The host's refusal, or a key that could not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let found = t.get(key("id", "1")).send()?.is_some();
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Option<Item>, Error> {
        let wit::TransactGetItem {
            key,
            projection,
            names,
            ..
        } = self.build()?;
        let options = wit::GetOptions {
            consistent: self.consistent,
            projection,
            names,
        };
        let found = self
            .table
            .handle()
            .get(&key, &options)
            .map_err(Error::from_wit)?;
        document::to_item_opt(found)
    }

    /// Reads the item as a `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), or [`Error::Serialization`] when the item does not fit `T`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Todo { id: String, done: bool }
    /// let todo: Option<Todo> = t.get(key("id", "1")).send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn send_as<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        self.send()?.map(from_item).transpose()
    }

    /// This read as an entry of a transaction.
    pub(crate) fn into_transact(self) -> Result<wit::TransactGetItem, Error> {
        self.build()
    }
}
