//! `portico data`: read and write the manifest's data store directly, on either backend,
//! for seeding, inspection and backups. Items are JSON, one per line.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use portico_data::ops::Page;
use portico_data::ops::{
    BatchWrite, BatchWriteRequest, DeleteItem, GetItem, Placeholders, PutItem, Query, ReturnValues,
    Scan,
};
use portico_data::value::{item_from_json, item_from_plain_json, item_to_json, item_to_plain_json};
use portico_data::{Backend, DataError, Item};
use serde_json::Value as Json;

use crate::manifest::Manifest;

/// How items are written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JsonFormat {
    /// Plain JSON (`{"id": "a", "n": 1}`): readable, but numbers beyond 64-bit integers
    /// or doubles lose digits and binaries and sets are not told apart.
    Plain,
    /// DynamoDB JSON (`{"id": {"S": "a"}, "n": {"N": "1"}}`): lossless.
    Dynamodb,
}

/// `portico data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print the item with this key.
    Get {
        /// The table.
        table: String,
        /// The key, as JSON (`'{"id": "a"}'`).
        key: String,
        /// Strongly consistent read.
        #[arg(long)]
        consistent: bool,
    },
    /// Create or replace an item.
    Put {
        /// The table.
        table: String,
        /// The item as JSON, or `-` to read it from stdin.
        item: String,
    },
    /// Delete the item with this key; prints the deleted item.
    Delete {
        /// The table.
        table: String,
        /// The key, as JSON.
        key: String,
    },
    /// Print the items of one partition, one per line.
    Query {
        /// What to read.
        #[command(flatten)]
        read: ReadArgs,
        /// `KeyConditionExpression`, e.g. `'id = :id'`.
        #[arg(long)]
        key_condition: String,
        /// Descending sort-key order.
        #[arg(long)]
        reverse: bool,
    },
    /// Print every item of a table or index, one per line.
    Scan {
        /// What to read.
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Write every item of a table as JSON lines: `{"Item": {...}}` in DynamoDB JSON, as
    /// DynamoDB's S3 export writes them (one plain item per line with `--json plain`).
    Export {
        /// The table.
        table: String,
        /// The file to write (stdout when absent).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write the items of a JSON lines file into a table (the `export` format, or one
    /// item per line).
    Import {
        /// The table.
        table: String,
        /// The file to read (stdin when absent).
        #[arg(long)]
        input: Option<PathBuf>,
    },
}

/// What `query` and `scan` read, and how much of it they print.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The table.
    table: String,
    /// A secondary index to read instead of the table.
    #[arg(long)]
    index: Option<String>,
    /// `FilterExpression`.
    #[arg(long)]
    filter: Option<String>,
    /// `ExpressionAttributeNames` as a JSON object (`'{"#s": "status"}'`).
    #[arg(long)]
    names: Option<String>,
    /// `ExpressionAttributeValues` as a JSON object, in the `--json` format.
    #[arg(long)]
    values: Option<String>,
    /// Print at most this many items.
    #[arg(long)]
    limit: Option<usize>,
}

/// Runs a `portico data` subcommand against the manifest's store, with items in
/// `format` (by default plain JSON, and DynamoDB JSON for `export` and `import`).
pub fn run(
    manifest: &Manifest,
    command: DataCommand,
    format: Option<JsonFormat>,
) -> anyhow::Result<()> {
    let format = format.unwrap_or(match command {
        DataCommand::Export { .. } | DataCommand::Import { .. } => JsonFormat::Dynamodb,
        _ => JsonFormat::Plain,
    });
    if manifest.data.tables.is_empty() {
        bail!(
            "{} declares no tables: add a [tables.NAME] section",
            manifest.path.display()
        );
    }
    // Held until the command ends: no `up` or other `data` may open the store meanwhile.
    let _lock = super::lock_embedded_store(manifest, "data")?;
    super::tokio_runtime()?.block_on(async {
        let backend = crate::data::open_backend(&manifest.data)
            .await
            .context("cannot open the data store (is `portico up` using it?)")?;
        execute(backend, command, format).await
    })
}

async fn execute(
    backend: Arc<dyn Backend>,
    command: DataCommand,
    format: JsonFormat,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        DataCommand::Get {
            table,
            key,
            consistent,
        } => {
            let key = parse_item(&key, format)?;
            let request = GetItem {
                table,
                key,
                consistent,
                projection: None,
                names: Default::default(),
            };
            match backend.get_item(request).await? {
                Some(item) => print_item(&mut out, &item, format)?,
                None => bail!("no item with that key"),
            }
        }
        DataCommand::Put { table, item } => {
            let text = if item == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("cannot read the item from stdin")?
            } else {
                item
            };
            let item = parse_item(&text, format)?;
            backend.put_item(put(table, item)).await?;
        }
        DataCommand::Delete { table, key } => {
            let key = parse_item(&key, format)?;
            let request = DeleteItem {
                table,
                key,
                condition: None,
                placeholders: Placeholders::default(),
                return_values: ReturnValues::AllOld,
                return_old_on_condition_failure: false,
            };
            match backend.delete_item(request).await?.attributes {
                Some(item) => print_item(&mut out, &item, format)?,
                None => bail!("no item with that key"),
            }
        }
        DataCommand::Query {
            read,
            key_condition,
            reverse,
        } => {
            let placeholders = placeholders(read.names.as_deref(), read.values.as_deref(), format)?;
            let request = Query {
                table: read.table,
                index: read.index,
                key_condition,
                filter: read.filter,
                projection: None,
                placeholders,
                limit: None,
                exclusive_start_key: None,
                forward: !reverse,
                consistent: false,
                count_only: false,
            };
            let pages = |start| {
                let request = Query {
                    exclusive_start_key: start,
                    ..request.clone()
                };
                let backend = Arc::clone(&backend);
                async move { backend.query(request).await }
            };
            each_item(pages, read.limit, |item| print_item(&mut out, item, format)).await?;
        }
        DataCommand::Scan { read } => {
            let placeholders = placeholders(read.names.as_deref(), read.values.as_deref(), format)?;
            let request = scan(read.table, read.index, read.filter, placeholders);
            each_item(scan_pages(&backend, request), read.limit, |item| {
                print_item(&mut out, item, format)
            })
            .await?;
        }
        DataCommand::Export { table, output } => {
            let mut sink: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(out),
            };
            let mut count = 0_u64;
            let request = scan(table, None, None, Placeholders::default());
            each_item(scan_pages(&backend, request), None, |item| {
                let line = match format {
                    JsonFormat::Dynamodb => serde_json::json!({ "Item": item_to_json(item) }),
                    JsonFormat::Plain => item_to_plain_json(item),
                };
                writeln!(sink, "{line}")?;
                count += 1;
                Ok(())
            })
            .await?;
            sink.flush()?;
            eprintln!("exported {count} items");
        }
        DataCommand::Import { table, input } => {
            let reader: Box<dyn std::io::BufRead> = match &input {
                Some(path) => Box::new(std::io::BufReader::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?,
                )),
                None => Box::new(std::io::stdin().lock()),
            };
            let count = import(&*backend, &table, reader, format).await?;
            eprintln!("imported {count} items");
        }
    }
    Ok(())
}

fn put(table: String, item: Item) -> PutItem {
    PutItem {
        table,
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn scan(
    table: String,
    index: Option<String>,
    filter: Option<String>,
    placeholders: Placeholders,
) -> Scan {
    Scan {
        table,
        index,
        filter,
        projection: None,
        placeholders,
        limit: None,
        exclusive_start_key: None,
        segment: None,
        consistent: false,
        count_only: false,
    }
}

/// Reads pages with `read(start)`, following each page's last evaluated key, and hands
/// each item to `visit`, stopping after `limit` items.
async fn each_item<F, Fut>(
    mut read: F,
    limit: Option<usize>,
    mut visit: impl FnMut(&Item) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    F: FnMut(Option<Item>) -> Fut,
    Fut: Future<Output = Result<Page, DataError>>,
{
    let mut visited = 0;
    let mut start = None;
    loop {
        let page = read(start).await?;
        for item in &page.items {
            if limit.is_some_and(|limit| visited >= limit) {
                return Ok(());
            }
            visit(item)?;
            visited += 1;
        }
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(()),
        }
    }
}

/// One page being read.
type PageFuture = std::pin::Pin<Box<dyn Future<Output = Result<Page, DataError>> + Send>>;

/// The page reader of a scan, for [`each_item`].
fn scan_pages(backend: &Arc<dyn Backend>, request: Scan) -> impl FnMut(Option<Item>) -> PageFuture {
    let backend = Arc::clone(backend);
    move |start| {
        let request = Scan {
            exclusive_start_key: start,
            ..request.clone()
        };
        let backend = Arc::clone(&backend);
        Box::pin(async move { backend.scan(request).await })
    }
}

/// Writes the items of a JSON lines stream in batches of 25, retrying unprocessed ones
/// with backoff.
async fn import(
    backend: &dyn Backend,
    table: &str,
    reader: Box<dyn std::io::BufRead>,
    format: JsonFormat,
) -> anyhow::Result<u64> {
    let mut batch = Vec::with_capacity(25);
    let mut count = 0;
    for (number, line) in reader.lines().enumerate() {
        let line = line.context("cannot read the input")?;
        if line.trim().is_empty() {
            continue;
        }
        let json: Json = serde_json::from_str(&line)
            .with_context(|| format!("line {}: not JSON", number + 1))?;
        // Accept DynamoDB's export lines (`{"Item": {...}}`) as well as bare items.
        let json = match json {
            Json::Object(mut map) if map.len() == 1 && map.contains_key("Item") => {
                map.remove("Item").unwrap_or_default()
            }
            other => other,
        };
        let item = item_of(&json, format).with_context(|| format!("line {}", number + 1))?;
        batch.push(BatchWriteRequest::Put(item));
        if batch.len() == 25 {
            count += write_batch(backend, table, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        count += write_batch(backend, table, batch).await?;
    }
    Ok(count)
}

async fn write_batch(
    backend: &dyn Backend,
    table: &str,
    writes: Vec<BatchWriteRequest>,
) -> anyhow::Result<u64> {
    let count = writes.len() as u64;
    let mut request = BatchWrite::default();
    request.tables.insert(table.to_owned(), writes);
    let mut delay = Duration::from_millis(50);
    for _ in 0..10 {
        let output = backend.batch_write(request).await?;
        if output.unprocessed.values().all(Vec::is_empty) {
            return Ok(count);
        }
        request = BatchWrite {
            tables: output.unprocessed,
        };
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    bail!("the store kept refusing writes (throttled); try again later")
}

fn item_of(json: &Json, format: JsonFormat) -> anyhow::Result<Item> {
    Ok(match format {
        JsonFormat::Plain => item_from_plain_json(json)?,
        JsonFormat::Dynamodb => item_from_json(json)?,
    })
}

fn parse_item(text: &str, format: JsonFormat) -> anyhow::Result<Item> {
    let json: Json = serde_json::from_str(text).context("not valid JSON")?;
    item_of(&json, format)
}

fn placeholders(
    names: Option<&str>,
    values: Option<&str>,
    format: JsonFormat,
) -> anyhow::Result<Placeholders> {
    let names = match names {
        Some(text) => {
            serde_json::from_str(text).context("--names must be a JSON object of strings")?
        }
        None => Default::default(),
    };
    let values = match values {
        Some(text) => parse_item(text, format).context("--values")?,
        None => Default::default(),
    };
    Ok(Placeholders { names, values })
}

fn print_item(
    out: &mut impl std::io::Write,
    item: &Item,
    format: JsonFormat,
) -> anyhow::Result<()> {
    let json = match format {
        JsonFormat::Plain => item_to_plain_json(item),
        JsonFormat::Dynamodb => item_to_json(item),
    };
    writeln!(out, "{json}")?;
    Ok(())
}
