//! The derive and the model rules that need no host: encoding, keys, defaults,
//! timestamps, validation, index choice. Calls through the host are tested end to end
//! by the `shop` and `todo` examples.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Collection, Error, Model, ModelExt};
use crate::data::{Item, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Open,
    Shipped,
}

fn no_spaces(s: &str) -> Result<(), String> {
    if s.contains(' ') {
        Err("no spaces".into())
    } else {
        Ok(())
    }
}

fn upper(mut s: String) -> String {
    s.make_ascii_uppercase();
    s
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "shop", pk = "CUSTOMER#{customer}", sk = "ORDER#{id}")]
#[model(index(name = "by_status", pk = "status", sk = "created"))]
#[serde(rename_all = "camelCase")]
struct Order {
    customer: String,
    id: String,
    #[model(validate(range(min = 1, max = 100)))]
    quantity: u32,
    #[model(default = Status::Open)]
    status: Option<Status>,
    #[model(validate(length(min = 1, max = 10), regex = "^[A-Z]", with = no_spaces))]
    code: String,
    #[model(set = upper)]
    note: Option<String>,
    #[serde(rename = "addr")]
    address: BTreeMap<String, String>,
    #[model(created_at)]
    created: i64,
    #[model(updated_at, format = "iso8601")]
    updated_at: Option<String>,
    #[serde(skip)]
    scratch: u8,
    #[model(default = 7)]
    priority: u8,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "shop", pk = "CUSTOMER#{id}", sk = "#PROFILE")]
struct Customer {
    id: String,
    name: String,
    #[model(unknown)]
    extra: Item,
}

#[derive(Collection, Debug)]
#[allow(dead_code, reason = "the test matches on the variant only")]
enum Records {
    Customer(Customer),
    Order(Order),
}

fn order() -> Order {
    Order {
        customer: "c1".into(),
        id: "o1".into(),
        quantity: 2,
        status: None,
        code: "AB".into(),
        note: Some("fragile".into()),
        address: BTreeMap::from([("city".to_owned(), "Oslo".to_owned())]),
        created: 0,
        updated_at: None,
        scratch: 9,
        priority: 1,
    }
}

#[test]
fn template_keys_and_entity_are_written() {
    let item = order().to_item().unwrap();
    assert_eq!(item.get_s("pk"), Some("CUSTOMER#c1"));
    assert_eq!(item.get_s("sk"), Some("ORDER#o1"));
    assert_eq!(item.get_s("_type"), Some("Order"));
    assert_eq!(item.get_s("customer"), Some("c1"));
    assert!(
        item.get_m("addr").is_some(),
        "serde's rename is the attribute's name"
    );
    assert!(
        !item.contains_key("scratch"),
        "skipped fields are not stored"
    );
    assert!(!item.contains_key("status"), "None is absent");
    assert_eq!(item.get_s("note"), Some("FRAGILE"), "the set transform ran");
    assert_eq!(
        Order::key("c1", "o1").item(),
        order().key_of().unwrap().item()
    );
    assert_eq!(Order::key("c1", "o1").item().len(), 2);
}

#[test]
fn prepare_fills_defaults_and_timestamps() {
    let mut o = order();
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    o.prepare(now, true);
    assert_eq!(o.status, Some(Status::Open));
    assert_eq!(o.created, 1_700_000_000_123);
    assert_eq!(o.updated_at.as_deref(), Some("2023-11-14T22:13:20.123Z"));
    // A save keeps created_at once it is set.
    o.prepare(now + Duration::from_secs(1), false);
    assert_eq!(o.created, 1_700_000_000_123);
    assert_eq!(o.updated_at.as_deref(), Some("2023-11-14T22:13:21.123Z"));
}

#[test]
fn decode_round_trips_and_names_attributes() {
    let mut o = order();
    o.prepare(UNIX_EPOCH, true);
    let item = o.to_item().unwrap();
    let back = Order::from_item(item.clone()).unwrap();
    assert_eq!(back.customer, "c1");
    assert_eq!(back.scratch, 0, "a skipped field reads as its default");
    assert_eq!(back.note.as_deref(), Some("FRAGILE"));

    let mut missing = item.clone();
    missing.remove("code");
    assert_eq!(
        Order::from_item(missing).unwrap_err(),
        Error::MissingRequired { attribute: "code" }
    );
    let mut defaulted = item.clone();
    defaulted.remove("priority");
    assert_eq!(Order::from_item(defaulted).unwrap().priority, 7);

    let mut wrong = item.clone();
    wrong.insert("quantity".into(), Value::from("two"));
    let e = Order::from_item(wrong).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TypeMismatch {
                attribute: "quantity",
                ..
            }
        ),
        "{e:?}"
    );

    let mut other = item;
    other.insert("_type".into(), Value::from("Customer"));
    assert_eq!(
        Order::from_item(other).unwrap_err(),
        Error::WrongEntity {
            expected: "Order",
            found: Some("Customer".into())
        }
    );
}

#[test]
fn validation_names_attribute_and_rule() {
    let rule = |f: fn(&mut Order)| {
        let mut o = order();
        f(&mut o);
        match o.validate() {
            Err(Error::Validation {
                attribute, rule, ..
            }) => (attribute, rule),
            other => panic!("expected a validation error, got {other:?}"),
        }
    };
    assert_eq!(rule(|o| o.quantity = 0), ("quantity", "range"));
    assert_eq!(rule(|o| o.quantity = 101), ("quantity", "range"));
    assert_eq!(rule(|o| o.code = String::new()), ("code", "length"));
    assert_eq!(rule(|o| o.code = "ab".into()), ("code", "regex"));
    assert_eq!(rule(|o| o.code = "A B".into()), ("code", "no_spaces"));
    assert!(order().validate().is_ok());
    // The typed path carries the same rules, for updates.
    assert!(Order::fields().quantity.check(&0).is_err());
    assert!(Order::fields().quantity.check(&5).is_ok());
}

#[test]
fn unknown_attributes_are_kept_when_asked() {
    let item = Item::new()
        .with("pk", "CUSTOMER#c1")
        .with("sk", "#PROFILE")
        .with("_type", "Customer")
        .with("id", "c1")
        .with("name", "Ada")
        .with("vip", true);
    let c = Customer::from_item(item).unwrap();
    assert_eq!(c.extra.get_bool("vip"), Some(true));
    assert_eq!(
        c.extra.len(),
        1,
        "keys and the entity are not unknown attributes"
    );
    let again = c.to_item().unwrap();
    assert_eq!(again.get_bool("vip"), Some(true));
    assert_eq!(again.get_s("sk"), Some("#PROFILE"));
}

#[test]
fn collections_dispatch_on_the_entity() {
    let mut o = order();
    o.prepare(UNIX_EPOCH, true);
    let record = Records::decode("Order", o.to_item().unwrap())
        .unwrap()
        .unwrap();
    assert!(matches!(record, Records::Order(_)));
    assert!(Records::decode("Invoice", Item::new()).is_none());
    assert_eq!(Records::ENTITIES, "Customer, Order");
}

#[test]
fn the_query_picks_the_index_its_conditions_fix() {
    let f = Order::fields();
    let plan = Order::query().eq(f.customer.clone(), "c1").plan().unwrap();
    assert_eq!(
        plan,
        r#"table: pk = S("CUSTOMER#c1"), sk BeginsWith("ORDER#")"#
    );
    let plan = Order::query()
        .eq(f.customer.clone(), "c1")
        .eq(f.id.clone(), "o1")
        .plan()
        .unwrap();
    assert!(plan.contains(r#"sk Eq(S("ORDER#o1"))"#), "{plan}");
    let plan = Order::query()
        .eq(f.status.clone(), Some(Status::Open))
        .gt(f.created.clone(), 5)
        .plan()
        .unwrap();
    assert!(plan.starts_with("index by_status: status"), "{plan}");
    assert!(plan.contains("created Gt"), "{plan}");
    // Conditions no key uses become filters.
    let plan = Order::query()
        .eq(f.customer.clone(), "c1")
        .eq(f.code, "AB")
        .plan()
        .unwrap();
    assert!(plan.ends_with("filters on code"), "{plan}");
}

#[test]
fn no_index_fits_says_why() {
    let f = Order::fields();
    let e = Order::query().eq(f.code, "AB").plan().unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::NoIndex { model: "Order", .. }));
    assert!(
        text.contains("the table's key (`pk`) needs `customer =`"),
        "{text}"
    );
    assert!(
        text.contains("index `by_status` needs `status =`"),
        "{text}"
    );
    let forced = Order::query()
        .eq(f.customer, "c1")
        .using("by_status")
        .plan()
        .unwrap_err();
    assert!(
        forced
            .to_string()
            .contains("index `by_status` needs `status =`"),
        "{forced}"
    );
    let missing = Order::query().using("nope").plan().unwrap_err();
    assert!(
        missing.to_string().contains("declares no index `nope`"),
        "{missing}"
    );
}

#[test]
fn the_schema_check_compares_with_describe() {
    use crate::data::{
        IndexDescription, KeyAttribute, KeySchema, KeyType, Projection, TableDescription,
    };
    let key = |p: &str, s: Option<&str>| KeySchema {
        partition: KeyAttribute {
            name: p.into(),
            key_type: KeyType::S,
        },
        sort: s.map(|s| KeyAttribute {
            name: s.into(),
            key_type: KeyType::S,
        }),
    };
    let mut table = TableDescription {
        name: "shop".into(),
        key: key("pk", Some("sk")),
        global_indexes: vec![IndexDescription {
            name: "by_status".into(),
            key: KeySchema {
                partition: KeyAttribute {
                    name: "status".into(),
                    key_type: KeyType::S,
                },
                sort: Some(KeyAttribute {
                    name: "created".into(),
                    key_type: KeyType::N,
                }),
            },
            projection: Projection::All,
        }],
        local_indexes: vec![],
        ttl_attribute: None,
    };
    super::registry::check(Order::SCHEMA, &table).unwrap();
    table.key = key("PK", Some("sk"));
    let e = super::registry::check(Order::SCHEMA, &table)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("table `shop`'s partition key is `PK`, the model's is `pk`"),
        "{e}"
    );
    table.key = key("pk", Some("sk"));
    table.global_indexes.clear();
    let e = super::registry::check(Order::SCHEMA, &table)
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no index `by_status`"), "{e}");
}
