//! Builders for values, items and requests, and loops over pages, shared by the cases.
//! Test code: literal helpers such as [`num`] panic on malformed literals.

use std::collections::BTreeMap;

use portico_conformance::{Failure, Must, RetryPolicy, batch_write_all};
use portico_data::ops::{
    BatchWrite, BatchWriteRequest, DeleteItem, GetItem, Page, Placeholders, PutItem, Query,
    ReturnValues, Scan, UpdateItem,
};
use portico_data::{Backend, Item, Number, Set, Value};

/// `S`.
pub fn s(text: &str) -> Value {
    Value::s(text)
}

/// `N` from an integer.
pub fn n(number: i64) -> Value {
    Value::n(number)
}

/// `N` from a literal (`"-1.5"`, `"1E+20"`).
#[track_caller]
pub fn num(text: &str) -> Value {
    Value::N(number(text))
}

/// A [`Number`] from a literal.
#[track_caller]
pub fn number(text: &str) -> Number {
    text.parse()
        .unwrap_or_else(|e| panic!("bad number literal {text:?}: {e}"))
}

/// `B`.
pub fn b(bytes: &[u8]) -> Value {
    Value::B(bytes.to_vec())
}

/// `SS`.
#[track_caller]
pub fn ss(members: &[&str]) -> Value {
    Value::Ss(
        Set::new(members.iter().map(|m| (*m).to_owned()).collect()).expect("a valid string set"),
    )
}

/// `NS` from literals.
#[track_caller]
pub fn ns(members: &[&str]) -> Value {
    Value::Ns(Set::new(members.iter().map(|m| number(m)).collect()).expect("a valid number set"))
}

/// `BS`.
#[track_caller]
pub fn bs(members: &[&[u8]]) -> Value {
    Value::Bs(Set::new(members.iter().map(|m| m.to_vec()).collect()).expect("a valid binary set"))
}

/// `L`.
pub fn l(values: Vec<Value>) -> Value {
    Value::L(values)
}

/// `M`.
pub fn m(fields: &[(&str, Value)]) -> Value {
    Value::M(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// An item: `item! { "pk" => s("a"), "n" => n(1) }`.
macro_rules! item {
    ($($name:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut item = ::portico_data::Item::new();
        $(item.insert(::std::string::String::from($name), $value);)*
        item
    }};
}
pub(crate) use item;

/// A key of a table keyed by `pk` only.
pub fn key(pk: &str) -> Item {
    item! { "pk" => s(pk) }
}

/// A key of a table keyed by `pk` and `sk`.
pub fn key2(pk: &str, sk: Value) -> Item {
    item! { "pk" => s(pk), "sk" => sk }
}

/// `item` with `name` set to `value`.
pub fn with(mut item: Item, name: &str, value: Value) -> Item {
    item.insert(name.to_owned(), value);
    item
}

/// `:value` placeholder bindings, as cases list them.
pub type Bindings<'a> = Vec<(&'a str, Value)>;

/// Placeholders from `#name` and `:value` pairs.
pub fn ph(names: &[(&str, &str)], values: &[(&str, Value)]) -> Placeholders {
    Placeholders {
        names: names
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

/// Name placeholders only.
pub fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    ph(pairs, &[]).names
}

/// A strongly consistent `GetItem` of the whole item.
pub fn get(table: &str, key: Item) -> GetItem {
    GetItem {
        table: table.to_owned(),
        key,
        consistent: true,
        projection: None,
        names: BTreeMap::new(),
    }
}

/// An unconditional `PutItem` returning nothing.
pub fn put(table: &str, item: Item) -> PutItem {
    PutItem {
        table: table.to_owned(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

/// An unconditional `UpdateItem` with this update expression, returning nothing.
pub fn update(table: &str, key: Item, expression: &str, placeholders: Placeholders) -> UpdateItem {
    UpdateItem {
        table: table.to_owned(),
        key,
        update: Some(expression.to_owned()),
        condition: None,
        placeholders,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

/// An unconditional `DeleteItem` returning nothing.
pub fn delete(table: &str, key: Item) -> DeleteItem {
    DeleteItem {
        table: table.to_owned(),
        key,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

/// A forward, eventually consistent `Query` of the table without limit.
pub fn query(table: &str, key_condition: &str, placeholders: Placeholders) -> Query {
    Query {
        table: table.to_owned(),
        index: None,
        key_condition: key_condition.to_owned(),
        filter: None,
        projection: None,
        placeholders,
        limit: None,
        exclusive_start_key: None,
        forward: true,
        consistent: false,
        count_only: false,
    }
}

/// A strongly consistent `Scan` of the whole table.
pub fn scan(table: &str) -> Scan {
    Scan {
        table: table.to_owned(),
        index: None,
        filter: None,
        projection: None,
        placeholders: Placeholders::default(),
        limit: None,
        exclusive_start_key: None,
        segment: None,
        consistent: true,
        count_only: false,
    }
}

/// Writes items with batch writes of 25, resubmitting unprocessed writes.
pub async fn put_all(db: &dyn Backend, table: &str, items: &[Item]) -> Result<(), Failure> {
    for chunk in items.chunks(25) {
        let request = BatchWrite {
            tables: BTreeMap::from([(
                table.to_owned(),
                chunk.iter().cloned().map(BatchWriteRequest::Put).collect(),
            )]),
        };
        batch_write_all(db, request, RetryPolicy::default())
            .await
            .must("batch write of the fixture items")?;
    }
    Ok(())
}

/// Every page of a query, following `last_evaluated_key` until there is none.
pub async fn query_pages(db: &dyn Backend, request: Query) -> Result<Vec<Page>, Failure> {
    let mut pages = Vec::new();
    let mut start = request.exclusive_start_key.clone();
    loop {
        let page = db
            .query(Query {
                exclusive_start_key: start.take(),
                ..request.clone()
            })
            .await
            .must("query page")?;
        start = page.last_evaluated_key.clone();
        pages.push(page);
        if start.is_none() {
            return Ok(pages);
        }
        if pages.len() > 1000 {
            return Err(Failure::here("query paging did not end after 1000 pages"));
        }
    }
}

/// Every page of a scan, following `last_evaluated_key` until there is none.
pub async fn scan_pages(db: &dyn Backend, request: Scan) -> Result<Vec<Page>, Failure> {
    let mut pages = Vec::new();
    let mut start = request.exclusive_start_key.clone();
    loop {
        let page = db
            .scan(Scan {
                exclusive_start_key: start.take(),
                ..request.clone()
            })
            .await
            .must("scan page")?;
        start = page.last_evaluated_key.clone();
        pages.push(page);
        if start.is_none() {
            return Ok(pages);
        }
        if pages.len() > 1000 {
            return Err(Failure::here("scan paging did not end after 1000 pages"));
        }
    }
}

/// The items of all pages, in order.
pub fn items_of(pages: &[Page]) -> Vec<Item> {
    pages.iter().flat_map(|p| p.items.iter().cloned()).collect()
}

/// The values of attribute `name` in `items`, in order (items without it are skipped).
pub fn column(items: &[Item], name: &str) -> Vec<Value> {
    items.iter().filter_map(|i| i.get(name).cloned()).collect()
}

/// Items sorted by their `pk` (and `sk`) for order-free comparisons.
pub fn sorted(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    items
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
