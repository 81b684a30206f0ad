use std::collections::BTreeMap;

use super::{from_item, from_value, to_item, to_value};
use crate::bindings::portico::edge::data as wit;
use crate::data::{BinarySet, Error, Item, NumberSet, StringSet, Value};

fn doc(nodes: Vec<wit::Value>) -> wit::Document {
    wit::Document { nodes }
}

fn sample() -> Item {
    Item::new()
        .with("id", "a")
        .with("n", 1)
        .with("b", vec![1u8])
        .with("ok", false)
        .with("none", Value::Null)
        .with("ss", StringSet::from(["x", "y"]))
        .with("ns", NumberSet::from([1, 2]))
        .with("bs", BinarySet::from([vec![9u8]]))
        .with(
            "l",
            vec![
                Value::from(1),
                Value::L(vec![Value::from("deep"), Value::M(BTreeMap::new())]),
                Value::from(Item::new().with("k", "v")),
            ],
        )
        .with(
            "m",
            Item::new().with("inner", Item::new().with("list", Value::L(vec![]))),
        )
}

fn is_invalid(result: &Result<Value, Error>) -> bool {
    matches!(result, Err(Error::InvalidDocument(_)))
}

#[test]
fn items_round_trip() {
    let item = sample();
    let flat = from_item(&item);
    assert!(matches!(flat.nodes[0], wit::Value::M(_)));
    assert_eq!(to_item(flat), Ok(item.clone()));
    // An item flattens like the equivalent map value.
    let as_value = from_value(&Value::from(item.clone()));
    assert_eq!(format!("{:?}", as_value), format!("{:?}", from_item(&item)));
}

#[test]
fn scalars_and_empty_containers_round_trip() {
    for v in [
        Value::from("s"),
        Value::Null,
        Value::L(vec![]),
        Value::M(BTreeMap::new()),
        Value::from(Item::new().with("a", Value::L(vec![Value::L(vec![Value::L(vec![])])]))),
    ] {
        assert_eq!(to_value(from_value(&v)), Ok(v));
    }
}

#[test]
fn sets_cross_to_the_host_as_built() {
    let item = Item::new()
        .with("repeats", StringSet::from(["b", "a", "b"]))
        .with("empty", StringSet::new())
        .with("nested", vec![Value::Ns(NumberSet::new())])
        .with("binary", BinarySet::from([vec![1u8], vec![1]]));
    let flat = from_item(&item);
    let has = |wanted: &wit::Value| {
        flat.nodes
            .iter()
            .any(|node| format!("{node:?}") == format!("{wanted:?}"))
    };
    assert!(has(&wit::Value::Ss(vec![
        "b".into(),
        "a".into(),
        "b".into()
    ])));
    assert!(has(&wit::Value::Ss(vec![])));
    assert!(has(&wit::Value::Ns(vec![])));
    assert!(has(&wit::Value::Bs(vec![vec![1], vec![1]])));
    assert_eq!(to_item(flat), Ok(item));
}

#[test]
fn children_always_come_after_their_parent() {
    let flat = from_item(&sample());
    for (i, node) in flat.nodes.iter().enumerate() {
        for c in super::children(node) {
            assert!(c as usize > i, "node {i} → {c}");
        }
    }
}

#[test]
fn empty_document_is_refused() {
    assert!(is_invalid(&to_value(doc(vec![]))));
}

#[test]
fn out_of_range_index_is_refused() {
    assert!(is_invalid(&to_value(doc(vec![wit::Value::L(vec![1])]))));
    assert!(is_invalid(&to_value(doc(vec![wit::Value::M(vec![(
        "a".into(),
        u32::MAX
    )])]))));
}

#[test]
fn backward_and_self_references_are_refused() {
    // A node pointing at itself or at its parent would loop forever if followed.
    assert!(is_invalid(&to_value(doc(vec![wit::Value::L(vec![0])]))));
    assert!(is_invalid(&to_value(doc(vec![
        wit::Value::L(vec![1]),
        wit::Value::L(vec![0]),
    ]))));
    assert!(is_invalid(&to_value(doc(vec![
        wit::Value::L(vec![1]),
        wit::Value::L(vec![1]),
    ]))));
}

#[test]
fn shared_children_are_refused() {
    // Each node names the next one twice: followed naively, 2^60 values.
    let mut nodes: Vec<wit::Value> = (0..60).map(|i| wit::Value::L(vec![i + 1, i + 1])).collect();
    nodes.push(wit::Value::Null);
    assert!(is_invalid(&to_value(doc(nodes))));
    // Two different parents for one node.
    assert!(is_invalid(&to_value(doc(vec![
        wit::Value::L(vec![1, 2]),
        wit::Value::L(vec![3]),
        wit::Value::L(vec![3]),
        wit::Value::Null,
    ]))));
}

#[test]
fn orphan_nodes_are_refused() {
    assert!(is_invalid(&to_value(doc(vec![
        wit::Value::Null,
        wit::Value::Null
    ]))));
}

#[test]
fn excessive_depth_is_refused() {
    let deep = |levels: u32| {
        let mut nodes: Vec<wit::Value> = (0..levels).map(|i| wit::Value::L(vec![i + 1])).collect();
        nodes.push(wit::Value::Null);
        doc(nodes)
    };
    assert!(to_value(deep(super::MAX_DEPTH)).is_ok());
    assert!(is_invalid(&to_value(deep(super::MAX_DEPTH + 1))));
    assert!(is_invalid(&to_value(deep(100_000))));
}

#[test]
fn bad_numbers_are_refused() {
    assert!(is_invalid(&to_value(doc(vec![wit::Value::N(
        "NaN".into()
    )]))));
    assert!(is_invalid(&to_value(doc(vec![wit::Value::Ns(vec![
        "1".into(),
        "x".into()
    ])]))));
}

#[test]
fn item_root_must_be_a_map() {
    assert!(matches!(
        to_item(doc(vec![wit::Value::S("x".into())])),
        Err(Error::InvalidDocument(_))
    ));
}

#[test]
fn wide_documents_convert() {
    let list: Vec<Value> = (0..10_000).map(Value::from).collect();
    let v = Value::from(Item::new().with("l", list));
    assert_eq!(to_value(from_value(&v)), Ok(v));
}
