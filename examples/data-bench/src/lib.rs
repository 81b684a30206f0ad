//! The same three calls three ways, for `benches/hot_path.rs` (group `models`):
//! `GET /bench/{api}/{op}?repeat=N` with `api` = `model` | `builder` | `raw` and `op` =
//! `get` (one item) | `put` (one item) | `query` (100 items of one partition). `POST
//! /bench/seed` writes the 100 items. Each request runs `op` `repeat` times and answers
//! `{"ns": total, "items": n}`, timed inside the guest, so the bench reads both the
//! whole request (criterion) and the guest's share.
//!
//! The three ways do the same work: the same keys, the same item, typed results.

use std::time::Instant;

use portico_guest::bindings::portico::edge::data as wit;
use portico_guest::data::model::{Model, ModelExt};
use portico_guest::data::{Table, key};
use portico_guest::http::StatusCode;
use portico_guest::{Request, Response};
use serde::{Deserialize, Serialize};

const GROUP: &str = "g";
const ROWS: u32 = 100;

/// One row: the same struct for all three ways.
#[derive(Model, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[model(table = "bench", pk = "group", sk = "n", no_entity)]
struct Row {
    group: String,
    n: u32,
    title: String,
    done: bool,
    score: i64,
}

fn row(n: u32) -> Row {
    Row {
        group: GROUP.into(),
        n,
        title: format!("row number {n}"),
        done: n.is_multiple_of(2),
        score: i64::from(n) * 7,
    }
}

type Outcome = Result<usize, String>;

fn handle(req: Request) -> Response {
    let repeat: u32 = req
        .query("repeat")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let api = req.path_param("api").unwrap_or_default().to_owned();
    let op = req.path_param("op").unwrap_or_default().to_owned();
    if req.route_key() == "GET /bench/cpu" {
        return match cpu(repeat.max(1)) {
            Ok(body) => Response::ok()
                .json(&body)
                .unwrap_or_else(|_| Response::new(StatusCode::INTERNAL_SERVER_ERROR)),
            Err(e) => failed(&e),
        };
    }
    if req.route_key() == "POST /bench/seed" {
        return match seed() {
            Ok(()) => Response::new(StatusCode::NO_CONTENT),
            Err(e) => failed(&e),
        };
    }
    let run: fn() -> Outcome = match (api.as_str(), op.as_str()) {
        ("model", "get") => model_get,
        ("model", "put") => model_put,
        ("model", "query") => model_query,
        ("builder", "get") => builder_get,
        ("builder", "put") => builder_put,
        ("builder", "query") => builder_query,
        ("raw", "get") => raw_get,
        ("raw", "put") => raw_put,
        ("raw", "query") => raw_query,
        _ => return failed("no such api/op"),
    };
    let started = Instant::now();
    let mut items = 0;
    for _ in 0..repeat {
        match run() {
            Ok(n) => items += n,
            Err(e) => return failed(&e),
        }
    }
    let ns = started.elapsed().as_nanos();
    Response::ok()
        .json(&serde_json::json!({ "ns": ns as u64, "items": items }))
        .unwrap_or_else(|_| Response::new(StatusCode::INTERNAL_SERVER_ERROR))
}

fn failed(why: &str) -> Response {
    Response::new(StatusCode::INTERNAL_SERVER_ERROR)
        .json(&serde_json::json!({ "failed": why }))
        .unwrap_or_else(|_| Response::new(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The guest's own CPU per item, without the host: one page of 100 rows read once,
/// then decoded `repeat` times each way (raw document walk, serde through `from_item`,
/// the model's `from_item`), and one row encoded `repeat` × 100 times (`to_item`, the
/// model's `to_item`); plus a `describe` call, which a model makes once per instance.
fn cpu(repeat: u32) -> Result<serde_json::Value, String> {
    let table = Table::open("bench").map_err(|e| e.to_string())?;
    let page = table
        .query()
        .pk("group", GROUP)
        .limit(ROWS)
        .send()
        .map_err(|e| e.to_string())?;
    let items = page.items;
    let n = items.len() as f64 * f64::from(repeat);
    let per_item = |started: Instant| started.elapsed().as_nanos() as f64 / n;
    let docs: Vec<wit::Document> = {
        let raw = wit::Table::open("bench").map_err(|e| format!("{e:?}"))?;
        let input = raw_query_input();
        raw.query(&input).map_err(|e| format!("{e:?}"))?.items
    };
    let started = Instant::now();
    for _ in 0..repeat {
        for doc in &docs {
            std::hint::black_box(raw_row(doc)?);
        }
    }
    let raw_decode = per_item(started);
    let started = Instant::now();
    for _ in 0..repeat {
        for item in &items {
            std::hint::black_box(item.clone());
        }
    }
    let clone = per_item(started);
    let started = Instant::now();
    for _ in 0..repeat {
        for item in &items {
            let row: Row =
                portico_guest::data::from_item(item.clone()).map_err(|e| e.to_string())?;
            std::hint::black_box(row);
        }
    }
    let serde_decode = per_item(started) - clone;
    let started = Instant::now();
    for _ in 0..repeat {
        for item in &items {
            std::hint::black_box(Row::from_item(item.clone()).map_err(|e| e.to_string())?);
        }
    }
    let model_decode = per_item(started) - clone;
    let sample = row(7);
    let started = Instant::now();
    for _ in 0..repeat * ROWS {
        std::hint::black_box(portico_guest::data::to_item(&sample).map_err(|e| e.to_string())?);
    }
    let serde_encode = started.elapsed().as_nanos() as f64 / f64::from(repeat * ROWS);
    let started = Instant::now();
    for _ in 0..repeat * ROWS {
        std::hint::black_box(sample.to_item().map_err(|e| e.to_string())?);
    }
    let model_encode = started.elapsed().as_nanos() as f64 / f64::from(repeat * ROWS);
    let started = Instant::now();
    for _ in 0..repeat {
        std::hint::black_box(table.describe().map_err(|e| e.to_string())?);
    }
    let describe = started.elapsed().as_nanos() as f64 / f64::from(repeat);
    Ok(serde_json::json!({
        "decode_raw_ns": raw_decode,
        "decode_builder_ns": serde_decode,
        "decode_model_ns": model_decode,
        "encode_builder_ns": serde_encode,
        "encode_model_ns": model_encode,
        "describe_ns": describe,
    }))
}

fn seed() -> Result<(), String> {
    let table = Table::open("bench").map_err(|e| e.to_string())?;
    for n in 0..ROWS {
        table.put(row(n)).send().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn model_get() -> Outcome {
    let got = Row::get(Row::key(GROUP, 7u32)).map_err(|e| e.to_string())?;
    got.map(|_| 1).ok_or_else(|| "missing".into())
}

fn model_put() -> Outcome {
    let mut r = row(7);
    r.save().map_err(|e| e.to_string())?;
    Ok(1)
}

fn model_query() -> Outcome {
    let page = Row::query()
        .eq(Row::fields().group, GROUP)
        .limit(ROWS)
        .send()
        .map_err(|e| e.to_string())?;
    Ok(page.items.len())
}

fn builder_get() -> Outcome {
    let table = Table::open("bench").map_err(|e| e.to_string())?;
    let got: Option<Row> = table
        .get(key("group", GROUP).with("n", 7))
        .send_as()
        .map_err(|e| e.to_string())?;
    got.map(|_| 1).ok_or_else(|| "missing".into())
}

fn builder_put() -> Outcome {
    let table = Table::open("bench").map_err(|e| e.to_string())?;
    table.put(row(7)).send().map_err(|e| e.to_string())?;
    Ok(1)
}

fn builder_query() -> Outcome {
    let table = Table::open("bench").map_err(|e| e.to_string())?;
    let page = table
        .query()
        .pk("group", GROUP)
        .limit(ROWS)
        .send_as::<Row>()
        .map_err(|e| e.to_string())?;
    Ok(page.items.len())
}

/// The key `{group: "g", n: 7}` as a document, by hand.
fn raw_key() -> wit::Document {
    wit::Document {
        nodes: vec![
            wit::Value::M(vec![("group".into(), 1), ("n".into(), 2)]),
            wit::Value::S(GROUP.into()),
            wit::Value::N("7".into()),
        ],
    }
}

/// A row from a document, by hand: the root map's entries point at scalar nodes.
fn raw_row(doc: &wit::Document) -> Result<Row, String> {
    let Some(wit::Value::M(entries)) = doc.nodes.first() else {
        return Err("not a map".into());
    };
    let node = |name: &str| {
        entries
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, i)| doc.nodes.get(*i as usize))
            .ok_or_else(|| format!("no {name}"))
    };
    let text = |name: &str| match node(name)? {
        wit::Value::S(s) => Ok(s.clone()),
        _ => Err(format!("{name} is not a string")),
    };
    let number = |name: &str| match node(name)? {
        wit::Value::N(n) => n.parse::<i64>().map_err(|e| e.to_string()),
        _ => Err(format!("{name} is not a number")),
    };
    let done = match node("done")? {
        wit::Value::Boolean(b) => *b,
        _ => return Err("done is not a boolean".into()),
    };
    Ok(Row {
        group: text("group")?,
        n: u32::try_from(number("n")?).map_err(|e| e.to_string())?,
        title: text("title")?,
        done,
        score: number("score")?,
    })
}

fn raw_get() -> Outcome {
    let table = wit::Table::open("bench").map_err(|e| format!("{e:?}"))?;
    let options = wit::GetOptions {
        consistent: false,
        projection: None,
        names: Vec::new(),
    };
    let doc = table
        .get(&raw_key(), &options)
        .map_err(|e| format!("{e:?}"))?
        .ok_or("missing")?;
    raw_row(&doc).map(|_| 1)
}

fn raw_put() -> Outcome {
    let table = wit::Table::open("bench").map_err(|e| format!("{e:?}"))?;
    let r = row(7);
    let doc = wit::Document {
        nodes: vec![
            wit::Value::M(vec![
                ("done".into(), 1),
                ("group".into(), 2),
                ("n".into(), 3),
                ("score".into(), 4),
                ("title".into(), 5),
            ]),
            wit::Value::Boolean(r.done),
            wit::Value::S(r.group),
            wit::Value::N(r.n.to_string()),
            wit::Value::N(r.score.to_string()),
            wit::Value::S(r.title),
        ],
    };
    let options = wit::WriteOptions {
        condition: None,
        placeholders: wit::Placeholders {
            names: Vec::new(),
            values: Vec::new(),
        },
        return_values: wit::ReturnValues::None,
        return_old_on_condition_failure: false,
    };
    table.put(&doc, &options).map_err(|e| format!("{e:?}"))?;
    Ok(1)
}

fn raw_query_input() -> wit::QueryInput {
    wit::QueryInput {
        index: None,
        key_condition: "#g = :g".into(),
        filter: None,
        projection: None,
        placeholders: wit::Placeholders {
            names: vec![("#g".into(), "group".into())],
            values: vec![(
                ":g".into(),
                wit::Document {
                    nodes: vec![wit::Value::S(GROUP.into())],
                },
            )],
        },
        limit: Some(ROWS),
        exclusive_start_key: None,
        forward: true,
        consistent: false,
        count_only: false,
    }
}

fn raw_query() -> Outcome {
    let table = wit::Table::open("bench").map_err(|e| format!("{e:?}"))?;
    let page = table
        .query(&raw_query_input())
        .map_err(|e| format!("{e:?}"))?;
    let rows = page
        .items
        .iter()
        .map(raw_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.len())
}

portico_guest::export!(handle);
