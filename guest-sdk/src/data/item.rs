//! [`Item`]: attribute names to values.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Error, Number, Value, from_value};

/// An item or a key: attribute names to values, in name order.
///
/// It dereferences to a `BTreeMap<String, Value>`, so `get`, `insert`, `iter`, … work
/// directly; the `get_*` helpers read one attribute of the expected type.
///
/// ```
/// use portico_guest::data::Item;
/// let item = Item::new().with("id", "todo#1").with("done", false).with("rank", 3);
/// assert_eq!(item.get_s("id"), Some("todo#1"));
/// assert_eq!(item.get_bool("done"), Some(false));
/// assert_eq!(item.get_as::<u32>("rank")?, Some(3));
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item(BTreeMap<String, Value>);

/// A key (or any item) of one attribute: start of a chain of [`Item::with`].
///
/// ```
/// use portico_guest::data::key;
/// let k = key("pk", "user#1").with("sk", "order#7");
/// assert_eq!(k.len(), 2);
/// ```
pub fn key(name: impl Into<String>, value: impl Into<Value>) -> Item {
    Item::new().with(name, value)
}

impl Item {
    /// An empty item.
    ///
    /// ```
    /// assert!(portico_guest::data::Item::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Item(BTreeMap::new())
    }

    /// The item with one more attribute (replacing one of the same name).
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let item = Item::new().with("id", "a").with("n", 1u8);
    /// assert_eq!(item.len(), 2);
    /// ```
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Sets an attribute, returning the value it replaces.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let mut item = Item::new();
    /// assert!(item.set("id", "a").is_none());
    /// ```
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(name.into(), value.into())
    }

    /// The string attribute `name`, if it is an `S`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// assert_eq!(Item::new().with("id", "a").get_s("id"), Some("a"));
    /// ```
    pub fn get_s(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_s)
    }

    /// The number attribute `name`, if it is an `N`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let item = Item::new().with("n", 5);
    /// assert_eq!(item.get_n("n").map(|n| n.as_str()), Some("5"));
    /// ```
    pub fn get_n(&self, name: &str) -> Option<&Number> {
        self.0.get(name).and_then(Value::as_n)
    }

    /// The binary attribute `name`, if it is a `B`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let item = Item::new().with("blob", vec![0u8, 1]);
    /// assert_eq!(item.get_b("blob"), Some(&[0u8, 1][..]));
    /// ```
    pub fn get_b(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).and_then(Value::as_b)
    }

    /// The boolean attribute `name`, if it is a `BOOL`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// assert_eq!(Item::new().with("done", true).get_bool("done"), Some(true));
    /// ```
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    /// The map attribute `name`, if it is an `M`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let item = Item::new().with("address", Item::new().with("city", "Oslo"));
    /// assert!(item.get_m("address").is_some_and(|m| m.contains_key("city")));
    /// ```
    pub fn get_m(&self, name: &str) -> Option<&BTreeMap<String, Value>> {
        self.0.get(name).and_then(Value::as_m)
    }

    /// The list attribute `name`, if it is an `L`.
    ///
    /// ```
    /// # use portico_guest::data::{Item, Value};
    /// let item = Item::new().with("l", vec![Value::from(1)]);
    /// assert_eq!(item.get_l("l").map(<[Value]>::len), Some(1));
    /// ```
    pub fn get_l(&self, name: &str) -> Option<&[Value]> {
        self.0.get(name).and_then(Value::as_l)
    }

    /// Attribute `name` converted to `T` with the item format (see [`from_value`]);
    /// `None` when the attribute is missing.
    ///
    /// # Errors
    /// [`Error::Serialization`] when the value does not fit `T`.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let item = Item::new().with("n", 300);
    /// assert_eq!(item.get_as::<i64>("n")?, Some(300));
    /// assert!(item.get_as::<u8>("n").is_err());
    /// assert_eq!(item.get_as::<i64>("missing")?, None);
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn get_as<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        self.0.get(name).cloned().map(from_value).transpose()
    }

    /// The map inside.
    ///
    /// ```
    /// # use portico_guest::data::Item;
    /// let map = Item::new().with("a", 1).into_inner();
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn into_inner(self) -> BTreeMap<String, Value> {
        self.0
    }
}

impl Deref for Item {
    type Target = BTreeMap<String, Value>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Item {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, Value>> for Item {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Item(map)
    }
}

impl From<Item> for BTreeMap<String, Value> {
    fn from(item: Item) -> Self {
        item.0
    }
}

impl<K: Into<String>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Item {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Item {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Item(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl IntoIterator for Item {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Item {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Item)
    }
}
