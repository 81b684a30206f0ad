//! [`Table`]: a table opened by name, and the entry point of single-table requests.

use std::fmt;

use serde::Serialize;

use crate::bindings::portico::edge::data as wit;
use crate::data::ops::{ConditionCheck, Delete, Get, Put, Query, Scan, UpdateItem};
use crate::data::{Condition, Error, Item, TableDescription, to_item};

/// A table this function may use: the function's manifest entry must list it.
///
/// Each method returns a request builder; nothing reaches the host until `send`.
///
/// ```no_run
/// use portico_guest::data::{Table, attr, key};
/// # fn f() -> Result<(), portico_guest::data::Error> {
/// let todos = Table::open("todos")?;
/// todos.put(&serde_json::json!({ "id": "1", "title": "milk" })).send()?;
/// let item = todos.get(key("id", "1")).send()?;
/// todos.update(key("id", "1")).set("done", true).condition(attr("id").exists()).send()?;
/// todos.delete(key("id", "1")).send()?;
/// # Ok(()) }
/// ```
pub struct Table {
    handle: wit::Table,
    name: String,
}

/// Converts a key (or an item) given to a builder; failures surface at `send`.
pub(crate) fn item_of(value: impl Serialize) -> Result<Item, Error> {
    to_item(&value)
}

impl Table {
    /// Opens the table `name`.
    ///
    /// # Errors
    /// [`Error::AccessDenied`] unless the function's manifest entry lists the table.
    ///
    /// ```no_run
    /// let orders = portico_guest::data::Table::open("orders")?;
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<Table, Error> {
        let handle = wit::Table::open(name).map_err(Error::from_wit)?;
        Ok(Table {
            handle,
            name: name.to_owned(),
        })
    }

    /// The table's name.
    ///
    /// ```no_run
    /// # let t = portico_guest::data::Table::open("orders")?;
    /// assert_eq!(t.name(), "orders");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A table for unit tests on the host, where the data interface is not linked: it
    /// must never be sent on nor dropped (hence `ManuallyDrop`).
    #[cfg(test)]
    #[allow(unsafe_code, reason = "a fake resource handle; see the SAFETY comment")]
    pub(crate) fn fake(name: &str) -> std::mem::ManuallyDrop<Table> {
        // SAFETY: the handle is never passed to the host: tests only build requests.
        let handle = unsafe { wit::Table::from_handle(1) };
        std::mem::ManuallyDrop::new(Table {
            handle,
            name: name.to_owned(),
        })
    }

    /// `DescribeTable`: the table's key schema, indexes and TTL attribute, as the
    /// manifest declares them. Unlike the other calls it needs no builder: it goes to the
    /// host at once.
    ///
    /// # Errors
    /// [`Error::ResourceNotFound`] when the manifest does not declare the table;
    /// [`Error::Unavailable`] on a host without a data store.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, KeyType};
    /// # fn f(orders: &Table) -> Result<(), portico_guest::data::Error> {
    /// let table = orders.describe()?;
    /// let pk = &table.key.partition;
    /// assert_eq!(pk.key_type, KeyType::S);
    /// let page = orders.query().pk(pk.name.as_str(), "user#1").send()?;
    /// if let Some(index) = table.index("by_status") {
    ///     println!("{} is keyed by {}", index.name, index.key.partition.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn describe(&self) -> Result<TableDescription, Error> {
        self.handle
            .describe()
            .map(TableDescription::from_wit)
            .map_err(Error::from_wit)
    }

    pub(crate) fn handle(&self) -> &wit::Table {
        &self.handle
    }

    /// `GetItem`: the item with this key (an [`Item`] or any struct or map that
    /// serializes to the full primary key).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Todo { id: String, title: String }
    /// let todo: Option<Todo> = todos.get(key("id", "1")).consistent().send_as()?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, key: impl Serialize) -> Get<'_> {
        Get::new(self, item_of(key))
    }

    /// `PutItem`: creates or replaces an item (anything that serializes to a map).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, attr};
    /// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Todo { id: String, title: String }
    /// let todo = Todo { id: "1".into(), title: "milk".into() };
    /// todos.put(&todo).condition(attr("id").not_exists()).send()?;
    /// # Ok(()) }
    /// ```
    pub fn put(&self, item: impl Serialize) -> Put<'_> {
        Put::new(self, item_of(item))
    }

    /// `UpdateItem`: changes the item with this key, creating it if missing.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key, ReturnValues};
    /// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
    /// let new = todos
    ///     .update(key("id", "1"))
    ///     .set("title", "oat milk")
    ///     .add("edits", 1)
    ///     .return_values(ReturnValues::AllNew)
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, key: impl Serialize) -> UpdateItem<'_> {
        UpdateItem::new(self, item_of(key))
    }

    /// `DeleteItem`: deletes the item with this key, if any.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, key};
    /// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
    /// let old = todos.delete(key("id", "1")).return_old().send()?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, key: impl Serialize) -> Delete<'_> {
        Delete::new(self, item_of(key))
    }

    /// A condition on the item with this key, for a transaction (`ConditionCheck`).
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, attr, key, transact_write};
    /// # fn f(users: &Table, orders: &Table) -> Result<(), portico_guest::data::Error> {
    /// transact_write()
    ///     .check(users.check(key("id", "u1"), attr("active").eq(true)))
    ///     .put(orders.put(key("id", "o1").with("user", "u1")))
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn check(&self, key: impl Serialize, condition: Condition) -> ConditionCheck {
        ConditionCheck::new(self, item_of(key), condition)
    }

    /// `Query`: the items of one partition, in sort-key order.
    ///
    /// ```no_run
    /// # use portico_guest::data::{Table, attr};
    /// # fn f(orders: &Table) -> Result<(), portico_guest::data::Error> {
    /// let page = orders
    ///     .query()
    ///     .pk("pk", "user#1")
    ///     .sk_begins_with("sk", "order#")
    ///     .filter(attr("status").eq("open"))
    ///     .limit(20)
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn query(&self) -> Query<'_> {
        Query::new(self)
    }

    /// `Scan`: every item of the table or an index, page by page.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(todos: &Table) -> Result<(), portico_guest::data::Error> {
    /// for page in todos.scan().segment(0, 4).pages() {
    ///     for item in page?.items { /* ... */ }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn scan(&self) -> Scan<'_> {
        Scan::new(self)
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("name", &self.name).finish()
    }
}
