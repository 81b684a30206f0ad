//! [`Transaction`]: `TransactWriteItems` mixing models, conditions and plain builders.

use super::{Error, Key, Model, ModelExt, ModelUpdate};
use crate::data::{Condition, TransactWrite};

/// An all-or-nothing write of up to 100 items across models, from [`transaction`].
///
/// Each model write is prepared and validated as its single-item call is; the first
/// failure is reported by [`send`](Self::send) and nothing is sent.
///
/// ```no_run
/// # use portico_guest::data::model::{Model, ModelExt, transaction};
/// # #[derive(Model)] #[model(table = "shop", pk = "id")] struct Order { id: String, product: String, quantity: i64 }
/// # #[derive(Model)] #[model(table = "shop", pk = "id")] struct Product { id: String, stock: i64 }
/// # fn f(mut order: Order) -> Result<(), portico_guest::data::model::Error> {
/// let stock = Product::fields().stock;
/// transaction()
///     .create(&mut order)
///     .update(
///         Product::update(Product::key(order.product.clone()))
///             .add(stock.clone(), -order.quantity)
///             .condition(stock.ge(order.quantity)),
///     )
///     .send()?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Transaction {
    writes: TransactWrite,
    error: Option<Error>,
}

/// A new transaction.
pub fn transaction() -> Transaction {
    Transaction::default()
}

impl Transaction {
    fn with(mut self, write: Result<impl FnOnce(TransactWrite) -> TransactWrite, Error>) -> Self {
        match write {
            Ok(add) => self.writes = add(std::mem::take(&mut self.writes)),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Creates `item` (the transaction fails if it exists).
    pub fn create<M: Model>(self, item: &mut M) -> Self {
        let write = M::table().and_then(|table| {
            let put = table.put(item.prepared(true)?).condition(M::absent());
            Ok(move |tx: TransactWrite| tx.put(put))
        });
        self.with(write)
    }

    /// Writes `item`, replacing one with its key.
    pub fn save<M: Model>(self, item: &mut M) -> Self {
        let write = M::table().and_then(|table| {
            let put = table.put(item.prepared(false)?);
            Ok(move |tx: TransactWrite| tx.put(put))
        });
        self.with(write)
    }

    /// Writes `item` if `condition` holds on the stored one.
    pub fn save_if<M: Model>(self, item: &mut M, condition: Condition) -> Self {
        let write = M::table().and_then(|table| {
            let put = table.put(item.prepared(false)?).condition(condition);
            Ok(move |tx: TransactWrite| tx.put(put))
        });
        self.with(write)
    }

    /// A model update (its existence condition and rules included).
    pub fn update<M: Model>(self, update: ModelUpdate<M>) -> Self {
        let write = update
            .build()
            .map(|u| move |tx: TransactWrite| tx.update(u));
        self.with(write)
    }

    /// Deletes the item with `key`.
    pub fn delete<M: Model>(self, key: Key<M>) -> Self {
        let write = M::table().map(|table| {
            let delete = table.delete(key.into_item());
            move |tx: TransactWrite| tx.delete(delete)
        });
        self.with(write)
    }

    /// Deletes the item with `key` if `condition` holds.
    pub fn delete_if<M: Model>(self, key: Key<M>, condition: Condition) -> Self {
        let write = M::table().map(|table| {
            let delete = table.delete(key.into_item()).condition(condition);
            move |tx: TransactWrite| tx.delete(delete)
        });
        self.with(write)
    }

    /// Requires `condition` on the item with `key`, without writing it.
    pub fn check<M: Model>(self, key: Key<M>, condition: Condition) -> Self {
        let write = M::table().map(|table| {
            let check = table.check(key.into_item(), condition);
            move |tx: TransactWrite| tx.check(check)
        });
        self.with(write)
    }

    /// Adds writes built with the plain builders (other tables, hand-written
    /// expressions).
    pub fn raw(mut self, add: impl FnOnce(TransactWrite) -> TransactWrite) -> Self {
        self.writes = add(std::mem::take(&mut self.writes));
        self
    }

    /// Makes retries of this transaction idempotent for 10 minutes.
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.writes = std::mem::take(&mut self.writes).client_token(token);
        self
    }

    /// Sends the transaction.
    ///
    /// # Errors
    /// The first rule a write broke (nothing sent), or the data error:
    /// `TransactionCanceled` with one reason per write, in order.
    pub fn send(self) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.writes.send()?;
        Ok(())
    }
}
