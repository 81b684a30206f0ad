//! The tables models use, opened once per instance, and each model checked once
//! against its table's `describe`.
//!
//! A guest instance is single-threaded and lives for one request (or, with instance
//! reuse, a few): the registry is a thread-local list, and the tables it opens are
//! leaked for the instance's lifetime so that builders can borrow them as `'static`.

use std::cell::RefCell;

use super::{Error, KeyDef, KeyKind, Model, Schema};
use crate::data::{KeySchema, KeyType, Table, TableDescription};

struct Opened {
    name: &'static str,
    table: &'static Table,
    description: Option<TableDescription>,
}

thread_local! {
    static TABLES: RefCell<Vec<Opened>> = const { RefCell::new(Vec::new()) };
    static CHECKED: RefCell<Vec<*const Schema>> = const { RefCell::new(Vec::new()) };
}

/// The model's table, checked against the model the first time.
pub(crate) fn table<M: Model>() -> Result<&'static Table, Error> {
    let schema = M::SCHEMA;
    let table = open(schema.table)?;
    let checked = CHECKED.with(|c| c.borrow().contains(&(schema as *const Schema)));
    if !checked {
        let description = describe(schema.table, table)?;
        check(schema, &description)?;
        CHECKED.with(|c| c.borrow_mut().push(schema as *const Schema));
    }
    Ok(table)
}

/// Opens `name` once per instance.
pub(crate) fn open(name: &'static str) -> Result<&'static Table, Error> {
    if let Some(table) =
        TABLES.with(|t| t.borrow().iter().find(|o| o.name == name).map(|o| o.table))
    {
        return Ok(table);
    }
    let table: &'static Table = Box::leak(Box::new(Table::open(name)?));
    TABLES.with(|t| {
        t.borrow_mut().push(Opened {
            name,
            table,
            description: None,
        });
    });
    Ok(table)
}

fn describe(name: &'static str, table: &Table) -> Result<TableDescription, Error> {
    if let Some(d) = TABLES.with(|t| {
        t.borrow()
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.description.clone())
    }) {
        return Ok(d);
    }
    let description = table.describe()?;
    TABLES.with(|t| {
        if let Some(o) = t.borrow_mut().iter_mut().find(|o| o.name == name) {
            o.description = Some(description.clone());
        }
    });
    Ok(description)
}

/// Compares a model with its table: the primary key, each declared index, the TTL
/// attribute.
pub(crate) fn check(schema: &Schema, table: &TableDescription) -> Result<(), Error> {
    let fail = |message: String| Err(Error::schema(schema.name, message));
    if let Err(message) = same_key(
        &schema.partition,
        schema.sort.as_ref(),
        &table.key,
        &format!("table `{}`", table.name),
    ) {
        return fail(message);
    }
    for index in schema.indexes {
        let Some(declared) = table.index(index.name) else {
            return fail(format!(
                "table `{}` has no index `{}` (the manifest declares {})",
                table.name,
                index.name,
                names(table)
            ));
        };
        let global = table.global_indexes.iter().any(|i| i.name == index.name);
        if global != index.global {
            return fail(format!(
                "index `{}` is {} in the manifest, {} in the model",
                index.name,
                kind(global),
                kind(index.global)
            ));
        }
        if let Err(message) = same_key(
            &index.partition,
            index.sort.as_ref(),
            &declared.key,
            &format!("index `{}`", index.name),
        ) {
            return fail(message);
        }
    }
    match (schema.ttl, table.ttl_attribute.as_deref()) {
        (Some(model), Some(table_ttl)) if model != table_ttl => fail(format!(
            "the model's TTL attribute is `{model}`, the table's is `{table_ttl}`"
        )),
        (Some(model), None) => fail(format!(
            "the model has a TTL attribute `{model}` but table `{}` has no `ttl_attribute`",
            table.name
        )),
        _ => Ok(()),
    }
}

fn kind(global: bool) -> &'static str {
    if global { "global" } else { "local" }
}

fn names(table: &TableDescription) -> String {
    let all: Vec<String> = table
        .global_indexes
        .iter()
        .chain(&table.local_indexes)
        .map(|i| format!("`{}`", i.name))
        .collect();
    if all.is_empty() {
        "none".to_owned()
    } else {
        all.join(", ")
    }
}

fn same_key(
    partition: &KeyDef,
    sort: Option<&KeyDef>,
    declared: &KeySchema,
    what: &str,
) -> Result<(), String> {
    same_attribute(
        "partition",
        Some(partition),
        Some(&declared.partition),
        what,
    )?;
    same_attribute("sort", sort, declared.sort.as_ref(), what)
}

fn same_attribute(
    role: &str,
    model: Option<&KeyDef>,
    declared: Option<&crate::data::KeyAttribute>,
    what: &str,
) -> Result<(), String> {
    match (model, declared) {
        (None, None) => Ok(()),
        (Some(m), None) => Err(format!(
            "{what} has no {role} key but the model puts `{}` there",
            m.attribute
        )),
        (None, Some(d)) => Err(format!(
            "{what} has {role} key `{}` ({}) but the model has none",
            d.name, d.key_type
        )),
        (Some(m), Some(d)) => {
            if m.attribute != d.name {
                return Err(format!(
                    "{what}'s {role} key is `{}`, the model's is `{}`",
                    d.name, m.attribute
                ));
            }
            let model_type = match m.kind {
                None => return Ok(()),
                Some(KeyKind::S) => KeyType::S,
                Some(KeyKind::N) => KeyType::N,
                Some(KeyKind::B) => KeyType::B,
            };
            if model_type != d.key_type {
                return Err(format!(
                    "{what}'s {role} key `{}` is {}, the model's is {}",
                    d.name, d.key_type, model_type
                ));
            }
            Ok(())
        }
    }
}
