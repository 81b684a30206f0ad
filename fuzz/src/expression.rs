//! DynamoDB expressions: condition, filter, update, projection and key condition.

use portico_data::expr::{
    ExprContext, parse_condition, parse_filter, parse_key_condition, parse_projection, parse_update,
};
use portico_data::ops::Placeholders;
use portico_data::schema::{KeyAttribute, KeySchema, KeyType};
use portico_data::value::item_size;
use portico_data::{Item, Number, Set, Value};
use std::sync::OnceLock;

/// The first byte picks the grammar (condition, filter, update, projection, key
/// condition); the rest is the expression, parsed with a fixed set of placeholders
/// (`#a`, `#b`, `#pk`, `#sk`, `#l`, `#m`; `:s`, `:n`, `:b`, `:t`, `:z`, `:ss`, `:ns`,
/// `:bs`, `:l`, `:m`, `:big`) and, when it parses, evaluated or applied against a fixed
/// item with a value of every type.
///
/// # Panics
/// When evaluating or applying panics, a condition answers differently on the same item
/// twice, an update that passes the key check changes the key, or a projection returns
/// an attribute the item does not have.
pub fn expression(data: &[u8]) {
    let Some((&kind, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let (placeholders, item, key) = fixtures();
    let mut ctx = ExprContext::new(placeholders);
    match kind % 5 {
        0 | 1 => {
            let parsed = if kind % 5 == 0 {
                parse_condition(&text, &mut ctx)
            } else {
                parse_filter(&text, &mut ctx)
            };
            if let Ok(condition) = parsed {
                let first = condition.evaluate(item).map_err(|e| e.to_string());
                let second = condition.evaluate(item).map_err(|e| e.to_string());
                assert_eq!(first, second, "{text:?} answered twice differently");
                let _ = condition.evaluate(&Item::new());
                let _ = condition.top_level_attributes();
            }
        }
        2 => {
            if let Ok(update) = parse_update(&text, &mut ctx) {
                let keeps_key = update.check_key(key).is_ok();
                let mut updated = item.clone();
                if update.apply(&mut updated).is_ok() {
                    let _ = item_size(&updated);
                    let _ = update.updated_attributes(&updated);
                    if keeps_key {
                        for attribute in key.attributes() {
                            assert_eq!(
                                updated.get(&attribute.name),
                                item.get(&attribute.name),
                                "{text:?} passed the key check but changed `{}`",
                                attribute.name
                            );
                        }
                    }
                }
                let _ = update.apply(&mut Item::new());
            }
        }
        3 => {
            if let Ok(projection) = parse_projection(&text, &mut ctx) {
                let projected = projection.apply(item);
                for name in projected.keys() {
                    assert!(
                        item.contains_key(name),
                        "{text:?} projected `{name}`, which the item does not have"
                    );
                }
            }
        }
        _ => {
            if let Ok(condition) = parse_key_condition(&text, &mut ctx, key)
                && let Some(sort) = &condition.sort
            {
                for value in item.values() {
                    let _ = sort.matches(value);
                }
            }
        }
    }
    // Unused placeholders are an error, never a panic.
    let _ = ctx.finish();
}

/// The placeholders, the item and its key schema, built once.
fn fixtures() -> &'static (Placeholders, Item, KeySchema) {
    static FIXTURES: OnceLock<(Placeholders, Item, KeySchema)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let number = |text: &str| Value::N(text.parse::<Number>().expect("a number"));
        let map = |pairs: &[(&str, Value)]| {
            Value::M(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), v.clone()))
                    .collect(),
            )
        };
        let strings = Value::Ss(Set::new(vec!["a".into(), "b".into()]).expect("a set"));
        let numbers = Value::Ns(
            Set::new(vec!["1".parse().expect("1"), "2.5".parse().expect("2.5")]).expect("a set"),
        );
        let binaries = Value::Bs(Set::new(vec![vec![0], vec![1, 2]]).expect("a set"));
        let list = Value::L(vec![number("1"), Value::s("x"), map(&[("y", Value::Null)])]);
        let nested = map(&[
            ("a", number("1")),
            ("b", Value::L(Vec::new())),
            ("c", map(&[])),
        ]);

        let placeholders = Placeholders {
            names: [
                ("#a", "a"),
                ("#b", "b"),
                ("#pk", "pk"),
                ("#sk", "sk"),
                ("#l", "l"),
                ("#m", "m"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            values: [
                (":s", Value::s("x")),
                (":n", number("5")),
                (":b", Value::B(vec![1, 2, 3])),
                (":t", Value::Bool(true)),
                (":z", Value::Null),
                (":ss", strings.clone()),
                (":ns", numbers.clone()),
                (":bs", binaries.clone()),
                (":l", list.clone()),
                (":m", nested.clone()),
                (
                    ":big",
                    number("9.9999999999999999999999999999999999999E+125"),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        };
        let item: Item = [
            ("pk", Value::s("k")),
            ("sk", Value::s("2026-12-02")),
            ("a", number("5")),
            ("b", Value::s("hello")),
            ("bin", Value::B(vec![0, 255])),
            ("flag", Value::Bool(false)),
            ("nothing", Value::Null),
            ("ss", strings),
            ("ns", numbers),
            ("bs", binaries),
            ("l", list),
            ("m", nested),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let key = KeySchema {
            partition: KeyAttribute {
                name: "pk".into(),
                key_type: KeyType::S,
            },
            sort: Some(KeyAttribute {
                name: "sk".into(),
                key_type: KeyType::S,
            }),
        };
        (placeholders, item, key)
    })
}
