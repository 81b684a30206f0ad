//! Reads: get, query, scan, batch get and transact get, each from one redb read
//! transaction (a consistent snapshot). Every read on the embedded store is strongly
//! consistent.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use redb::{Database, ReadTransaction, ReadableDatabase, TableDefinition};

use crate::error::{CancellationCode, CancellationReason, DataError};
use crate::expr::{self, Condition, ExprContext, Projection, SortKeyCondition};
use crate::ops::{BatchGet, BatchGetOutput, GetItem, Page, Query, Scan, TransactGet};
use crate::schema::{IndexProjection, IndexSchema, KeySchema};
use crate::value::{Item, Value, item_size};

use super::keys;
use super::layout::Layout;
use super::prepare::{self, MAX_BATCH_GETS, MAX_TRANSACT_ITEMS, Tables};
use super::{rows, storage_error};

/// A range of storage keys: lower and upper bound.
type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// A query or scan page ends once this many bytes of items were read (DynamoDB's 1 MB).
const PAGE_BYTES: usize = 1024 * 1024;

fn begin(db: &Database) -> Result<ReadTransaction, DataError> {
    db.begin_read().map_err(storage_error)
}

fn read_item(
    txn: &ReadTransaction,
    layout: &Layout,
    key: &[u8],
) -> Result<Option<Item>, DataError> {
    let items = txn.open_table(layout.items_def()).map_err(storage_error)?;
    let stored = items.get(key).map_err(storage_error)?;
    stored
        .map(|bytes| rows::decode_item(bytes.value()))
        .transpose()
}

/// `GetItem`.
pub fn get(db: &Database, tables: &Tables, request: GetItem) -> Result<Option<Item>, DataError> {
    let projection = prepare::projection(request.projection.as_deref(), &request.names)?;
    let target = prepare::target(tables, &request.table, request.key)?;
    let txn = begin(db)?;
    let item = read_item(&txn, &target.layout, &target.key_bytes)?;
    Ok(item.map(|item| project(projection.as_ref(), item)))
}

fn project(projection: Option<&Projection>, item: Item) -> Item {
    match projection {
        Some(projection) => projection.apply(&item),
        None => item,
    }
}

/// `BatchGetItem`: every key is read (the embedded store never throttles).
pub fn batch_get(
    db: &Database,
    tables: &Tables,
    request: BatchGet,
) -> Result<BatchGetOutput, DataError> {
    let total: usize = request.tables.values().map(|t| t.keys.len()).sum();
    if total == 0 || total > MAX_BATCH_GETS {
        return Err(DataError::validation(format!(
            "Too many items requested for the BatchGetItem call (1 to {MAX_BATCH_GETS} keys)"
        )));
    }
    let mut reads = Vec::with_capacity(request.tables.len());
    for (name, keys_and_projection) in request.tables {
        let projection = prepare::projection(
            keys_and_projection.projection.as_deref(),
            &keys_and_projection.names,
        )?;
        let mut seen = HashSet::new();
        let mut targets = Vec::with_capacity(keys_and_projection.keys.len());
        for key in keys_and_projection.keys {
            let target = prepare::target(tables, &name, key)?;
            if !seen.insert(target.key_bytes.clone()) {
                return Err(DataError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            targets.push(target);
        }
        reads.push((name, projection, targets));
    }
    let txn = begin(db)?;
    let mut responses = BTreeMap::new();
    for (name, projection, targets) in reads {
        let mut found = Vec::new();
        for target in targets {
            if let Some(item) = read_item(&txn, &target.layout, &target.key_bytes)? {
                found.push(project(projection.as_ref(), item));
            }
        }
        responses.insert(name, found);
    }
    Ok(BatchGetOutput {
        responses,
        unprocessed: BTreeMap::new(),
    })
}

/// `TransactGetItems`: all reads from one snapshot.
pub fn transact_get(
    db: &Database,
    tables: &Tables,
    request: TransactGet,
) -> Result<Vec<Option<Item>>, DataError> {
    if request.items.is_empty() || request.items.len() > MAX_TRANSACT_ITEMS {
        return Err(DataError::validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACT_ITEMS} and greater than or equal to 1"
        )));
    }
    let mut seen = HashSet::new();
    let mut reads = Vec::with_capacity(request.items.len());
    let mut reasons = Vec::with_capacity(request.items.len());
    for read in request.items {
        let projection = prepare::projection(read.projection.as_deref(), &read.names)?;
        let target = match prepare::target(tables, &read.table, read.key) {
            Ok(target) => target,
            Err(error) if prepare::is_item_level(&error) => {
                reasons.push(CancellationReason {
                    code: CancellationCode::ValidationError,
                    message: Some(error.message()),
                    item: None,
                });
                continue;
            }
            Err(error) => return Err(error),
        };
        if !seen.insert((read.table, target.key_bytes.clone())) {
            return Err(DataError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        reasons.push(CancellationReason::none());
        reads.push((projection, target));
    }
    if reasons.iter().any(|r| r.code != CancellationCode::None) {
        return Err(DataError::TransactionCanceled { reasons });
    }
    let txn = begin(db)?;
    reads
        .into_iter()
        .map(|(projection, target)| {
            Ok(read_item(&txn, &target.layout, &target.key_bytes)?
                .map(|item| project(projection.as_ref(), item)))
        })
        .collect()
}

/// What a query or scan reads: the table or one of its indexes.
struct Source<'a> {
    layout: &'a Layout,
    index: Option<(&'a IndexSchema, &'a str)>,
}

impl<'a> Source<'a> {
    fn new(layout: &'a Layout, index: Option<&str>, consistent: bool) -> Result<Self, DataError> {
        let index = match index {
            None => None,
            Some(name) => {
                let (schema, table) = layout.index(name).ok_or_else(|| {
                    DataError::validation(format!(
                        "The table does not have the specified index: {name}"
                    ))
                })?;
                if consistent && layout.schema.global_indexes.iter().any(|g| g.name == name) {
                    return Err(DataError::validation(
                        "Consistent reads are not supported on global secondary indexes",
                    ));
                }
                Some((schema, table.as_str()))
            }
        };
        Ok(Self { layout, index })
    }

    /// The key the source is ordered by.
    fn key(&self) -> &KeySchema {
        self.index
            .map_or(&self.layout.schema.key, |(index, _)| &index.key)
    }

    fn is_global_index(&self) -> bool {
        self.index.is_some_and(|(index, _)| {
            self.layout
                .schema
                .global_indexes
                .iter()
                .any(|g| g.name == index.name)
        })
    }

    /// The storage position of an item (for `ExclusiveStartKey`).
    fn position(&self, key: &Item) -> Result<Vec<u8>, DataError> {
        let invalid = || {
            DataError::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            )
        };
        let table_key = &self.layout.schema.key;
        let mut position = match self.index {
            Some((index, _)) => keys::encode_key(&index.key, key).ok_or_else(invalid)?,
            None => Vec::new(),
        };
        table_key
            .validate_key(&table_key.key_of(key).ok_or_else(invalid)?)
            .map_err(|_| invalid())?;
        position.extend(keys::encode_key(table_key, key).ok_or_else(invalid)?);
        Ok(position)
    }

    /// The key attributes that identify an item's position: table key, plus the index key.
    fn last_key(&self, item: &Item) -> Item {
        let mut key = self.layout.schema.key.key_of(item).unwrap_or_default();
        if let Some((index, _)) = self.index {
            key.extend(index.key.key_of(item).unwrap_or_default());
        }
        key
    }

    /// The attributes an index holds of an item.
    fn index_view(&self, item: Item) -> Item {
        let Some((index, _)) = self.index else {
            return item;
        };
        let keep = |name: &str| {
            self.layout.schema.key.is_key_attribute(name)
                || index.key.is_key_attribute(name)
                || match &index.projection {
                    IndexProjection::All => true,
                    IndexProjection::KeysOnly => false,
                    IndexProjection::Include(names) => names.iter().any(|n| n == name),
                }
        };
        item.into_iter().filter(|(name, _)| keep(name)).collect()
    }

    /// Reads entries in `range`, in order or reversed, handing each item to `visit`
    /// until it returns `false`.
    fn walk(
        &self,
        txn: &ReadTransaction,
        range: Range,
        forward: bool,
        mut visit: impl FnMut(Vec<u8>, Item) -> Result<bool, DataError>,
    ) -> Result<(), DataError> {
        let items = txn
            .open_table(self.layout.items_def())
            .map_err(storage_error)?;
        let bounds = (as_slice(&range.0), as_slice(&range.1));
        if let Some((_, name)) = self.index {
            let def: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(name);
            let index = txn.open_table(def).map_err(storage_error)?;
            let entries = index.range::<&[u8]>(bounds).map_err(storage_error)?;
            let entries: Box<dyn Iterator<Item = _>> = if forward {
                Box::new(entries)
            } else {
                Box::new(entries.rev())
            };
            for entry in entries {
                let (_, primary) = entry.map_err(storage_error)?;
                let primary = primary.value().to_vec();
                let Some(stored) = items.get(primary.as_slice()).map_err(storage_error)? else {
                    continue;
                };
                let item = rows::decode_item(stored.value())?;
                if !visit(primary, item)? {
                    break;
                }
            }
        } else {
            let entries = items.range::<&[u8]>(bounds).map_err(storage_error)?;
            let entries: Box<dyn Iterator<Item = _>> = if forward {
                Box::new(entries)
            } else {
                Box::new(entries.rev())
            };
            for entry in entries {
                let (key, stored) = entry.map_err(storage_error)?;
                let item = rows::decode_item(stored.value())?;
                if !visit(key.value().to_vec(), item)? {
                    break;
                }
            }
        }
        Ok(())
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(bytes) => Bound::Included(bytes.as_slice()),
        Bound::Excluded(bytes) => Bound::Excluded(bytes.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn check_limit(limit: Option<u32>) -> Result<Option<usize>, DataError> {
    match limit {
        Some(0) => Err(DataError::validation(
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        )),
        Some(limit) => Ok(Some(usize::try_from(limit).unwrap_or(usize::MAX))),
        None => Ok(None),
    }
}

/// Collects one page: counts evaluated items, applies the filter and projection, and
/// stops at the limit or after 1 MB.
struct PageBuilder<'a> {
    source: &'a Source<'a>,
    filter: Option<Condition>,
    projection: Option<Projection>,
    limit: Option<usize>,
    count_only: bool,
    bytes: usize,
    page: Page,
}

impl PageBuilder<'_> {
    /// Takes one evaluated item; `false` once the page is full.
    fn take(&mut self, item: Item) -> Result<bool, DataError> {
        self.page.scanned_count += 1;
        self.bytes += item_size(&item);
        let full = self
            .limit
            .is_some_and(|limit| self.page.scanned_count as usize >= limit)
            || self.bytes >= PAGE_BYTES;
        if full {
            self.page.last_evaluated_key = Some(self.source.last_key(&item));
        }
        // A local index can fetch unprojected attributes from the table when the
        // projection names them; a global index cannot.
        let view = if self.projection.is_some() && !self.source.is_global_index() {
            item
        } else {
            self.source.index_view(item)
        };
        let passes = match &self.filter {
            Some(filter) => filter.evaluate(&view)?,
            None => true,
        };
        if passes {
            self.page.count += 1;
            if !self.count_only {
                self.page
                    .items
                    .push(project(self.projection.as_ref(), view));
            }
        }
        Ok(!full)
    }
}

/// Parses a read's optional filter and projection.
fn filter_and_projection(
    filter: Option<&str>,
    projection: Option<&str>,
    ctx: &mut ExprContext<'_>,
) -> Result<(Option<Condition>, Option<Projection>), DataError> {
    let filter = filter.map(|f| expr::parse_filter(f, ctx)).transpose()?;
    let projection = projection
        .map(|p| expr::parse_projection(p, ctx))
        .transpose()?;
    Ok((filter, projection))
}

/// `Query`.
pub fn query(db: &Database, tables: &Tables, request: &Query) -> Result<Page, DataError> {
    let layout = prepare::table(tables, &request.table)?;
    let source = Source::new(layout, request.index.as_deref(), request.consistent)?;
    let limit = check_limit(request.limit)?;
    let mut ctx = ExprContext::new(&request.placeholders);
    let condition = expr::parse_key_condition(&request.key_condition, &mut ctx, source.key())?;
    let (filter, projection) = filter_and_projection(
        request.filter.as_deref(),
        request.projection.as_deref(),
        &mut ctx,
    )?;
    ctx.finish()?;
    if let Some(filter) = &filter
        && let Some(key) = filter
            .top_level_attributes()
            .into_iter()
            .find(|a| source.key().is_key_attribute(a))
    {
        return Err(DataError::validation(format!(
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {key}"
        )));
    }

    let mut partition = Vec::new();
    keys::encode_value(&condition.partition, &mut partition);
    let (mut low, mut high) = sort_range(&partition, condition.sort.as_ref())?;
    if let Some(start) = &request.exclusive_start_key {
        let position = source.position(start)?;
        if request.forward {
            low = after_start(low, position, true);
        } else {
            high = after_start(high, position, false);
        }
    }
    let sort_attribute = source.key().sort.as_ref().map(|a| a.name.clone());
    let mut page = PageBuilder {
        source: &source,
        filter,
        projection,
        limit,
        count_only: request.count_only,
        bytes: 0,
        page: Page::default(),
    };
    let txn = begin(db)?;
    source.walk(&txn, (low, high), request.forward, |_, item| {
        if let (Some(sort), Some(name)) = (&condition.sort, &sort_attribute)
            && !item.get(name).is_some_and(|value| sort.matches(value))
        {
            return Ok(true);
        }
        page.take(item)
    })?;
    Ok(page.page)
}

/// `Scan`.
pub fn scan(db: &Database, tables: &Tables, request: &Scan) -> Result<Page, DataError> {
    let layout = prepare::table(tables, &request.table)?;
    let source = Source::new(layout, request.index.as_deref(), request.consistent)?;
    let limit = check_limit(request.limit)?;
    if let Some(segment) = request.segment
        && (segment.total == 0 || segment.total > 1_000_000 || segment.segment >= segment.total)
    {
        return Err(DataError::validation(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments (1 to 1000000)",
        ));
    }
    let mut ctx = ExprContext::new(&request.placeholders);
    let (filter, projection) = filter_and_projection(
        request.filter.as_deref(),
        request.projection.as_deref(),
        &mut ctx,
    )?;
    ctx.finish()?;

    let low = match &request.exclusive_start_key {
        Some(start) => Bound::Excluded(source.position(start)?),
        None => Bound::Unbounded,
    };
    let mut page = PageBuilder {
        source: &source,
        filter,
        projection,
        limit,
        count_only: request.count_only,
        bytes: 0,
        page: Page::default(),
    };
    let txn = begin(db)?;
    source.walk(&txn, (low, Bound::Unbounded), true, |primary, item| {
        if let Some(segment) = request.segment
            && segment_of(&primary, segment.total) != segment.segment
        {
            return Ok(true);
        }
        page.take(item)
    })?;
    Ok(page.page)
}

/// The parallel-scan segment of an item: FNV-1a of its primary key, modulo `total`.
fn segment_of(primary: &[u8], total: u32) -> u32 {
    let hash = primary
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    u32::try_from(hash % u64::from(total.max(1))).unwrap_or(0)
}

fn after(prefix: &[u8]) -> Bound<Vec<u8>> {
    keys::prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded)
}

fn with(partition: &[u8], value: &Value) -> Vec<u8> {
    let mut bytes = partition.to_vec();
    keys::encode_value(value, &mut bytes);
    bytes
}

/// The byte range of a partition narrowed by a sort-key condition.
fn sort_range(partition: &[u8], sort: Option<&SortKeyCondition>) -> Result<Range, DataError> {
    let whole = (Bound::Included(partition.to_vec()), after(partition));
    let Some(sort) = sort else { return Ok(whole) };
    Ok(match sort {
        SortKeyCondition::Eq(v) => (
            Bound::Included(with(partition, v)),
            after(&with(partition, v)),
        ),
        SortKeyCondition::Lt(v) => (whole.0, Bound::Excluded(with(partition, v))),
        SortKeyCondition::Le(v) => (whole.0, after(&with(partition, v))),
        SortKeyCondition::Gt(v) => (after_bound(&with(partition, v)), whole.1),
        SortKeyCondition::Ge(v) => (Bound::Included(with(partition, v)), whole.1),
        SortKeyCondition::Between(a, b) => {
            let (low, high) = (with(partition, a), with(partition, b));
            if low > high {
                return Err(DataError::validation(
                    "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound",
                ));
            }
            (Bound::Included(low), after(&high))
        }
        SortKeyCondition::BeginsWith(v) => {
            let mut prefix = partition.to_vec();
            match v {
                Value::S(text) => keys::encode_prefix(text.as_bytes(), &mut prefix),
                Value::B(bytes) => keys::encode_prefix(bytes, &mut prefix),
                _ => return Ok(whole),
            }
            (Bound::Included(prefix.clone()), after(&prefix))
        }
    })
}

/// The lower bound just past every key that starts with `prefix`.
fn after_bound(prefix: &[u8]) -> Bound<Vec<u8>> {
    keys::prefix_end(prefix).map_or(Bound::Excluded(prefix.to_vec()), Bound::Included)
}

/// `bound` narrowed to exclude everything up to (`lower`) or from (`!lower`) `start`:
/// whichever of the two is tighter.
fn after_start(bound: Bound<Vec<u8>>, start: Vec<u8>, lower: bool) -> Bound<Vec<u8>> {
    let tighter = match &bound {
        Bound::Unbounded => true,
        Bound::Included(key) | Bound::Excluded(key) => {
            if lower {
                start >= *key
            } else {
                start <= *key
            }
        }
    };
    if tighter {
        Bound::Excluded(start)
    } else {
        bound
    }
}
