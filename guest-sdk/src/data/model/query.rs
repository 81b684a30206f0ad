//! [`ModelQuery`] (with the index chosen from the key conditions) and [`ModelScan`].

use std::borrow::Borrow;
use std::marker::PhantomData;

use super::key::{render, template_fields};
use super::{Error, Field, IndexDef, IntoField, KeyDef, Model, ModelExt, Part};
use crate::data::{Condition, Item, Page, Query, Scan, Value, attr};

/// One page of model items.
#[derive(Debug)]
pub struct ModelPage<M> {
    /// The items that passed the filter.
    pub items: Vec<M>,
    /// How many items were read, before the filter.
    pub scanned_count: u32,
    /// Where the next page starts (give it to `start_after`); `None` on the last page.
    pub last_evaluated_key: Option<Item>,
}

fn typed<M: Model>(page: Page) -> Result<ModelPage<M>, Error> {
    Ok(ModelPage {
        items: page
            .items
            .into_iter()
            .map(M::from_item)
            .collect::<Result<_, _>>()?,
        scanned_count: page.scanned_count,
        last_evaluated_key: page.last_evaluated_key,
    })
}

/// Decodes the items of `pages` into `out` until it holds `cap`; `false` once full.
pub(crate) fn collect<T>(
    pages: impl Iterator<Item = Result<Page, crate::data::Error>>,
    cap: usize,
    out: &mut Vec<T>,
    mut decode: impl FnMut(Item) -> Result<T, Error>,
) -> Result<bool, Error> {
    for page in pages {
        for item in page?.items {
            if out.len() >= cap {
                return Ok(false);
            }
            out.push(decode(item)?);
        }
    }
    Ok(true)
}

/// `condition`, ANDed with what `slot` already holds.
pub(crate) fn and_into(slot: &mut Option<Condition>, condition: Condition) {
    *slot = Some(match slot.take() {
        Some(c) => c.and(condition),
        None => condition,
    });
}

/// A comparison given for a key attribute.
#[derive(Clone, Debug)]
enum Op {
    Eq(Value),
    Lt(Value),
    Le(Value),
    Gt(Value),
    Ge(Value),
    Between(Value, Value),
    BeginsWith(String),
}

impl Op {
    fn condition(&self, name: &str) -> Condition {
        let a = attr(name);
        match self {
            Op::Eq(v) => a.eq(v.clone()),
            Op::Lt(v) => a.lt(v.clone()),
            Op::Le(v) => a.le(v.clone()),
            Op::Gt(v) => a.gt(v.clone()),
            Op::Ge(v) => a.ge(v.clone()),
            Op::Between(l, h) => a.between(l.clone(), h.clone()),
            Op::BeginsWith(p) => a.begins_with(p.as_str()),
        }
    }

    fn apply<'a>(&self, query: Query<'a>, name: &str) -> Query<'a> {
        match self {
            Op::Eq(v) => query.sk_eq(name, v.clone()),
            Op::Lt(v) => query.sk_lt(name, v.clone()),
            Op::Le(v) => query.sk_le(name, v.clone()),
            Op::Gt(v) => query.sk_gt(name, v.clone()),
            Op::Ge(v) => query.sk_ge(name, v.clone()),
            Op::Between(l, h) => query.sk_between(name, l.clone(), h.clone()),
            Op::BeginsWith(p) => query.sk_begins_with(name, p.as_str()),
        }
    }
}

/// The key one candidate (the table or an index) would use.
struct Plan {
    index: Option<&'static str>,
    partition: (&'static str, Value),
    sort: Option<(&'static str, Op)>,
    /// Indices of the conditions the key used; the others become filters.
    used: Vec<usize>,
}

/// A query of `M`'s items, from [`ModelExt::query`].
///
/// Give conditions on fields with [`eq`](Self::eq) and the comparisons; the table's key
/// or a declared index is chosen from them: one whose partition key they fix (for a
/// template, every field it names), preferring the one whose sort key also takes a
/// condition (a sort template with its leading fields fixed becomes `begins_with`).
/// Conditions no key uses become filters. [`using`](Self::using) forces a choice, and
/// [`plan`](Self::plan) says what was chosen.
///
/// ```no_run
/// # use portico_guest::data::model::{Model, ModelExt};
/// # #[derive(Model)] #[model(table = "shop", pk = "C#{customer}", sk = "O#{id}")]
/// # #[model(index(name = "by_status", pk = "status", sk = "created"))]
/// # struct Order { customer: String, id: String, status: String, created: i64 }
/// # fn f() -> Result<(), portico_guest::data::model::Error> {
/// let open = Order::query()
///     .eq(Order::fields().status, "open")
///     .gt(Order::fields().created, 1_700_000_000_000)
///     .all(500)?;
/// # Ok(()) }
/// ```
pub struct ModelQuery<M: Model> {
    conditions: Vec<(&'static str, Op)>,
    filter: Option<Condition>,
    using: Option<&'static str>,
    limit: Option<u32>,
    forward: bool,
    consistent: bool,
    start: Option<Item>,
    error: Option<Error>,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> ModelQuery<M> {
    pub(crate) fn new() -> Self {
        ModelQuery {
            conditions: Vec::new(),
            filter: None,
            using: None,
            limit: None,
            forward: true,
            consistent: false,
            start: None,
            error: None,
            model: PhantomData,
        }
    }

    fn push<T: serde::Serialize>(
        mut self,
        field: &Field<T>,
        value: &T,
        op: impl FnOnce(Value) -> Op,
    ) -> Self {
        if field.is_nested() {
            self.error.get_or_insert(Error::NoIndex {
                model: M::SCHEMA.name,
                message: format!(
                    "`{}` is inside an attribute; key conditions take top-level fields (use `filter`)",
                    field.path()
                ),
            });
            return self;
        }
        match field.value_of(value) {
            Ok(v) => self.conditions.push((field.attribute(), op(v))),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// `field = value`.
    pub fn eq<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        self.push(field.borrow(), &value.into_field(), Op::Eq)
    }

    /// `field < value` (a sort key).
    pub fn lt<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        self.push(field.borrow(), &value.into_field(), Op::Lt)
    }

    /// `field <= value` (a sort key).
    pub fn le<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        self.push(field.borrow(), &value.into_field(), Op::Le)
    }

    /// `field > value` (a sort key).
    pub fn gt<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        self.push(field.borrow(), &value.into_field(), Op::Gt)
    }

    /// `field >= value` (a sort key).
    pub fn ge<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        self.push(field.borrow(), &value.into_field(), Op::Ge)
    }

    /// `field BETWEEN low AND high` (a sort key).
    pub fn between<T: serde::Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        low: impl IntoField<T>,
        high: impl IntoField<T>,
    ) -> Self {
        let field = field.borrow();
        let high = high.into_field();
        let high = match field.value_of(&high) {
            Ok(v) => v,
            Err(e) => {
                let mut s = self;
                s.error.get_or_insert(e);
                return s;
            }
        };
        self.push(field, &low.into_field(), |low| Op::Between(low, high))
    }

    /// `begins_with(field, prefix)` (a string sort key).
    pub fn begins_with<T: serde::Serialize>(
        mut self,
        field: impl Borrow<Field<T>>,
        prefix: &str,
    ) -> Self {
        self.conditions.push((
            field.borrow().attribute(),
            Op::BeginsWith(prefix.to_owned()),
        ));
        self
    }

    /// A filter on the items read (after `limit`), ANDed with the others.
    pub fn filter(mut self, condition: Condition) -> Self {
        and_into(&mut self.filter, condition);
        self
    }

    /// Queries this declared index (or `"table"` for the table's own key), whatever the
    /// conditions would choose.
    pub fn using(mut self, index: &'static str) -> Self {
        self.using = Some(index);
        self
    }

    /// Reads at most `n` items per page (before the filter).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Strongly consistent reads (not on global indexes).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Starts after this key: a previous page's `last_evaluated_key`.
    pub fn start_after(mut self, key: Item) -> Self {
        self.start = Some(key);
        self
    }

    /// Which key the query uses and how: `index by_status: status = "open", created > …`.
    ///
    /// # Errors
    /// [`Error::NoIndex`] naming why each candidate does not fit.
    pub fn plan(&self) -> Result<String, Error> {
        let plan = self.choose()?;
        let mut text = match plan.index {
            Some(name) => format!("index {name}: "),
            None => "table: ".to_owned(),
        };
        text.push_str(&format!("{} = {:?}", plan.partition.0, plan.partition.1));
        if let Some((name, op)) = &plan.sort {
            text.push_str(&format!(", {name} {op:?}"));
        }
        let filters: Vec<&str> = (0..self.conditions.len())
            .filter(|i| !plan.used.contains(i))
            .map(|i| self.conditions[i].0)
            .collect();
        if !filters.is_empty() {
            text.push_str(&format!("; filters on {}", filters.join(", ")));
        }
        Ok(text)
    }

    fn choose(&self) -> Result<Plan, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let schema = M::SCHEMA;
        let table = (None, &schema.partition, schema.sort.as_ref());
        let indexes = schema
            .indexes
            .iter()
            .map(|i: &IndexDef| (Some(i.name), &i.partition, i.sort.as_ref()));
        let candidates: Vec<_> = std::iter::once(table).chain(indexes).collect();
        let candidates: Vec<_> = match self.using {
            None => candidates,
            Some(name) => {
                let forced: Vec<_> = candidates
                    .into_iter()
                    .filter(|(index, ..)| index.unwrap_or("table") == name)
                    .collect();
                if forced.is_empty() {
                    return Err(Error::NoIndex {
                        model: schema.name,
                        message: format!(
                            "`using(\"{name}\")`, but the model declares no index `{name}`"
                        ),
                    });
                }
                forced
            }
        };
        let mut best: Option<Plan> = None;
        let mut reasons = Vec::new();
        for (index, partition, sort) in candidates {
            match self.fit(index, partition, sort) {
                Ok(plan) => {
                    if best.as_ref().is_none_or(|b| plan.used.len() > b.used.len()) {
                        best = Some(plan);
                    }
                }
                Err(reason) => reasons.push(reason),
            }
        }
        best.ok_or_else(|| Error::NoIndex {
            model: schema.name,
            message: format!(
                "{}; give `eq` conditions on those fields, or declare an index whose partition key you fix",
                reasons.join("; ")
            ),
        })
    }

    /// The plan `index` allows, or why it does not fit.
    fn fit(
        &self,
        index: Option<&'static str>,
        partition: &KeyDef,
        sort: Option<&KeyDef>,
    ) -> Result<Plan, String> {
        let what = match index {
            Some(name) => format!("index `{name}`"),
            None => "the table's key".to_owned(),
        };
        let mut used = Vec::new();
        let eq = |name: &str| {
            self.conditions
                .iter()
                .enumerate()
                .find_map(|(i, (a, op))| match op {
                    Op::Eq(v) if *a == name => Some((i, v)),
                    _ => None,
                })
        };
        let partition_value = match partition.template {
            None => {
                let Some((i, value)) = eq(partition.attribute) else {
                    return Err(format!("{what} needs `{} =`", partition.attribute));
                };
                used.push(i);
                value.clone()
            }
            Some(parts) => {
                let missing: Vec<&str> =
                    template_fields(parts).filter(|f| eq(f).is_none()).collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "{what} (`{}`) needs {}",
                        partition.attribute,
                        missing
                            .iter()
                            .map(|f| format!("`{f} =`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ));
                }
                used.extend(template_fields(parts).filter_map(|f| eq(f).map(|(i, _)| i)));
                Value::S(
                    self.render_prefix(parts, parts.len())
                        .map_err(|e| e.to_string())?,
                )
            }
        };
        let sort = match sort {
            None => None,
            Some(def) => match def.template {
                None => self
                    .conditions
                    .iter()
                    .position(|(a, _)| *a == def.attribute)
                    .map(|i| {
                        used.push(i);
                        (def.attribute, self.conditions[i].1.clone())
                    }),
                Some(parts) => self.template_sort(def, parts, &mut used),
            },
        };
        used.sort_unstable();
        used.dedup();
        Ok(Plan {
            index,
            partition: (partition.attribute, partition_value),
            sort,
            used,
        })
    }

    /// A sort template: all fields fixed → `=`; the leading ones → `begins_with` the
    /// text up to the first field not fixed.
    fn template_sort(
        &self,
        def: &KeyDef,
        parts: &'static [Part],
        used: &mut Vec<usize>,
    ) -> Option<(&'static str, Op)> {
        let mut upto = 0;
        for (i, part) in parts.iter().enumerate() {
            if let Part::Field(f) = part {
                match self
                    .conditions
                    .iter()
                    .position(|(a, op)| a == f && matches!(op, Op::Eq(_)))
                {
                    Some(c) => used.push(c),
                    None => break,
                }
            }
            upto = i + 1;
        }
        let text = self.render_prefix(parts, upto).ok()?;
        if upto == parts.len() {
            Some((def.attribute, Op::Eq(Value::S(text))))
        } else if text.is_empty() {
            None
        } else {
            Some((def.attribute, Op::BeginsWith(text)))
        }
    }

    fn render_prefix(&self, parts: &[Part], upto: usize) -> Result<String, Error> {
        render(
            parts,
            |name| {
                self.conditions.iter().find_map(|(a, op)| match op {
                    Op::Eq(v) if *a == name => Some(v),
                    _ => None,
                })
            },
            upto,
        )
    }

    fn build(&self, count_only: bool) -> Result<Query<'static>, Error> {
        let plan = self.choose()?;
        let mut query = M::table()?.query();
        if let Some(index) = plan.index {
            query = query.index(index);
        }
        query = query.pk(plan.partition.0, plan.partition.1);
        if let Some((name, op)) = &plan.sort {
            query = op.apply(query, name);
        }
        let filters = (0..self.conditions.len())
            .filter(|i| !plan.used.contains(i))
            .map(|i| self.conditions[i].1.condition(self.conditions[i].0))
            .chain(self.filter.clone())
            .chain(M::SCHEMA.entity_filter());
        if let Some(filter) = filters.reduce(Condition::and) {
            query = query.filter(filter);
        }
        if let Some(n) = self.limit {
            query = query.limit(n);
        }
        if let Some(start) = &self.start {
            query = query.start_after(start.clone());
        }
        if self.consistent {
            query = query.consistent();
        }
        if count_only {
            query = query.count_only();
        }
        Ok(query.forward(self.forward))
    }

    /// Reads one page.
    ///
    /// # Errors
    /// [`Error::NoIndex`], a data error, or an item not fitting the model.
    pub fn send(&self) -> Result<ModelPage<M>, Error> {
        typed(self.build(false)?.send()?)
    }

    /// Every matching item, following pages, stopping once `cap` items were found.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn all(&self, cap: usize) -> Result<Vec<M>, Error> {
        let mut out = Vec::new();
        collect(self.build(false)?.pages(), cap, &mut out, M::from_item)?;
        Ok(out)
    }

    /// How many items match, following pages (`Select = COUNT`).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn count(&self) -> Result<u64, Error> {
        let mut n = 0u64;
        for page in self.build(true)?.pages() {
            n += u64::from(page?.count);
        }
        Ok(n)
    }
}

/// A scan of `M`'s items, from [`ModelExt::scan`]: its entity only, when it has one.
pub struct ModelScan<M: Model> {
    start: Option<Item>,
    filter: Option<Condition>,
    using: Option<&'static str>,
    limit: Option<u32>,
    segments: u32,
    segment: Option<(u32, u32)>,
    consistent: bool,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> ModelScan<M> {
    pub(crate) fn new() -> Self {
        ModelScan {
            start: None,
            filter: None,
            using: None,
            limit: None,
            segments: 1,
            segment: None,
            consistent: false,
            model: PhantomData,
        }
    }

    /// A filter, ANDed with the others.
    pub fn filter(mut self, condition: Condition) -> Self {
        and_into(&mut self.filter, condition);
        self
    }

    /// Scans this index instead of the table.
    pub fn using(mut self, index: &'static str) -> Self {
        self.using = Some(index);
        self
    }

    /// Reads at most `n` items per page (before the filter).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Strongly consistent reads.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// A parallel scan in `n` segments. A guest runs one call at a time, so
    /// [`all`](Self::all) reads the segments one after another; to spread them over
    /// invocations, give each its [`segment`](Self::segment).
    pub fn parallel(mut self, n: u32) -> Self {
        self.segments = n.max(1);
        self
    }

    /// Starts after this key: a previous page's `last_evaluated_key`.
    pub fn start_after(mut self, key: Item) -> Self {
        self.start = Some(key);
        self
    }

    /// Only segment `segment` of `total`.
    pub fn segment(mut self, segment: u32, total: u32) -> Self {
        self.segment = Some((segment, total));
        self
    }

    fn build(&self, segment: Option<(u32, u32)>, count_only: bool) -> Result<Scan<'static>, Error> {
        let mut scan = M::table()?.scan();
        if let Some(index) = self.using {
            scan = scan.index(index);
        }
        let filters = self
            .filter
            .clone()
            .into_iter()
            .chain(M::SCHEMA.entity_filter());
        if let Some(filter) = filters.reduce(Condition::and) {
            scan = scan.filter(filter);
        }
        if let Some(n) = self.limit {
            scan = scan.limit(n);
        }
        if let Some((segment, total)) = segment {
            scan = scan.segment(segment, total);
        }
        if let Some(start) = &self.start {
            scan = scan.start_after(start.clone());
        }
        if self.consistent {
            scan = scan.consistent();
        }
        if count_only {
            scan = scan.count_only();
        }
        Ok(scan)
    }

    fn segments(&self) -> Vec<Option<(u32, u32)>> {
        match (self.segment, self.segments) {
            (Some(s), _) => vec![Some(s)],
            (None, 1) => vec![None],
            (None, n) => (0..n).map(|i| Some((i, n))).collect(),
        }
    }

    /// Reads one page (of the first segment).
    ///
    /// # Errors
    /// A data error, or an item not fitting the model.
    pub fn send(&self) -> Result<ModelPage<M>, Error> {
        let first = self.segments().into_iter().next().flatten();
        typed(self.build(first, false)?.send()?)
    }

    /// Every item, following pages of every segment, stopping at `cap`.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn all(&self, cap: usize) -> Result<Vec<M>, Error> {
        let mut out = Vec::new();
        for segment in self.segments() {
            if !collect(
                self.build(segment, false)?.pages(),
                cap,
                &mut out,
                M::from_item,
            )? {
                break;
            }
        }
        Ok(out)
    }

    /// How many items match, over every segment.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn count(&self) -> Result<u64, Error> {
        let mut n = 0u64;
        for segment in self.segments() {
            for page in self.build(segment, true)?.pages() {
                n += u64::from(page?.count);
            }
        }
        Ok(n)
    }
}
