//! [`Query`] and [`Scan`], and their result: [`Page`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::portico::edge::data as wit;
use crate::data::expr::placeholders::{Placeholders, UserPlaceholders};
use crate::data::expr::projection::Projection;
use crate::data::{
    Condition, Error, Item, Path, Table, Value, attr, document, from_item, to_value,
};

/// One page of a query or scan.
///
/// ```no_run
/// # use portico_guest::data::{Table, Page, Item};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let page: Page<Item> = t.scan().limit(50).send()?;
/// if let Some(cursor) = page.last_evaluated_key {
///     let next = t.scan().limit(50).start_after(cursor).send()?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T = Item> {
    /// The items that passed the filter.
    pub items: Vec<T>,
    /// How many items passed the filter.
    pub count: u32,
    /// How many items were read, before the filter.
    pub scanned_count: u32,
    /// Where the next page starts (give it to `start_after`); `None` on the last page.
    pub last_evaluated_key: Option<Item>,
}

impl<T> Page<T> {
    /// Whether there may be more pages.
    ///
    /// ```
    /// # use portico_guest::data::{Page, Item};
    /// let last = Page::<Item> { items: vec![], count: 0, scanned_count: 0, last_evaluated_key: None };
    /// assert!(!last.has_more());
    /// ```
    pub fn has_more(&self) -> bool {
        self.last_evaluated_key.is_some()
    }
}

impl Page<Item> {
    /// The page with its items converted to `T`.
    ///
    /// # Errors
    /// [`Error::Serialization`] when an item does not fit `T`.
    ///
    /// ```
    /// # use portico_guest::data::{Page, Item};
    /// #[derive(serde::Deserialize)]
    /// struct Todo { id: String }
    /// let page = Page { items: vec![Item::new().with("id", "1")], count: 1, scanned_count: 1, last_evaluated_key: None };
    /// let typed: Page<Todo> = page.into_typed()?;
    /// assert_eq!(typed.items[0].id, "1");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<Page<T>, Error> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(from_item)
                .collect::<Result<_, _>>()?,
            count: self.count,
            scanned_count: self.scanned_count,
            last_evaluated_key: self.last_evaluated_key,
        })
    }

    fn from_wit(page: wit::Page) -> Result<Self, Error> {
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(document::to_item)
                .collect::<Result<_, _>>()?,
            count: page.count,
            scanned_count: page.scanned_count,
            last_evaluated_key: document::to_item_opt(page.last_evaluated_key)?,
        })
    }
}

/// What queries and scans share: filter, projection, paging, placeholders.
#[derive(Clone, Debug)]
struct Reading {
    index: Option<String>,
    filter: Option<Condition>,
    projection: Projection,
    user: UserPlaceholders,
    limit: Option<u32>,
    start: Result<Option<Item>, Error>,
    consistent: bool,
    count_only: bool,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            index: None,
            filter: None,
            projection: Projection::All,
            user: UserPlaceholders::default(),
            limit: None,
            start: Ok(None),
            consistent: false,
            count_only: false,
        }
    }
}

/// A start key: an item, or nothing for `None` (so `start_after(page.last_evaluated_key)`
/// works on the last page too).
fn start_key(key: impl Serialize) -> Result<Option<Item>, Error> {
    match to_value(&key)? {
        Value::Null => Ok(None),
        Value::M(map) => Ok(Some(Item::from(map))),
        other => Err(Error::serialization(format!(
            "a start key must be a map, not {}",
            other.value_type()
        ))),
    }
}

/// The options shared by [`Query`] and [`Scan`].
macro_rules! reading {
    ($ty:ident, $make:literal) => {
        impl<'a> $ty<'a> {
            /// Reads a secondary index instead of the table.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".index(\"by_status\");")]
            /// # }
            /// ```
            pub fn index(mut self, name: impl Into<String>) -> Self {
                self.reading.index = Some(name.into());
                self
            }

            /// Keeps only the items for which the condition holds (`FilterExpression`,
            /// applied after [`limit`](Self::limit) items were read). Calling it again
            /// adds a condition (both must hold).
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, attr};
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".filter(attr(\"status\").eq(\"open\"));")]
            /// # }
            /// ```
            pub fn filter(mut self, condition: Condition) -> Self {
                self.reading.filter = Some(match self.reading.filter.take() {
                    Some(old) => old.and(condition),
                    None => condition,
                });
                self
            }

            /// A filter written by hand; give its placeholders with
            /// [`name`](Self::name) and [`value`](Self::value).
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".filter_expr(\"#s = :s\").name(\"#s\", \"status\").value(\":s\", \"open\");")]
            /// # }
            /// ```
            pub fn filter_expr(self, expression: impl Into<String>) -> Self {
                self.filter(Condition::raw(expression))
            }

            /// Returns only these attributes (or nested paths).
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".project([\"id\", \"title\"]);")]
            /// # }
            /// ```
            pub fn project<P: Into<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
                self.reading.projection = Projection::paths(paths);
                self
            }

            /// A `ProjectionExpression` written by hand.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".projection_expr(\"id, #t\").name(\"#t\", \"title\");")]
            /// # }
            /// ```
            pub fn projection_expr(mut self, expression: impl Into<String>) -> Self {
                self.reading.projection = Projection::Raw(expression.into());
                self
            }

            /// A name placeholder (`#name` → attribute name) for hand-written expressions.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".filter_expr(\"attribute_exists(#d)\").name(\"#d\", \"data\");")]
            /// # }
            /// ```
            pub fn name(mut self, placeholder: impl Into<String>, name: impl Into<String>) -> Self {
                self.reading.user.name(placeholder, name);
                self
            }

            /// A value placeholder (`:value` → value) for hand-written expressions.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".filter_expr(\"price < :max\").value(\":max\", 10);")]
            /// # }
            /// ```
            pub fn value(mut self, placeholder: impl Into<String>, value: impl Serialize) -> Self {
                self.reading.user.value(placeholder, &value);
                self
            }

            /// Reads at most `n` items (counted before the filter).
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".limit(20);")]
            /// # }
            /// ```
            pub fn limit(mut self, n: u32) -> Self {
                self.reading.limit = Some(n);
                self
            }

            /// Starts after this key: the previous page's `last_evaluated_key`. `None`
            /// starts at the beginning.
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, Item};
            /// # fn f(t: &Table, cursor: Option<Item>) {
            #[doc = concat!("let request = t.", $make, ".start_after(cursor);")]
            /// # }
            /// ```
            pub fn start_after(mut self, key: impl Serialize) -> Self {
                self.reading.start = start_key(key);
                self
            }

            /// A strongly consistent read (not on global secondary indexes).
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) {
            #[doc = concat!("let request = t.", $make, ".consistent();")]
            /// # }
            /// ```
            pub fn consistent(mut self) -> Self {
                self.reading.consistent = true;
                self
            }

            /// Counts the matching items without returning them (`Select = COUNT`).
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
            #[doc = concat!("let n = t.", $make, ".count_only().send()?.count;")]
            /// # Ok(()) }
            /// ```
            pub fn count_only(mut self) -> Self {
                self.reading.count_only = true;
                self
            }

            /// Reads one page.
            ///
            /// # Errors
            /// The host's refusal, or a value that could not be converted.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
            #[doc = concat!("let page = t.", $make, ".send()?;")]
            /// for item in &page.items { /* ... */ }
            /// # Ok(()) }
            /// ```
            pub fn send(self) -> Result<Page, Error> {
                self.run()
            }

            /// Reads one page, its items as `T`.
            ///
            /// # Errors
            /// As [`send`](Self::send), or [`Error::Serialization`] when an item does not
            /// fit `T`.
            ///
            /// ```no_run
            /// # use portico_guest::data::{Table, Page};
            /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
            /// #[derive(serde::Deserialize)]
            /// struct Todo { id: String }
            #[doc = concat!("let page: Page<Todo> = t.", $make, ".send_as()?;")]
            /// # Ok(()) }
            /// ```
            pub fn send_as<T: DeserializeOwned>(self) -> Result<Page<T>, Error> {
                self.run()?.into_typed()
            }

            /// Every page, one request each, starting at [`start_after`](Self::start_after)'s
            /// key. The iterator stops after the last page or the first error.
            ///
            /// ```no_run
            /// # use portico_guest::data::Table;
            /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
            #[doc = concat!("for page in t.", $make, ".pages() {")]
            ///     for item in page?.items { /* ... */ }
            /// }
            /// # Ok(()) }
            /// ```
            pub fn pages(self) -> Pages<'a> {
                Pages {
                    next: Some(Request::$ty(Box::new(self))),
                }
            }
        }
    };
}

/// A `Query` request, from [`Table::query`]: the items of one partition, in sort-key
/// order.
///
/// The key condition is built from [`pk`](Self::pk) and at most one `sk_*` method, which
/// take the key attributes' names (the host does not tell the guest a table's key
/// schema), or written by hand with [`key_condition_expr`](Self::key_condition_expr).
///
/// ```no_run
/// # use portico_guest::data::{Table, attr};
/// # fn f(orders: &Table) -> Result<(), portico_guest::data::Error> {
/// let page = orders
///     .query()
///     .index("by_status")
///     .pk("status", "open")
///     .sk_between("created", 1_700_000_000, 1_800_000_000)
///     .filter(attr("total").gt(100))
///     .forward(false)
///     .limit(20)
///     .send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Query<'a> {
    table: &'a Table,
    pk: Option<Condition>,
    /// A partition value whose key name `describe` gives, at send.
    partition: Option<Result<Value, Error>>,
    sk: Option<Condition>,
    key_expr: Option<String>,
    forward: bool,
    reading: Reading,
}

reading!(Query, "query().pk(\"pk\", \"user#1\")");

impl<'a> Query<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        Query {
            table,
            pk: None,
            partition: None,
            sk: None,
            key_expr: None,
            forward: true,
            reading: Reading::default(),
        }
    }

    /// The partition `value`, with the key's name from the table's `describe` (of the
    /// queried index, if there is one): one more host call, made at `send`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
    /// let page = t.query().partition("user#1").send()?;
    /// let open = t.query().index("by_status").partition("open").send()?;
    /// # Ok(()) }
    /// ```
    pub fn partition(mut self, value: impl Serialize) -> Self {
        self.partition = Some(to_value(&value));
        self
    }

    /// The partition key's name for [`partition`](Self::partition).
    fn partition_key_name(&self) -> Result<String, Error> {
        let description = self.table.describe()?;
        match &self.reading.index {
            None => Ok(description.key.partition.name),
            Some(index) => description
                .index(index)
                .map(|i| i.key.partition.name.clone())
                .ok_or_else(|| {
                    Error::ResourceNotFound(format!(
                        "table `{}` has no index `{index}`",
                        description.name
                    ))
                }),
        }
    }

    /// The partition: key attribute `name` equals `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("user_id", "u1"); }
    /// ```
    pub fn pk(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.pk = Some(attr(name).eq(value));
        self
    }

    fn sk(mut self, condition: Condition) -> Self {
        self.sk = Some(condition);
        self
    }

    /// Sort key `name` equals `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_eq("sk", "profile"); }
    /// ```
    pub fn sk_eq(self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.sk(attr(name).eq(value))
    }

    /// Sort key `name` is below `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_lt("ts", 100); }
    /// ```
    pub fn sk_lt(self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.sk(attr(name).lt(value))
    }

    /// Sort key `name` is at most `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_le("ts", 100); }
    /// ```
    pub fn sk_le(self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.sk(attr(name).le(value))
    }

    /// Sort key `name` is above `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_gt("ts", 100); }
    /// ```
    pub fn sk_gt(self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.sk(attr(name).gt(value))
    }

    /// Sort key `name` is at least `value`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_ge("ts", 100); }
    /// ```
    pub fn sk_ge(self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.sk(attr(name).ge(value))
    }

    /// Sort key `name` is between `low` and `high`, inclusive.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_between("ts", 100, 200); }
    /// ```
    pub fn sk_between(
        self,
        name: impl Into<String>,
        low: impl Serialize,
        high: impl Serialize,
    ) -> Self {
        self.sk(attr(name).between(low, high))
    }

    /// Sort key `name` starts with `prefix`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let q = t.query().pk("pk", "u1").sk_begins_with("sk", "order#"); }
    /// ```
    pub fn sk_begins_with(self, name: impl Into<String>, prefix: impl Serialize) -> Self {
        self.sk(attr(name).begins_with(prefix))
    }

    /// A `KeyConditionExpression` written by hand, instead of [`pk`](Self::pk) and
    /// `sk_*`; give its placeholders with [`name`](Self::name) and [`value`](Self::value).
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) {
    /// let q = t.query().key_condition_expr("#p = :p").name("#p", "pk").value(":p", "u1");
    /// # }
    /// ```
    pub fn key_condition_expr(mut self, expression: impl Into<String>) -> Self {
        self.key_expr = Some(expression.into());
        self
    }

    /// Sort-key order: ascending (`true`, the default) or descending.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let newest_first = t.query().pk("pk", "u1").forward(false); }
    /// ```
    pub fn forward(mut self, ascending: bool) -> Self {
        self.forward = ascending;
        self
    }

    fn key_condition(&self, ph: &mut Placeholders) -> Result<String, Error> {
        let described;
        let pk = match (&self.pk, &self.partition) {
            (Some(_), Some(_)) => {
                return Err(Error::validation(
                    "a query takes either pk(name, value) or partition(value), not both",
                ));
            }
            (None, Some(value)) => {
                described = attr(self.partition_key_name()?).eq(value.clone()?);
                Some(&described)
            }
            (pk, None) => pk.as_ref(),
        };
        match (&self.key_expr, pk, &self.sk) {
            (Some(text), None, None) => Ok(text.clone()),
            (Some(_), _, _) => Err(Error::validation(
                "a query takes either key_condition_expr or pk/sk_*, not both",
            )),
            (None, Some(pk), None) => pk.render(ph),
            (None, Some(pk), Some(sk)) => pk.clone().and(sk.clone()).render(ph),
            (None, None, _) => Err(Error::validation(
                "a query needs its partition key: call pk(name, value)",
            )),
        }
    }

    /// The request as the host takes it.
    pub(crate) fn build(&self) -> Result<wit::QueryInput, Error> {
        let r = &self.reading;
        let mut ph = Placeholders::with_user(&r.user)?;
        let key_condition = self.key_condition(&mut ph)?;
        let filter = r.filter.as_ref().map(|c| c.render(&mut ph)).transpose()?;
        let projection = r.projection.render(&mut ph)?;
        let start = r.start.as_ref().map_err(Clone::clone)?;
        Ok(wit::QueryInput {
            index: r.index.clone(),
            key_condition,
            filter,
            projection,
            placeholders: ph.into_wit(),
            limit: r.limit,
            exclusive_start_key: start.as_ref().map(document::from_item),
            forward: self.forward,
            consistent: r.consistent,
            count_only: r.count_only,
        })
    }

    fn run(&self) -> Result<Page, Error> {
        let input = self.build()?;
        let page = self.table.handle().query(&input).map_err(Error::from_wit)?;
        Page::from_wit(page)
    }
}

/// A `Scan` request, from [`Table::scan`]: every item of a table or index.
///
/// ```no_run
/// # use portico_guest::data::{Table, attr};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let page = t.scan().filter(attr("done").eq(false)).segment(1, 4).send()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Scan<'a> {
    table: &'a Table,
    segment: Option<(u32, u32)>,
    reading: Reading,
}

reading!(Scan, "scan()");

impl<'a> Scan<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        Scan {
            table,
            segment: None,
            reading: Reading::default(),
        }
    }

    /// A parallel scan's share: segment `segment` (from 0) of `total`.
    ///
    /// ```no_run
    /// # use portico_guest::data::Table;
    /// # fn f(t: &Table) { let worker_2_of_4 = t.scan().segment(2, 4); }
    /// ```
    pub fn segment(mut self, segment: u32, total: u32) -> Self {
        self.segment = Some((segment, total));
        self
    }

    /// The request as the host takes it.
    pub(crate) fn build(&self) -> Result<wit::ScanInput, Error> {
        let r = &self.reading;
        let mut ph = Placeholders::with_user(&r.user)?;
        let filter = r.filter.as_ref().map(|c| c.render(&mut ph)).transpose()?;
        let projection = r.projection.render(&mut ph)?;
        let start = r.start.as_ref().map_err(Clone::clone)?;
        Ok(wit::ScanInput {
            index: r.index.clone(),
            filter,
            projection,
            placeholders: ph.into_wit(),
            limit: r.limit,
            exclusive_start_key: start.as_ref().map(document::from_item),
            segment: self
                .segment
                .map(|(segment, total)| wit::Segment { segment, total }),
            consistent: r.consistent,
            count_only: r.count_only,
        })
    }

    fn run(&self) -> Result<Page, Error> {
        let input = self.build()?;
        let page = self.table.handle().scan(&input).map_err(Error::from_wit)?;
        Page::from_wit(page)
    }
}

#[derive(Debug)]
enum Request<'a> {
    Query(Box<Query<'a>>),
    Scan(Box<Scan<'a>>),
}

/// The pages of a query or scan, from `pages()`: one request per page.
///
/// ```no_run
/// # use portico_guest::data::Table;
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let all: Vec<_> = t.query().pk("pk", "u1").pages().collect::<Result<_, _>>()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pages<'a> {
    next: Option<Request<'a>>,
}

impl Iterator for Pages<'_> {
    type Item = Result<Page, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut request = self.next.take()?;
        let page = match &request {
            Request::Query(q) => q.run(),
            Request::Scan(s) => s.run(),
        };
        if let Ok(Page {
            last_evaluated_key: Some(key),
            ..
        }) = &page
        {
            let reading = match &mut request {
                Request::Query(q) => &mut q.reading,
                Request::Scan(s) => &mut s.reading,
            };
            reading.start = Ok(Some(key.clone()));
            self.next = Some(request);
        }
        Some(page)
    }
}
