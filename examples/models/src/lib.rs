//! Every model rule, exercised through the real host: `GET /models/{scenario}` runs one
//! scenario and answers 200 `{"checks": N}` when all its checks held, or 500
//! `{"failed": "..."}` naming the first that did not. `tests/e2e/models.rs` runs each
//! scenario on the embedded store and on the dynamodb backend.
//!
//! The checks read what was stored through the plain `Table` builders, not the model,
//! so a model that wrote the wrong thing and read it back the same wrong way is caught.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use portico_guest::data::model::{
    self, Collection, Error, Expiry, Model, ModelExt, Retry, transaction,
};
use portico_guest::data::{self, Item, KeyType, StringSet, Table, Value, key};
use portico_guest::http::StatusCode;
use portico_guest::{Request, Response};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Plain,
    Fancy,
}

fn lower(mut s: String) -> String {
    s.make_ascii_lowercase();
    s
}

fn upper(mut s: String) -> String {
    s.make_ascii_uppercase();
    s
}

fn even(n: &u32) -> Result<(), String> {
    if n.is_multiple_of(2) {
        Ok(())
    } else {
        Err(format!("{n} is odd"))
    }
}

#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "models", pk = "THING#{id}", sk = "#THING")]
#[model(index(
    by_kind(pk = "kind", sk = "rank"),
    by_rank(pk = "pk", sk = "rank", local)
))]
struct Thing {
    id: String,
    #[model(validate(length(min = 1, max = 20)))]
    name: String,
    #[model(default = Kind::Plain)]
    kind: Option<Kind>,
    #[model(validate(range(max = 1000), with = even))]
    rank: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<StringSet>,
    #[serde(default)]
    address: BTreeMap<String, String>,
    #[model(created_at, format = "epoch_s")]
    #[serde(default)]
    created: u64,
    #[model(updated_at, format = "iso8601")]
    updated: Option<String>,
    #[model(ttl)]
    expires: Option<Expiry>,
    #[model(set = lower, get = upper)]
    #[serde(default)]
    code: String,
    #[serde(rename = "n")]
    #[model(default = 5)]
    count: i64,
    #[model(unknown)]
    #[serde(skip)]
    extra: Item,
}

#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "models", pk = "THING#{thing}", sk = "NOTE#{n}")]
struct Note {
    thing: String,
    n: u32,
    text: String,
}

#[derive(Collection)]
enum ThingRecords {
    Thing(Thing),
    Note(Note),
}

/// A plain key on its own table, without an entity attribute.
#[derive(Model, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[model(table = "plain", pk = "id", no_entity)]
struct Plain {
    id: String,
    value: i64,
}

/// A model whose key is not the table's.
#[derive(Model, Serialize, Deserialize, Clone, Debug)]
#[model(table = "plain", pk = "key")]
struct Wrong {
    key: String,
}

fn thing(id: &str) -> Thing {
    Thing {
        id: id.to_owned(),
        name: format!("thing {id}"),
        kind: None,
        rank: 2,
        tags: None,
        address: BTreeMap::new(),
        created: 0,
        updated: None,
        expires: None,
        code: "AbC".into(),
        count: 1,
        extra: Item::new(),
    }
}

/// A scenario's failure: the first check that did not hold.
struct Failed(String);

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed(format!("model call failed: {e}"))
    }
}

impl From<data::Error> for Failed {
    fn from(e: data::Error) -> Self {
        Failed(format!("data call failed: {e}"))
    }
}

/// Counts checks; `check!` fails the scenario with the condition's text.
struct Checks(u32);

macro_rules! check {
    ($checks:expr, $cond:expr, $($why:tt)+) => {{
        $checks.0 += 1;
        if !$cond {
            return Err(Failed(format!("{} ({}): {}", stringify!($cond), line!(), format!($($why)+))));
        }
    }};
}

type Outcome = Result<Checks, Failed>;

fn raw(table: &str, k: Item) -> Result<Option<Item>, Failed> {
    Ok(Table::open(table)?.get(k).consistent().send()?)
}

fn thing_key(id: &str) -> Item {
    key("pk", format!("THING#{id}")).with("sk", "#THING")
}

fn handle(req: Request) -> Response {
    let scenario = req.path_param("scenario").unwrap_or_default().to_owned();
    let outcome = match scenario.as_str() {
        "create" => create(),
        "defaults" => defaults(),
        "validation" => validation(),
        "update" => update(),
        "patch" => patch(),
        "query" => query(),
        "scan" => scan(),
        "batch" => batch(),
        "transaction" => transact(),
        "collection" => collection(),
        "mismatch" => mismatch(),
        "sets" => sets(),
        "types" => types(),
        "describe" => describe(),
        "unknown" => unknown(),
        _ => Err(Failed(format!("no scenario `{scenario}`"))),
    };
    let (status, body) = match outcome {
        Ok(checks) => (StatusCode::OK, serde_json::json!({ "checks": checks.0 })),
        Err(Failed(why)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "failed": why }),
        ),
    };
    Response::new(status)
        .json(&body)
        .unwrap_or_else(|_| Response::new(status))
}

/// create fails if the item exists; get reads it back; delete returns it.
fn create() -> Outcome {
    let mut c = Checks(0);
    let mut t = thing("create");
    Thing::create(&mut t)?;
    let again = Thing::create(&mut thing("create"));
    check!(
        c,
        again.as_ref().is_err_and(Error::is_condition_failure),
        "{again:?}"
    );
    let got = Thing::get(Thing::key("create"))?;
    check!(
        c,
        got.as_ref().is_some_and(|g| g.name == "thing create"),
        "{got:?}"
    );
    let stored = raw("models", thing_key("create"))?.unwrap_or_default();
    check!(
        c,
        stored.get_s("_type") == Some("Thing"),
        "entity attribute: {stored:?}"
    );
    check!(c, stored.get_s("id") == Some("create"), "{stored:?}");
    let mut p = Plain {
        id: "p1".into(),
        value: 3,
    };
    p.save()?;
    let stored = raw("plain", key("id", "p1"))?.unwrap_or_default();
    check!(
        c,
        stored.len() == 2,
        "no entity attribute with no_entity: {stored:?}"
    );
    check!(
        c,
        Plain::get(Plain::key("p1"))? == Some(p.clone()),
        "plain key"
    );
    let deleted = Thing::delete(Thing::key("create"))?;
    check!(
        c,
        deleted.is_some_and(|d| d.id == "create"),
        "delete returns the item"
    );
    check!(c, Thing::get(Thing::key("create"))?.is_none(), "deleted");
    Ok(c)
}

/// Defaults, timestamps, transforms, TTL as stored.
fn defaults() -> Outcome {
    let mut c = Checks(0);
    let before = SystemTime::now();
    let mut t = thing("defaults");
    t.expires = Some(Expiry::In(Duration::from_secs(3600)));
    Thing::create(&mut t)?;
    check!(
        c,
        t.kind == Some(Kind::Plain),
        "default written into the struct: {:?}",
        t.kind
    );
    let stored = raw("models", thing_key("defaults"))?.unwrap_or_default();
    check!(c, stored.get_s("kind") == Some("plain"), "{stored:?}");
    let created = stored.get_as::<u64>("created").ok().flatten().unwrap_or(0);
    let now_s = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    check!(
        c,
        created >= now_s && created < now_s + 60,
        "epoch seconds: {created} vs {now_s}"
    );
    let updated = stored.get_s("updated").unwrap_or_default().to_owned();
    check!(
        c,
        updated.len() == 24 && updated.ends_with('Z'),
        "ISO 8601 with ms: {updated}"
    );
    check!(
        c,
        stored.get_s("code") == Some("abc"),
        "set transform stores lower case: {stored:?}"
    );
    let expires = stored.get_as::<u64>("expires").ok().flatten().unwrap_or(0);
    check!(
        c,
        expires >= now_s + 3600 && expires < now_s + 3700,
        "TTL epoch seconds: {expires}"
    );
    check!(
        c,
        stored.get_n("n").map(|n| n.as_str()) == Some("1"),
        "renamed attribute: {stored:?}"
    );
    let read = Thing::get(Thing::key("defaults"))?.ok_or(Failed("missing".into()))?;
    check!(
        c,
        read.code == "ABC",
        "get transform reads upper case: {}",
        read.code
    );
    check!(c, read.created == created, "created read back");
    // A missing attribute reads as its default.
    Table::open("models")?
        .update(thing_key("defaults"))
        .remove("n")
        .remove("kind")
        .send()?;
    let read = Thing::get(Thing::key("defaults"))?.ok_or(Failed("missing".into()))?;
    check!(
        c,
        read.count == 5 && read.kind == Some(Kind::Plain),
        "{:?} {:?}",
        read.count,
        read.kind
    );
    // save keeps created, moves updated.
    let mut again = read;
    std::thread::sleep(Duration::from_millis(5));
    again.save()?;
    let stored = raw("models", thing_key("defaults"))?.unwrap_or_default();
    check!(
        c,
        stored.get_as::<u64>("created").ok().flatten() == Some(created),
        "created kept"
    );
    check!(
        c,
        stored.get_s("updated") != Some(updated.as_str()),
        "updated moved: {updated}"
    );
    Ok(c)
}

/// Every rule fails with the attribute and rule named, and nothing is written.
fn validation() -> Outcome {
    let mut c = Checks(0);
    type Break = fn(&mut Thing);
    let cases: [(Break, &str, &str); 4] = [
        (|t| t.name = String::new(), "name", "length"),
        (|t| t.name = "x".repeat(21), "name", "length"),
        (|t| t.rank = 1002, "rank", "range"),
        (|t| t.rank = 3, "rank", "even"),
    ];
    for (break_it, attribute, rule) in cases {
        let mut t = thing("validation");
        break_it(&mut t);
        match Thing::create(&mut t) {
            Err(Error::Validation {
                attribute: a,
                rule: r,
                ..
            }) => {
                check!(
                    c,
                    a == attribute && r == rule,
                    "{a} {r} for {attribute} {rule}"
                );
            }
            other => check!(c, false, "expected {attribute}/{rule}, got {other:?}"),
        }
    }
    check!(
        c,
        raw("models", thing_key("validation"))?.is_none(),
        "nothing written"
    );
    // Updates validate the values they set.
    Thing::create(&mut thing("validation"))?;
    let f = Thing::fields();
    let e = Thing::update(Thing::key("validation"))
        .set(f.rank, 7u32)
        .send();
    check!(
        c,
        matches!(
            e,
            Err(Error::Validation {
                attribute: "rank",
                rule: "even",
                ..
            })
        ),
        "{e:?}"
    );
    let e = Thing::update(Thing::key("validation"))
        .patch(&serde_json::json!({ "name": "" }))
        .send();
    check!(
        c,
        matches!(
            e,
            Err(Error::Validation {
                attribute: "name",
                ..
            })
        ),
        "patch validates: {e:?}"
    );
    let e = Thing::update(Thing::key("validation"))
        .patch(&serde_json::json!({ "rank": "high" }))
        .send();
    check!(
        c,
        matches!(
            e,
            Err(Error::TypeMismatch {
                attribute: "rank",
                ..
            })
        ),
        "patch type-checks: {e:?}"
    );
    Ok(c)
}

/// Typed updates: SET/ADD/REMOVE/DELETE, key and required attributes refused, an update
/// of a missing item refused unless upsert.
fn update() -> Outcome {
    let mut c = Checks(0);
    let mut t = thing("update");
    t.tags = Some(StringSet::from(["a", "b"]));
    Thing::create(&mut t)?;
    let f = Thing::fields();
    let updated = Thing::update(Thing::key("update"))
        .set(f.name.clone(), "renamed")
        .add(f.count.clone(), 10)
        .delete_from_set(f.tags.clone(), StringSet::from(["a"]))
        .condition(f.rank.eq(2u32))
        .send_returning()?;
    check!(
        c,
        updated.name == "renamed" && updated.count == 11,
        "{updated:?}"
    );
    check!(
        c,
        updated
            .tags
            .as_ref()
            .is_some_and(|s| s.len() == 1 && s.contains("b")),
        "{:?}",
        updated.tags
    );
    check!(c, updated.updated.is_some(), "updated_at set by the update");
    let e = Thing::update(Thing::key("update"))
        .set(f.id.clone(), "other")
        .send();
    check!(
        c,
        matches!(&e, Err(Error::KeyAttribute { attribute }) if attribute == "id"),
        "{e:?}"
    );
    let e = Thing::update(Thing::key("update"))
        .remove(f.name.clone())
        .send();
    check!(
        c,
        matches!(e, Err(Error::MissingRequired { attribute: "name" })),
        "{e:?}"
    );
    Thing::update(Thing::key("update"))
        .remove(f.tags.clone())
        .send()?;
    let stored = raw("models", thing_key("update"))?.unwrap_or_default();
    check!(
        c,
        !stored.contains_key("tags"),
        "removed an optional attribute"
    );
    let e = Thing::update(Thing::key("update"))
        .set(f.rank.clone(), 4u32)
        .condition(f.rank.eq(100u32))
        .send();
    check!(
        c,
        e.as_ref().is_err_and(Error::is_condition_failure),
        "user condition: {e:?}"
    );
    let e = Thing::update(Thing::key("nobody"))
        .set(f.name.clone(), "ghost")
        .send();
    check!(
        c,
        e.as_ref().is_err_and(Error::is_condition_failure),
        "missing item: {e:?}"
    );
    check!(
        c,
        raw("models", thing_key("nobody"))?.is_none(),
        "no partial item created"
    );
    Thing::update(Thing::key("upserted"))
        .set(f.name.clone(), "made")
        .upsert()
        .send()?;
    let stored = raw("models", thing_key("upserted"))?.unwrap_or_default();
    check!(
        c,
        stored.get_s("name") == Some("made") && stored.get_s("_type") == Some("Thing"),
        "{stored:?}"
    );
    Ok(c)
}

/// A patch sets leaves and never replaces a map; unknown attributes are refused.
fn patch() -> Outcome {
    let mut c = Checks(0);
    let mut t = thing("patch");
    t.address = BTreeMap::from([
        ("city".into(), "Oslo".into()),
        ("zip".into(), "0150".into()),
    ]);
    Thing::create(&mut t)?;
    let after = Thing::update(Thing::key("patch"))
        .patch(&serde_json::json!({ "address": { "city": "Bergen" }, "name": "moved" }))
        .send_returning()?;
    check!(
        c,
        after.address.get("zip").map(String::as_str) == Some("0150"),
        "{:?}",
        after.address
    );
    check!(
        c,
        after.address.get("city").map(String::as_str) == Some("Bergen"),
        "{:?}",
        after.address
    );
    check!(c, after.name == "moved", "{}", after.name);
    // Replacing the map is explicit: the typed path.
    let f = Thing::fields();
    let after = Thing::update(Thing::key("patch"))
        .set(
            f.address.clone(),
            BTreeMap::from([("city".to_owned(), "Tromsø".to_owned())]),
        )
        .send_returning()?;
    check!(c, after.address.len() == 1, "{:?}", after.address);
    // One entry through a nested typed path.
    let after = Thing::update(Thing::key("patch"))
        .set(f.address.at::<String>("zip"), "9008")
        .send_returning()?;
    check!(c, after.address.len() == 2, "{:?}", after.address);
    // `Thing` keeps unknown attributes; `Note` does not, so a patch naming one fails.
    Note {
        thing: "patch".into(),
        n: 0,
        text: "t".into(),
    }
    .save()?;
    let e = Note::update(Note::key("patch", 0u32))
        .patch(&serde_json::json!({ "colour": "red" }))
        .send();
    check!(
        c,
        matches!(&e, Err(Error::UnknownAttribute { attribute }) if attribute == "colour"),
        "{e:?}"
    );
    Ok(c)
}

/// The index is chosen from the key conditions, or the reason none fits is given.
fn query() -> Outcome {
    let mut c = Checks(0);
    let f = Thing::fields();
    for i in 0..6u32 {
        let mut t = thing(&format!("q{i}"));
        t.rank = i * 2;
        t.kind = Some(if i < 4 { Kind::Fancy } else { Kind::Plain });
        t.save()?;
    }
    let q = Thing::query()
        .eq(f.kind.clone(), Kind::Fancy)
        .ge(f.rank.clone(), 2u32);
    let plan = q.plan()?;
    check!(c, plan.starts_with("index by_kind"), "{plan}");
    let fancy = q.all(100)?;
    let ranks: Vec<u32> = fancy
        .iter()
        .filter(|t| t.id.starts_with('q'))
        .map(|t| t.rank)
        .collect();
    check!(
        c,
        ranks == [2, 4, 6],
        "sort-key order on the index: {ranks:?}"
    );
    let q = Thing::query()
        .eq(f.kind.clone(), Kind::Fancy)
        .reverse()
        .limit(1);
    let page = q.send()?;
    check!(
        c,
        page.items.len() == 1 && page.last_evaluated_key.is_some(),
        "one page"
    );
    check!(
        c,
        page.items[0].rank >= 6,
        "newest first: {}",
        page.items[0].rank
    );
    let n = Thing::query().eq(f.kind.clone(), Kind::Plain).count()?;
    check!(c, n >= 2, "count follows pages: {n}");
    let capped = Thing::query()
        .eq(f.kind.clone(), Kind::Fancy)
        .limit(1)
        .all(2)?;
    check!(
        c,
        capped.len() == 2,
        "all(cap) stops at the cap: {}",
        capped.len()
    );
    let one = Thing::query().eq(f.id.clone(), "q3").plan()?;
    check!(c, one.starts_with("table: pk"), "{one}");
    let got = Thing::query().eq(f.id.clone(), "q3").all(10)?;
    check!(
        c,
        got.len() == 1 && got[0].rank == 6,
        "table key from the template"
    );
    let local = Thing::query()
        .eq(f.id.clone(), "q3")
        .gt(f.rank.clone(), 1u32);
    check!(
        c,
        local.plan()?.starts_with("index by_rank"),
        "{}",
        local.plan()?
    );
    check!(c, local.all(10)?.len() == 1, "the local index");
    let e = Thing::query().eq(f.name.clone(), "x").all(10);
    let text = e
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    check!(c, matches!(e, Err(Error::NoIndex { .. })), "{text}");
    check!(
        c,
        text.contains("needs `id =`") && text.contains("index `by_kind` needs `kind =`"),
        "{text}"
    );
    let forced = Thing::query()
        .eq(f.kind.clone(), Kind::Plain)
        .filter(f.name.begins_with("thing"));
    check!(
        c,
        forced.all(100)?.iter().all(|t| t.kind == Some(Kind::Plain)),
        "filters"
    );
    Ok(c)
}

/// Scans read only the model's entity; a parallel scan reads every segment.
fn scan() -> Outcome {
    let mut c = Checks(0);
    for i in 0..7u32 {
        let mut t = thing(&format!("s{i}"));
        t.rank = 500;
        t.save()?;
        let note = Note {
            thing: format!("s{i}"),
            n: i,
            text: "note".into(),
        };
        let mut note = note;
        note.save()?;
    }
    let f = Thing::fields();
    let all = Thing::scan()
        .filter(f.rank.eq(500u32))
        .parallel(3)
        .all(1000)?;
    check!(
        c,
        all.len() == 7,
        "7 things over 3 segments, notes filtered out: {}",
        all.len()
    );
    let n = Thing::scan()
        .filter(f.rank.eq(500u32))
        .parallel(3)
        .count()?;
    check!(c, n == 7, "count: {n}");
    let notes = Note::scan().all(1000)?;
    check!(c, notes.len() >= 7, "notes: {}", notes.len());
    let one = Thing::scan()
        .filter(f.rank.eq(500u32))
        .segment(0, 2)
        .all(1000)?
        .len()
        + Thing::scan()
            .filter(f.rank.eq(500u32))
            .segment(1, 2)
            .all(1000)?
            .len();
    check!(c, one == 7, "two segments cover the table: {one}");
    Ok(c)
}

/// Batches are split into DynamoDB's sizes; retry returns what is left.
fn batch() -> Outcome {
    let mut c = Checks(0);
    let mut items: Vec<Plain> = (0..40)
        .map(|i| Plain {
            id: format!("b{i}"),
            value: i,
        })
        .collect();
    let left = Retry::new(3).put(&mut items)?;
    check!(
        c,
        left.is_empty(),
        "40 puts in two batches: {} left",
        left.len()
    );
    let keys = (0..40).map(|i| Plain::key(format!("b{i}"))).collect();
    let got = Plain::batch_get(keys)?;
    check!(
        c,
        got.items.len() == 40 && got.unprocessed.is_empty(),
        "{}",
        got.items.len()
    );
    let sum: i64 = got.items.iter().map(|p| p.value).sum();
    check!(c, sum == (0..40).sum::<i64>(), "{sum}");
    let left = Plain::batch_delete((0..30).map(|i| Plain::key(format!("b{i}"))).collect())?;
    check!(c, left.is_empty(), "deletes");
    let rest = Plain::batch_get((0..40).map(|i| Plain::key(format!("b{i}"))).collect())?;
    check!(c, rest.items.len() == 10, "{}", rest.items.len());
    Ok(c)
}

/// A transaction mixing models, a plain builder and a condition: all or nothing.
fn transact() -> Outcome {
    let mut c = Checks(0);
    Thing::create(&mut thing("tx"))?;
    let f = Thing::fields();
    let plain = Table::open("plain")?;
    let mut note = Note {
        thing: "tx".into(),
        n: 1,
        text: "first".into(),
    };
    transaction()
        .create(&mut note)
        .update(Thing::update(Thing::key("tx")).add(f.count.clone(), 1))
        .raw(|tx| tx.put(plain.put(key("id", "tx-plain").with("value", 1))))
        .send()?;
    let t = Thing::get(Thing::key("tx"))?.ok_or(Failed("missing".into()))?;
    check!(c, t.count == 2, "{}", t.count);
    check!(
        c,
        raw("plain", key("id", "tx-plain"))?.is_some(),
        "the plain put"
    );
    let mut dup = Note {
        thing: "tx".into(),
        n: 1,
        text: "again".into(),
    };
    let e = transaction()
        .create(&mut dup)
        .update(Thing::update(Thing::key("tx")).add(f.count.clone(), 1))
        .send();
    let reasons = match &e {
        Err(Error::Data(data::Error::TransactionCanceled(r))) => r.clone(),
        other => return Err(Failed(format!("expected a cancellation, got {other:?}"))),
    };
    check!(
        c,
        reasons[0].is_condition_failure() && !reasons[1].is_failure(),
        "{reasons:?}"
    );
    let t = Thing::get(Thing::key("tx"))?.ok_or(Failed("missing".into()))?;
    check!(c, t.count == 2, "nothing applied: {}", t.count);
    let e = transaction()
        .check(Thing::key("tx"), f.rank.eq(99u32))
        .delete(Note::key("tx", 1u32))
        .send();
    check!(
        c,
        e.as_ref().is_err_and(Error::is_condition_failure),
        "{e:?}"
    );
    check!(
        c,
        Note::get(Note::key("tx", 1u32))?.is_some(),
        "the delete did not apply"
    );
    let mut bad = thing("tx-bad");
    bad.rank = 1;
    let e = transaction().create(&mut bad).send();
    check!(
        c,
        matches!(e, Err(Error::Validation { .. })),
        "validated before sending: {e:?}"
    );
    Ok(c)
}

/// One query returns the thing and its notes as a typed enum.
fn collection() -> Outcome {
    let mut c = Checks(0);
    Thing::create(&mut thing("col"))?;
    for n in 0..3 {
        Note {
            thing: "col".into(),
            n,
            text: format!("note {n}"),
        }
        .save()?;
    }
    let records = ThingRecords::query(&Thing::key("col")).all(100)?;
    let things = records
        .iter()
        .filter(|r| matches!(r, ThingRecords::Thing(t) if t.id == "col"))
        .count();
    let notes: Vec<u32> = records
        .iter()
        .filter_map(|r| match r {
            ThingRecords::Note(n) => Some(n.n),
            ThingRecords::Thing(_) => None,
        })
        .collect();
    check!(c, things == 1 && notes == [0, 1, 2], "{things} {notes:?}");
    // An item of another entity under the partition is an error, not skipped.
    Table::open("models")?
        .put(
            key("pk", "THING#col")
                .with("sk", "X")
                .with("_type", "Stranger"),
        )
        .send()?;
    let e = ThingRecords::query(&Thing::key("col")).all(100);
    check!(
        c,
        matches!(&e, Err(Error::WrongEntity { found: Some(f), .. }) if f == "Stranger"),
        "{:?}",
        e.err()
    );
    Ok(c)
}

/// A model whose key differs from the table's is refused with the reason.
fn mismatch() -> Outcome {
    let mut c = Checks(0);
    let e = Wrong::get(Wrong::key("x"));
    let text = e
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    check!(
        c,
        matches!(e, Err(Error::Schema { model: "Wrong", .. })),
        "{text}"
    );
    check!(
        c,
        text.contains("table `plain`'s partition key is `id`, the model's is `key`"),
        "{text}"
    );
    Ok(c)
}

/// Sets DynamoDB refuses reach the host unchanged and are refused with its errors.
fn sets() -> Outcome {
    let mut c = Checks(0);
    let mut t = thing("sets");
    t.tags = Some(StringSet::new());
    let e = Thing::create(&mut t);
    let text = e
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    check!(
        c,
        matches!(e, Err(Error::Data(data::Error::Validation(_)))),
        "{text}"
    );
    check!(c, text.contains("may not be empty"), "{text}");
    t.tags = Some(StringSet::from(["x", "x"]));
    let e = Thing::create(&mut t);
    let text = e
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    check!(c, text.contains("contains duplicates"), "{text}");
    check!(
        c,
        raw("models", thing_key("sets"))?.is_none(),
        "nothing written"
    );
    t.tags = Some(StringSet::from(["x", "y"]));
    Thing::create(&mut t)?;
    let got = Thing::get(Thing::key("sets"))?.and_then(|t| t.tags);
    check!(
        c,
        got.is_some_and(|s| s.len() == 2),
        "a valid set round-trips"
    );
    Ok(c)
}

/// A stored value of the wrong type names the attribute; a missing one too.
fn types() -> Outcome {
    let mut c = Checks(0);
    let table = Table::open("models")?;
    table
        .put(
            thing_key("types")
                .with("_type", "Thing")
                .with("id", "types")
                .with("name", "n")
                .with("rank", 2)
                .with("n", "two"),
        )
        .send()?;
    let e = Thing::get(Thing::key("types"));
    check!(
        c,
        matches!(e, Err(Error::TypeMismatch { attribute: "n", .. })),
        "{e:?}"
    );
    table
        .put(
            thing_key("types")
                .with("_type", "Thing")
                .with("id", "types")
                .with("rank", 2),
        )
        .send()?;
    let e = Thing::get(Thing::key("types"));
    check!(
        c,
        matches!(e, Err(Error::MissingRequired { attribute: "name" })),
        "{e:?}"
    );
    table
        .put(thing_key("types").with("_type", "Note").with("id", "types"))
        .send()?;
    let e = Thing::get(Thing::key("types"));
    check!(
        c,
        matches!(&e, Err(Error::WrongEntity { expected: "Thing", found: Some(f) }) if f == "Note"),
        "{e:?}"
    );
    Ok(c)
}

/// The table resource's `describe`.
fn describe() -> Outcome {
    let mut c = Checks(0);
    let d = Table::open("models")?.describe()?;
    check!(
        c,
        d.name == "models" && d.key.partition.name == "pk",
        "{d:?}"
    );
    check!(
        c,
        d.key
            .sort
            .as_ref()
            .is_some_and(|s| s.name == "sk" && s.key_type == KeyType::S),
        "{d:?}"
    );
    let by_kind = d.index("by_kind");
    check!(
        c,
        by_kind.is_some_and(|i| i.key.partition.name == "kind"),
        "{d:?}"
    );
    check!(
        c,
        d.local_indexes.iter().any(|i| i.name == "by_rank"),
        "{d:?}"
    );
    check!(c, d.ttl_attribute.as_deref() == Some("expires"), "{d:?}");
    let plain = Table::open("plain")?.describe()?;
    check!(
        c,
        plain.key.sort.is_none() && plain.global_indexes.is_empty(),
        "{plain:?}"
    );
    // A builder query by partition value alone: the key's name comes from describe.
    Plain {
        id: "pq".into(),
        value: 1,
    }
    .save()?;
    let page = Table::open("plain")?.query().partition("pq").send()?;
    check!(c, page.items.len() == 1, "{page:?}");
    let mut t = thing("pq");
    t.kind = Some(Kind::Fancy);
    t.rank = 998;
    t.save()?;
    let page = Table::open("models")?
        .query()
        .index("by_kind")
        .partition("fancy")
        .sk_eq("rank", 998)
        .send()?;
    check!(
        c,
        page.items.len() == 1,
        "the index's partition key: {page:?}"
    );
    let e = Table::open("models")?
        .query()
        .index("nope")
        .partition("x")
        .send();
    check!(
        c,
        matches!(e, Err(data::Error::ResourceNotFound(_))),
        "{e:?}"
    );
    Ok(c)
}

/// Attributes the struct does not name are kept in its `unknown` field.
fn unknown() -> Outcome {
    let mut c = Checks(0);
    let table = Table::open("models")?;
    let mut stored = model::ModelExt::to_item(&thing("unknown"))?;
    stored.insert("legacy".into(), Value::from("kept"));
    table.put(stored).send()?;
    let mut t = Thing::get(Thing::key("unknown"))?.ok_or(Failed("missing".into()))?;
    check!(c, t.extra.get_s("legacy") == Some("kept"), "{:?}", t.extra);
    t.name = "renamed".into();
    t.save()?;
    let stored = raw("models", thing_key("unknown"))?.unwrap_or_default();
    check!(
        c,
        stored.get_s("legacy") == Some("kept"),
        "saved back: {stored:?}"
    );
    Thing::update(Thing::key("unknown"))
        .patch(&serde_json::json!({ "another": 1 }))
        .send()?;
    let stored = raw("models", thing_key("unknown"))?.unwrap_or_default();
    check!(
        c,
        stored.contains_key("another"),
        "a model with unknown attributes takes new ones"
    );
    Ok(c)
}

portico_guest::export!(handle);
