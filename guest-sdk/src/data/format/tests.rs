use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::data::{
    BinarySet, Error, Item, Number, NumberSet, StringSet, Value, from_item, from_value, key,
    to_item, to_value,
};

fn n(text: &str) -> Number {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn round_trip<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let v = to_value(value).expect("serializes");
    let back: T = from_value(v).expect("deserializes");
    assert_eq!(&back, value);
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Status {
    Open,
    Held(String),
    Moved { to: String, at: u32 },
    Pair(i8, bool),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Address {
    city: String,
    lines: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Order {
    id: String,
    total: Number,
    count: u32,
    ratio: f64,
    small: i8,
    paid: bool,
    note: Option<String>,
    address: Address,
    history: Vec<Status>,
    status: Status,
    #[serde(default)]
    tags: StringSet,
    #[serde(default)]
    scores: NumberSet,
    #[serde(default)]
    keys: BinarySet,
    #[serde(with = "crate::data::bytes")]
    blob: Vec<u8>,
    maybe: Vec<Option<i32>>,
    by_id: BTreeMap<u64, String>,
    unit: (),
    pair: (String, i64),
    initial: char,
    dynamic: Value,
}

fn order() -> Order {
    Order {
        id: "order#1".into(),
        total: n("12345678901234567890123456789012345678"),
        count: 3,
        ratio: 0.1,
        small: -5,
        paid: true,
        note: None,
        address: Address {
            city: "Oslo".into(),
            lines: vec!["Storgata 1".into(), String::new()],
        },
        history: vec![
            Status::Open,
            Status::Held("stock".into()),
            Status::Moved {
                to: "b".into(),
                at: 7,
            },
            Status::Pair(-1, false),
        ],
        status: Status::Held("review".into()),
        tags: StringSet::from(["a", "b"]),
        scores: NumberSet::from([n("1.5"), n("-2")]),
        keys: BinarySet::from([vec![0u8, 1], vec![255]]),
        blob: vec![0, 159, 146, 150],
        maybe: vec![Some(1), None],
        by_id: BTreeMap::from([(7, "seven".into()), (11, "eleven".into())]),
        unit: (),
        pair: ("x".into(), -9),
        initial: 'é',
        dynamic: Value::Ns(NumberSet::from([n("0.5")])),
    }
}

#[test]
fn nested_struct_round_trips() {
    round_trip(&order());
}

#[test]
fn nested_struct_maps_to_dynamodb_types() {
    let item = to_item(&order()).expect("serializes");
    assert_eq!(item.get_s("id"), Some("order#1"));
    assert_eq!(
        item.get_n("total").map(Number::as_str),
        Some("12345678901234567890123456789012345678")
    );
    assert_eq!(item.get_n("ratio").map(Number::as_str), Some("0.1"));
    assert!(!item.contains_key("note"), "None fields are left out");
    assert_eq!(
        item["status"],
        Value::M(BTreeMap::from([("Held".into(), Value::from("review"))]))
    );
    let history = item.get_l("history").expect("a list");
    assert_eq!(history[0], Value::from("Open"));
    assert_eq!(
        history[3],
        Value::M(BTreeMap::from([(
            "Pair".into(),
            Value::L(vec![Value::from(-1), Value::from(false)])
        )]))
    );
    assert_eq!(item["tags"], Value::Ss(StringSet::from(["a", "b"])));
    assert_eq!(
        item["keys"],
        Value::Bs(BinarySet::from([vec![0u8, 1], vec![255]]))
    );
    assert_eq!(item.get_b("blob"), Some(&[0u8, 159, 146, 150][..]));
    assert_eq!(item["maybe"], Value::L(vec![Value::from(1), Value::Null]));
    let by_id = item.get_m("by_id").expect("a map");
    assert_eq!(by_id.get("7"), Some(&Value::from("seven")));
    assert_eq!(item["unit"], Value::Null);
    assert_eq!(item["initial"], Value::from("é"));
    assert_eq!(item["dynamic"], Value::Ns(NumberSet::from([n("0.5")])));
}

#[test]
fn numbers_of_38_digits_are_exact_in_structs() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Money {
        amount: Number,
        tiny: Number,
    }
    let m = Money {
        amount: n("-99999999999999999999999999999999999.999"),
        tiny: n("0.00000000000000000000000000000000000000000000000001"),
    };
    round_trip(&m);
    let item = to_item(&m).expect("serializes");
    assert_eq!(
        item.get_n("amount").map(Number::as_str),
        Some("-99999999999999999999999999999999999.999")
    );
}

#[test]
fn missing_and_null_read_as_none() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct T {
        a: Option<i32>,
        b: Option<i32>,
        c: Option<String>,
    }
    let t: T = from_item(Item::new().with("a", Value::Null).with("c", "x")).expect("reads");
    assert_eq!(
        t,
        T {
            a: None,
            b: None,
            c: Some("x".into())
        }
    );
}

#[test]
fn absent_values_in_maps_and_lists() {
    let mut map: HashMap<String, Option<u8>> = HashMap::new();
    map.insert("none".into(), None);
    map.insert("some".into(), Some(1));
    let item = to_item(&map).expect("serializes");
    assert_eq!(item, Item::new().with("some", 1));
    assert_eq!(to_value(&None::<u8>), Ok(Value::Null));
    assert_eq!(
        to_value(&vec![None, Some(2u8)]),
        Ok(Value::L(vec![Value::Null, Value::from(2)]))
    );
}

#[test]
fn empty_sets_are_sent_as_empty_sets_for_dynamodb_to_refuse() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct T {
        id: u8,
        #[serde(default)]
        tags: StringSet,
        scores: NumberSet,
        keys: BinarySet,
    }
    let t = T {
        id: 1,
        tags: StringSet::new(),
        scores: NumberSet::new(),
        keys: BinarySet::new(),
    };
    let item = to_item(&t).expect("serializes");
    assert_eq!(
        item,
        Item::new()
            .with("id", 1)
            .with("tags", Value::Ss(StringSet::new()))
            .with("scores", Value::Ns(NumberSet::new()))
            .with("keys", Value::Bs(BinarySet::new())),
        "not left out: the host answers DynamoDB's validation error"
    );
    assert_eq!(from_item::<T>(item), Ok(t));
    // In a list an empty set stays a set, not NULL.
    assert_eq!(
        to_value(&vec![StringSet::new()]),
        Ok(Value::L(vec![Value::Ss(StringSet::new())]))
    );
    let null: StringSet = from_value(Value::Null).expect("NULL is an empty set");
    assert!(null.is_empty());
}

#[test]
fn empty_sets_can_be_left_out_on_purpose() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct T {
        id: u8,
        #[serde(default, skip_serializing_if = "StringSet::is_empty")]
        tags: StringSet,
        maybe: Option<NumberSet>,
    }
    let t = T {
        id: 1,
        tags: StringSet::new(),
        maybe: None,
    };
    let item = to_item(&t).expect("serializes");
    assert_eq!(item, Item::new().with("id", 1));
    assert_eq!(from_item::<T>(item), Ok(t));
}

#[test]
fn repeated_set_members_are_sent_as_given() {
    #[derive(Serialize)]
    struct T {
        tags: StringSet,
        scores: NumberSet,
        keys: BinarySet,
    }
    let t = T {
        tags: StringSet::from(["b", "a", "b"]),
        scores: NumberSet::from(vec![n("1"), n("1.0")]),
        keys: [vec![1u8], vec![1]].into_iter().collect(),
    };
    let item = to_item(&t).expect("serializes");
    let tags = item["tags"].as_ss().expect("a string set");
    assert_eq!(tags.iter().collect::<Vec<_>>(), ["b", "a", "b"]);
    assert_eq!(item["scores"].as_ns().map(NumberSet::len), Some(2));
    assert_eq!(item["keys"].as_bs().map(BinarySet::len), Some(2));
}

#[test]
fn sets_read_into_plain_collections_and_from_lists() {
    let ss = Value::Ss(StringSet::from(["b", "a"]));
    assert_eq!(
        from_value::<Vec<String>>(ss),
        Ok(vec!["b".to_string(), "a".to_string()]),
        "in the order the host sent them"
    );
    let ns = Value::Ns(NumberSet::from([3, 1]));
    assert_eq!(from_value::<Vec<i64>>(ns), Ok(vec![3, 1]));
    let list = Value::L(vec![Value::from("x"), Value::from("x")]);
    let read = from_value::<StringSet>(list).expect("a list reads as a set");
    assert_eq!(
        read.into_vec(),
        ["x", "x"],
        "what was sent, repeats included"
    );
}

#[test]
fn numbers_read_into_rust_types() {
    assert_eq!(from_value::<u8>(Value::from(255)), Ok(255));
    assert!(matches!(
        from_value::<u8>(Value::from(256)),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(
        from_value::<i64>(Value::N(n("1.5"))),
        Err(Error::Serialization(_))
    ));
    assert_eq!(from_value::<f64>(Value::N(n("1.5"))), Ok(1.5));
    assert_eq!(from_value::<f32>(Value::N(n("0.25"))), Ok(0.25));
    assert_eq!(
        from_value::<i128>(Value::N(n("-1e30"))),
        Ok(-(10i128.pow(30)))
    );
    assert_eq!(from_value::<u64>(Value::from(u64::MAX)), Ok(u64::MAX));
    assert!(
        from_value::<String>(Value::from(1)).is_err(),
        "no silent N → S"
    );
    assert!(
        from_value::<i32>(Value::from("1")).is_err(),
        "no silent S → N"
    );
}

#[test]
fn floats_must_be_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(to_value(&bad), Err(Error::Serialization(_))));
    }
    assert!(matches!(to_value(&u128::MAX), Err(Error::Validation(_))));
    assert_eq!(to_value(&1e-7), Ok(Value::N(n("0.0000001"))));
}

#[test]
fn items_must_be_maps() {
    assert!(matches!(to_item(&5), Err(Error::Serialization(_))));
    assert!(matches!(
        to_item(&None::<Item>),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(to_item(&vec![1]), Err(Error::Serialization(_))));
    let key_error = to_item(&HashMap::from([((1, 2), 3)]));
    assert!(matches!(key_error, Err(Error::Serialization(_))));
}

#[test]
fn values_round_trip_exactly() {
    let nested = Value::M(BTreeMap::from([
        ("s".into(), Value::from("1")),
        ("n".into(), Value::N(n("1"))),
        ("b".into(), Value::B(vec![1, 2])),
        ("bool".into(), Value::Bool(true)),
        ("null".into(), Value::Null),
        ("ss".into(), Value::Ss(StringSet::from(["1"]))),
        (
            "ns".into(),
            Value::Ns(NumberSet::from([n(
                "12345678901234567890123456789012345678",
            )])),
        ),
        ("bs".into(), Value::Bs(BinarySet::from([vec![1u8]]))),
        (
            "l".into(),
            Value::L(vec![Value::L(vec![]), Value::M(BTreeMap::new())]),
        ),
    ]));
    assert_eq!(to_value(&nested), Ok(nested.clone()));
    assert_eq!(from_value::<Value>(nested.clone()), Ok(nested.clone()));
    let item = Item::from(nested.as_m().cloned().unwrap_or_default());
    assert_eq!(from_item::<Item>(item.clone()), Ok(item.clone()));
    assert_eq!(to_item(&item), Ok(item));
}

#[test]
fn values_from_json() {
    let json = serde_json::json!({
        "id": "a", "n": 12, "neg": -3, "f": 0.5, "ok": true, "none": null,
        "list": [1, "two"], "map": { "x": [] }
    });
    let item: Item = serde_json::from_value(json).expect("JSON is an item");
    let expected = Item::new()
        .with("id", "a")
        .with("n", 12)
        .with("neg", -3)
        .with("f", Value::N(n("0.5")))
        .with("ok", true)
        .with("none", Value::Null)
        .with("list", vec![Value::from(1), Value::from("two")])
        .with("map", Item::new().with("x", Value::L(vec![])));
    assert_eq!(item, expected);
    // And anything `Serialize` becomes an item directly.
    let direct = to_item(&serde_json::json!({ "id": "a", "n": 12 })).expect("serializes");
    assert_eq!(direct, key("id", "a").with("n", 12));
}

#[test]
fn values_to_json() {
    let item = Item::new()
        .with("n", Value::N(n("1.50")))
        .with("tags", StringSet::from(["x"]))
        .with("l", vec![Value::Null]);
    let json = serde_json::to_value(&item).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({ "n": "1.5", "tags": ["x"], "l": [null] })
    );
    // Numbers read back from JSON strings and JSON numbers alike.
    assert_eq!(
        serde_json::from_str::<Number>("\"1.5\"").ok(),
        Some(n("1.5"))
    );
    assert_eq!(serde_json::from_str::<Number>("7").ok(), Some(n("7")));
}

#[test]
fn enums_read_back() {
    round_trip(&Status::Open);
    round_trip(&Status::Held("x".into()));
    round_trip(&Status::Moved {
        to: "y".into(),
        at: 1,
    });
    round_trip(&Status::Pair(1, true));
    assert!(from_value::<Status>(Value::from("Nope")).is_err());
    assert!(from_value::<Status>(Value::from(1)).is_err());
}

#[test]
fn untyped_targets_get_numbers() {
    let v: serde_json::Value = from_item(
        Item::new()
            .with("i", 5)
            .with("neg", -5)
            .with("f", Value::N(n("2.5")))
            .with("s", StringSet::from(["a"])),
    )
    .expect("reads");
    assert_eq!(
        v,
        serde_json::json!({ "i": 5, "neg": -5, "f": 2.5, "s": ["a"] })
    );
}

#[test]
fn integer_map_keys_read_back() {
    round_trip(&HashMap::from([(1u32, true), (20, false)]));
    round_trip(&BTreeMap::from([(-4i64, "x".to_string())]));
}

#[test]
fn unit_and_newtype_structs() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Unit;
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Id(String);
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Point(i32, i32);
    round_trip(&Unit);
    round_trip(&Id("a".into()));
    round_trip(&Point(1, -1));
    assert_eq!(to_value(&Id("a".into())), Ok(Value::from("a")));
}

#[test]
fn dynamic_values_inside_typed_structs_stay_exact() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct T {
        maybe: Option<Value>,
        list: Vec<Value>,
        map: BTreeMap<String, Value>,
        item: Item,
    }
    let t = T {
        maybe: Some(Value::Ss(StringSet::from(["1"]))),
        list: vec![Value::N(n("1")), Value::from("1"), Value::B(vec![1])],
        map: BTreeMap::from([("n".into(), Value::Ns(NumberSet::from([1])))]),
        item: Item::new().with("bs", BinarySet::from([vec![2u8]])),
    };
    round_trip(&t);
    let missing: T = from_item(
        Item::new()
            .with("list", Value::L(vec![]))
            .with("map", Item::new())
            .with("item", Item::new()),
    )
    .expect("reads");
    assert_eq!(missing.maybe, None);
}

#[test]
fn numbers_read_leniently_from_decimal_strings() {
    assert_eq!(from_value::<Number>(Value::from("1.50")), Ok(n("1.5")));
    assert!(from_value::<Number>(Value::from("one")).is_err());
    assert_eq!(to_value(&n("7")), Ok(Value::from(7)));
}
