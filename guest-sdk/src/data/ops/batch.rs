//! [`BatchGet`] and [`BatchWrite`]: many items across tables, without conditions.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::portico::edge::data as wit;
use crate::data::expr::placeholders::{Placeholders, UserPlaceholders};
use crate::data::expr::projection::Projection;
use crate::data::table::item_of;
use crate::data::{Error, Item, Path, Table, document, from_item};

/// The keys to read from one table.
#[derive(Clone, Debug, Default)]
struct GetTable {
    table: String,
    keys: Vec<Item>,
    consistent: bool,
    projection: Projection,
    /// Name placeholders of a projection the host handed back (unprocessed keys).
    user: UserPlaceholders,
}

/// A `BatchGetItem` request: up to 100 keys across tables, from
/// [`batch_get`](crate::data::batch_get).
///
/// Keys the host could not read (throttling) come back in
/// [`BatchGetOutput::unprocessed`], ready to send again.
///
/// ```no_run
/// # use portico_guest::data::{Table, batch_get, key};
/// # fn f(todos: &Table, users: &Table) -> Result<(), portico_guest::data::Error> {
/// let mut out = batch_get()
///     .keys(todos, [key("id", "1"), key("id", "2")])
///     .get(users, key("id", "u1"))
///     .project(users, ["id", "name"])
///     .send()?;
/// let found = out.items(todos.name()).len();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct BatchGet {
    tables: Vec<GetTable>,
    error: Option<Error>,
}

impl BatchGet {
    /// An empty batch.
    ///
    /// ```
    /// assert!(portico_guest::data::BatchGet::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the keys to read from `table` out of the batch (for models, which retry
    /// what was not read).
    pub(crate) fn take_keys(&mut self, table: &str) -> Vec<Item> {
        match self.tables.iter().position(|t| t.table == table) {
            Some(at) => self.tables.remove(at).keys,
            None => Vec::new(),
        }
    }

    fn entry(&mut self, table: &str) -> &mut GetTable {
        let at = match self.tables.iter().position(|t| t.table == table) {
            Some(at) => at,
            None => {
                self.tables.push(GetTable {
                    table: table.to_owned(),
                    ..GetTable::default()
                });
                self.tables.len() - 1
            }
        };
        &mut self.tables[at]
    }

    /// Reads the item with this key from `table`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_get, key};
    /// # fn f(t: &Table) { let b = batch_get().get(t, key("id", "1")); }
    /// ```
    pub fn get(mut self, table: &Table, key: impl Serialize) -> Self {
        match item_of(key) {
            Ok(key) => self.entry(table.name()).keys.push(key),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Reads the items with these keys from `table`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_get, key};
    /// # fn f(t: &Table) { let b = batch_get().keys(t, ["1", "2"].map(|id| key("id", id))); }
    /// ```
    pub fn keys<K: Serialize>(self, table: &Table, keys: impl IntoIterator<Item = K>) -> Self {
        keys.into_iter()
            .fold(self, |batch, key| batch.get(table, key))
    }

    /// Strongly consistent reads from `table`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_get, key};
    /// # fn f(t: &Table) { let b = batch_get().get(t, key("id", "1")).consistent(t); }
    /// ```
    pub fn consistent(mut self, table: &Table) -> Self {
        self.entry(table.name()).consistent = true;
        self
    }

    /// Returns only these attributes of `table`'s items.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_get, key};
    /// # fn f(t: &Table) { let b = batch_get().get(t, key("id", "1")).project(t, ["id", "title"]); }
    /// ```
    pub fn project<P: Into<Path>>(
        mut self,
        table: &Table,
        paths: impl IntoIterator<Item = P>,
    ) -> Self {
        let entry = self.entry(table.name());
        entry.projection = Projection::paths(paths);
        entry.user = UserPlaceholders::default();
        self
    }

    /// How many keys the batch reads.
    ///
    /// ```
    /// assert_eq!(portico_guest::data::BatchGet::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.tables.iter().map(|t| t.keys.len()).sum()
    }

    /// Whether the batch reads nothing.
    ///
    /// ```
    /// assert!(portico_guest::data::BatchGet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn build(&self) -> Result<Vec<wit::BatchGetTable>, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.tables
            .iter()
            .filter(|t| !t.keys.is_empty())
            .map(|t| {
                let mut ph = Placeholders::with_user(&t.user)?;
                let projection = t.projection.render(&mut ph)?;
                Ok(wit::BatchGetTable {
                    table: t.table.clone(),
                    keys: t.keys.iter().map(document::from_item).collect(),
                    projection,
                    names: ph.into_names()?,
                    consistent: t.consistent,
                })
            })
            .collect()
    }

    /// Reads the items.
    ///
    /// # Errors
    /// The host's refusal, or a key that could not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_get, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let mut batch = batch_get().keys(t, [key("id", "1"), key("id", "2")]);
    /// let mut items = Vec::new();
    /// while !batch.is_empty() {
    ///     let mut out = batch.send()?;
    ///     items.append(&mut out.take(t.name()));
    ///     batch = out.unprocessed; // retry what was throttled (back off in real code)
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<BatchGetOutput, Error> {
        let tables = self.build()?;
        let out = wit::batch_get(&tables).map_err(Error::from_wit)?;
        BatchGetOutput::from_wit(out)
    }
}

/// The result of a [`BatchGet`].
///
/// ```no_run
/// # use portico_guest::data::{Table, batch_get, key};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// #[derive(serde::Deserialize)]
/// struct Todo { id: String }
/// let mut out = batch_get().get(t, key("id", "1")).send()?;
/// let todos: Vec<Todo> = out.take_as(t.name())?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct BatchGetOutput {
    /// Per table, the items found (in no particular order).
    pub responses: BTreeMap<String, Vec<Item>>,
    /// The keys not read because of throttling: send it again, with backoff.
    pub unprocessed: BatchGet,
}

impl BatchGetOutput {
    /// The items found in `table`.
    ///
    /// ```
    /// # use portico_guest::data::BatchGetOutput;
    /// assert!(BatchGetOutput::default().items("todos").is_empty());
    /// ```
    pub fn items(&self, table: &str) -> &[Item] {
        self.responses.get(table).map_or(&[], Vec::as_slice)
    }

    /// Takes the items found in `table` out of the output.
    ///
    /// ```
    /// # use portico_guest::data::BatchGetOutput;
    /// assert!(BatchGetOutput::default().take("todos").is_empty());
    /// ```
    pub fn take(&mut self, table: &str) -> Vec<Item> {
        self.responses.remove(table).unwrap_or_default()
    }

    /// Takes the items found in `table`, as `T`.
    ///
    /// # Errors
    /// [`Error::Serialization`] when an item does not fit `T`.
    ///
    /// ```
    /// # use portico_guest::data::BatchGetOutput;
    /// let none: Vec<serde_json::Value> = BatchGetOutput::default().take_as("todos")?;
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn take_as<T: DeserializeOwned>(&mut self, table: &str) -> Result<Vec<T>, Error> {
        self.take(table).into_iter().map(from_item).collect()
    }

    pub(crate) fn from_wit(out: wit::BatchGetOutput) -> Result<Self, Error> {
        let mut responses: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for (table, docs) in out.responses {
            let items = docs
                .into_iter()
                .map(document::to_item)
                .collect::<Result<Vec<_>, _>>()?;
            responses.entry(table).or_default().extend(items);
        }
        let mut unprocessed = BatchGet::new();
        for t in out.unprocessed {
            let mut user = UserPlaceholders::default();
            for (placeholder, name) in t.names {
                user.name(placeholder, name);
            }
            unprocessed.tables.push(GetTable {
                table: t.table,
                keys: t
                    .keys
                    .into_iter()
                    .map(document::to_item)
                    .collect::<Result<_, _>>()?,
                consistent: t.consistent,
                projection: t.projection.map_or(Projection::All, Projection::Raw),
                user,
            });
        }
        Ok(BatchGetOutput {
            responses,
            unprocessed,
        })
    }
}

/// One write of a batch.
#[derive(Clone, Debug, PartialEq)]
enum Write {
    Put(Item),
    Delete(Item),
}

/// A `BatchWriteItem` request: up to 25 puts and deletes across tables, without
/// conditions, from [`batch_write`](crate::data::batch_write).
///
/// `send` returns the writes the host did not apply (throttling) as a new batch.
///
/// ```no_run
/// # use portico_guest::data::{Table, batch_write, key};
/// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
/// let mut batch = batch_write()
///     .put(todos, key("id", "3").with("title", "bread"))
///     .delete(todos, key("id", "1"));
/// while !batch.is_empty() {
///     batch = batch.send()?; // retry what was throttled (back off in real code)
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct BatchWrite {
    tables: Vec<(String, Vec<Write>)>,
    error: Option<Error>,
}

impl BatchWrite {
    /// An empty batch.
    ///
    /// ```
    /// assert!(portico_guest::data::BatchWrite::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the writes to `table` out of the batch: puts' items, then deletes' keys
    /// (for models, which retry what was not written).
    pub(crate) fn take_writes(&mut self, table: &str) -> (Vec<Item>, Vec<Item>) {
        let (mut puts, mut deletes) = (Vec::new(), Vec::new());
        if let Some(at) = self.tables.iter().position(|(t, _)| t == table) {
            for write in self.tables.remove(at).1 {
                match write {
                    Write::Put(item) => puts.push(item),
                    Write::Delete(key) => deletes.push(key),
                }
            }
        }
        (puts, deletes)
    }

    fn push(mut self, table: &str, write: Result<Item, Error>, kind: fn(Item) -> Write) -> Self {
        match write {
            Ok(item) => match self.tables.iter_mut().find(|(t, _)| t == table) {
                Some((_, writes)) => writes.push(kind(item)),
                None => self.tables.push((table.to_owned(), vec![kind(item)])),
            },
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Puts an item (anything that serializes to a map) into `table`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_write, key};
    /// # fn f(t: &Table) { let b = batch_write().put(t, key("id", "1").with("n", 1)); }
    /// ```
    pub fn put(self, table: &Table, item: impl Serialize) -> Self {
        self.push(table.name(), item_of(item), Write::Put)
    }

    /// Deletes the item with this key from `table`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_write, key};
    /// # fn f(t: &Table) { let b = batch_write().delete(t, key("id", "1")); }
    /// ```
    pub fn delete(self, table: &Table, key: impl Serialize) -> Self {
        self.push(table.name(), item_of(key), Write::Delete)
    }

    /// How many writes the batch holds.
    ///
    /// ```
    /// assert_eq!(portico_guest::data::BatchWrite::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.tables.iter().map(|(_, w)| w.len()).sum()
    }

    /// Whether the batch holds no writes.
    ///
    /// ```
    /// assert!(portico_guest::data::BatchWrite::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn build(&self) -> Result<Vec<wit::BatchWriteTable>, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .tables
            .iter()
            .map(|(table, writes)| wit::BatchWriteTable {
                table: table.clone(),
                writes: writes
                    .iter()
                    .map(|w| match w {
                        Write::Put(item) => wit::BatchWriteRequest::Put(document::from_item(item)),
                        Write::Delete(key) => {
                            wit::BatchWriteRequest::Delete(document::from_item(key))
                        }
                    })
                    .collect(),
            })
            .collect())
    }

    /// Applies the writes. Returns those not applied (throttling): an empty batch when
    /// all were.
    ///
    /// # Errors
    /// The host's refusal, or an item that could not be converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, batch_write, key};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let left = batch_write().delete(t, key("id", "1")).send()?;
    /// assert!(left.len() <= 1);
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<BatchWrite, Error> {
        let tables = self.build()?;
        let left = wit::batch_write(&tables).map_err(Error::from_wit)?;
        let mut out = BatchWrite::new();
        for t in left {
            let mut writes = Vec::with_capacity(t.writes.len());
            for w in t.writes {
                writes.push(match w {
                    wit::BatchWriteRequest::Put(doc) => Write::Put(document::to_item(doc)?),
                    wit::BatchWriteRequest::Delete(doc) => Write::Delete(document::to_item(doc)?),
                });
            }
            if !writes.is_empty() {
                out.tables.push((t.table, writes));
            }
        }
        Ok(out)
    }
}
