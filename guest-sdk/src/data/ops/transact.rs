//! [`TransactGet`] and [`TransactWrite`]: all-or-nothing requests across tables.

use serde::de::DeserializeOwned;

use crate::bindings::portico::edge::data as wit;
use crate::data::{ConditionCheck, Delete, Error, Get, Item, Put, UpdateItem, document, from_item};

/// A `TransactGetItems` request: up to 100 reads from one snapshot, from
/// [`transact_get`](crate::data::transact_get). Build each read with [`Table::get`](crate::data::Table::get)
/// (its `consistent` flag is ignored: transactional reads are always consistent).
///
/// ```no_run
/// # use portico_guest::data::{Table, key, transact_get};
/// # fn f(users: &Table, orders: &Table) -> Result<(), portico_guest::data::Error> {
/// let [user, order]: [Option<_>; 2] = transact_get()
///     .get(users.get(key("id", "u1")))
///     .get(orders.get(key("id", "o1")).project(["total"]))
///     .send()?
///     .try_into()
///     .map_err(|_| portico_guest::data::Error::Validation("two answers expected".into()))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TransactGet {
    items: Vec<wit::TransactGetItem>,
    error: Option<Error>,
}

impl TransactGet {
    /// An empty transaction.
    ///
    /// ```
    /// assert!(portico_guest::data::TransactGet::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a read.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_get};
    /// # fn f(t: &Table) { let tx = transact_get().get(t.get(key("id", "1"))); }
    /// ```
    pub fn get(mut self, get: Get<'_>) -> Self {
        match get.into_transact() {
            Ok(item) => self.items.push(item),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// How many reads the transaction holds.
    ///
    /// ```
    /// assert_eq!(portico_guest::data::TransactGet::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the transaction holds no reads.
    ///
    /// ```
    /// assert!(portico_guest::data::TransactGet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Reads the items: one entry per read, in order, `None` where there is no item.
    ///
    /// # Errors
    /// The host's refusal ([`Error::TransactionCanceled`], …), or a key that could not be
    /// converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_get};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let items = transact_get().get(t.get(key("id", "1"))).send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Vec<Option<Item>>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let out = wit::transact_get(&self.items).map_err(Error::from_wit)?;
        out.into_iter().map(document::to_item_opt).collect()
    }

    /// As [`send`](Self::send), every item as a `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), or [`Error::Serialization`] when an item does not fit `T`.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_get};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let items: Vec<Option<serde_json::Value>> = transact_get().get(t.get(key("id", "1"))).send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn send_as<T: DeserializeOwned>(self) -> Result<Vec<Option<T>>, Error> {
        self.send()?
            .into_iter()
            .map(|item| item.map(from_item).transpose())
            .collect()
    }
}

/// A `TransactWriteItems` request: up to 100 writes, all or nothing, from
/// [`transact_write`](crate::data::transact_write). Build each write with the table's
/// builders ([`Table::put`](crate::data::Table::put), [`update`](crate::data::Table::update),
/// [`delete`](crate::data::Table::delete), [`check`](crate::data::Table::check)); their
/// conditions and `return_old_on_condition_failure` apply, their return values do not.
///
/// ```no_run
/// # use portico_guest::data::{Table, attr, key, transact_write, Error};
/// # fn f(accounts: &Table) -> Result<(), Error> {
/// let result = transact_write()
///     .update(accounts.update(key("id", "a")).add("balance", -10).condition(attr("balance").ge(10)))
///     .update(accounts.update(key("id", "b")).add("balance", 10))
///     .client_token("transfer-42")
///     .send();
/// if let Err(Error::TransactionCanceled(reasons)) = &result {
///     // one reason per write, in order
/// }
/// # result }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TransactWrite {
    items: Vec<wit::TransactWriteItem>,
    client_token: Option<String>,
    error: Option<Error>,
}

impl TransactWrite {
    /// An empty transaction.
    ///
    /// ```
    /// assert!(portico_guest::data::TransactWrite::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, item: Result<wit::TransactWriteItem, Error>) -> Self {
        match item {
            Ok(item) => self.items.push(item),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds a put.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, attr, key, transact_write};
    /// # fn f(t: &Table) { let tx = transact_write().put(t.put(key("id", "1")).condition(attr("id").not_exists())); }
    /// ```
    pub fn put(self, put: Put<'_>) -> Self {
        self.push(put.into_transact())
    }

    /// Adds an update.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_write};
    /// # fn f(t: &Table) { let tx = transact_write().update(t.update(key("id", "1")).add("n", 1)); }
    /// ```
    pub fn update(self, update: UpdateItem<'_>) -> Self {
        self.push(update.into_transact())
    }

    /// Adds a delete.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_write};
    /// # fn f(t: &Table) { let tx = transact_write().delete(t.delete(key("id", "1"))); }
    /// ```
    pub fn delete(self, delete: Delete<'_>) -> Self {
        self.push(delete.into_transact())
    }

    /// Adds a condition check.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, attr, key, transact_write};
    /// # fn f(t: &Table) { let tx = transact_write().check(t.check(key("id", "1"), attr("id").exists())); }
    /// ```
    pub fn check(self, check: ConditionCheck) -> Self {
        self.push(check.into_transact())
    }

    /// Makes retries idempotent: the same token within ten minutes applies once. The
    /// same token with different writes is refused with
    /// [`Error::IdempotentParameterMismatch`].
    ///
    /// ```no_run
    /// # use portico_guest::data::transact_write;
    /// let tx = transact_write().client_token("order-17-checkout");
    /// ```
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// How many writes the transaction holds.
    ///
    /// ```
    /// assert_eq!(portico_guest::data::TransactWrite::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the transaction holds no writes.
    ///
    /// ```
    /// assert!(portico_guest::data::TransactWrite::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Applies every write, or none.
    ///
    /// # Errors
    /// [`Error::TransactionCanceled`] with one reason per write when any condition
    /// failed or the items conflicted; [`Error::IdempotentParameterMismatch`] for a
    /// client token reused with other writes; other refusals; a value that could not be
    /// converted.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, transact_write};
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// transact_write().delete(t.delete(key("id", "1"))).send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        wit::transact_write(&self.items, self.client_token.as_deref()).map_err(Error::from_wit)
    }
}
