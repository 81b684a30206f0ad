//! [`Collection`]: several models under one partition, read with one query and returned
//! as a typed enum (single-table design).

use std::marker::PhantomData;

use super::{Error, Key, Model, ModelExt};
use crate::data::{Condition, Item, Value};

/// An enum with one variant per model stored under a shared partition:
/// implemented by `#[derive(Collection)]` on `enum E { A(A), B(B) }`.
///
/// ```no_run
/// use portico_guest::data::model::{Collection, Model, ModelExt};
///
/// #[derive(Model)]
/// #[model(table = "shop", pk = "CUSTOMER#{id}", sk = "#PROFILE")]
/// struct Customer { id: String, name: String }
///
/// #[derive(Model)]
/// #[model(table = "shop", pk = "CUSTOMER#{customer}", sk = "ORDER#{id}")]
/// struct Order { customer: String, id: String, quantity: u32 }
///
/// #[derive(Collection)]
/// enum CustomerRecords { Customer(Customer), Order(Order) }
///
/// # fn f() -> Result<(), portico_guest::data::model::Error> {
/// for record in CustomerRecords::query(&Customer::key("c1")).all(1000)? {
///     match record {
///         CustomerRecords::Customer(c) => { /* the profile */ }
///         CustomerRecords::Order(o) => { /* one of their orders */ }
///     }
/// }
/// # Ok(()) }
/// ```
pub trait Collection: Sized + 'static {
    /// The variants' entity names, for errors: `Customer, Order`.
    const ENTITIES: &'static str;

    /// The variant for an item of entity `entity`, or `None` when no variant has it.
    fn decode(entity: &str, item: Item) -> Option<Result<Self, Error>>;

    /// Checks every variant's model against the table, and that they share the table
    /// and the entity attribute; returns the entity attribute.
    ///
    /// # Errors
    /// [`Error::Schema`].
    fn check() -> Result<&'static str, Error>;

    /// The items under the partition of `key` (the sort key is ignored).
    fn query<M: Model>(key: &Key<M>) -> CollectionQuery<Self> {
        let (attribute, value) = key.partition();
        CollectionQuery {
            partition: (attribute, value.cloned()),
            table: M::table,
            sort_prefix: None,
            limit: None,
            forward: true,
            filter: None,
            collection: PhantomData,
        }
    }
}

/// The derive's check that a variant shares the first variant's table and entity
/// attribute.
pub fn same_table<A: Model, B: Model>() -> Result<&'static str, Error> {
    A::table()?;
    B::table()?;
    let (a, b) = (A::SCHEMA, B::SCHEMA);
    if a.table != b.table {
        return Err(Error::schema(
            b.name,
            format!(
                "a collection's models share one table; `{}` is in `{}`",
                a.name, a.table
            ),
        ));
    }
    match (a.entity, b.entity) {
        (Some((x, _)), Some((y, _))) if x == y => Ok(x),
        _ => Err(Error::schema(
            b.name,
            format!(
                "a collection's models need the same entity attribute as `{}`",
                a.name
            ),
        )),
    }
}

/// A query of one partition's items of every model of a [`Collection`].
pub struct CollectionQuery<C> {
    partition: (&'static str, Option<Value>),
    table: fn() -> Result<&'static crate::data::Table, Error>,
    sort_prefix: Option<(&'static str, String)>,
    limit: Option<u32>,
    forward: bool,
    filter: Option<Condition>,
    collection: PhantomData<fn() -> C>,
}

impl<C: Collection> CollectionQuery<C> {
    /// Only items whose sort key `attribute` begins with `prefix`.
    pub fn sort_begins_with(mut self, attribute: &'static str, prefix: impl Into<String>) -> Self {
        self.sort_prefix = Some((attribute, prefix.into()));
        self
    }

    /// A filter on the items read.
    pub fn filter(mut self, condition: Condition) -> Self {
        super::query::and_into(&mut self.filter, condition);
        self
    }

    /// Reads at most `n` items per page.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Every item of the partition, as the collection's variants, stopping at `cap`.
    ///
    /// # Errors
    /// [`Error::WrongEntity`] for an item of no variant's entity, or as a query.
    pub fn all(self, cap: usize) -> Result<Vec<C>, Error> {
        let entity_attribute = C::check()?;
        let (attribute, value) = self.partition;
        let value = value.ok_or(Error::MissingRequired { attribute })?;
        let mut query = (self.table)()?.query().pk(attribute, value);
        if let Some((sort, prefix)) = &self.sort_prefix {
            query = query.sk_begins_with(*sort, prefix.as_str());
        }
        if let Some(filter) = self.filter {
            query = query.filter(filter);
        }
        if let Some(n) = self.limit {
            query = query.limit(n);
        }
        let mut out = Vec::new();
        let decode = |item: Item| {
            let entity = match item.get(entity_attribute) {
                Some(Value::S(e)) => e.clone(),
                _ => {
                    return Err(Error::WrongEntity {
                        expected: C::ENTITIES,
                        found: None,
                    });
                }
            };
            C::decode(&entity, item).unwrap_or_else(|| {
                Err(Error::WrongEntity {
                    expected: C::ENTITIES,
                    found: Some(entity),
                })
            })
        };
        super::query::collect(query.forward(self.forward).pages(), cap, &mut out, decode)?;
        Ok(out)
    }
}
