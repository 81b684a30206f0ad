//! The conformance suite: every case on every backend, with identical expectations.
//!
//! 1. starts one dynoxide (a DynamoDB-compatible server) on a free loopback port;
//! 2. opens the embedded store in a fresh temporary directory and connects the dynamodb
//!    backend to dynoxide (dummy credentials, tables created), each with tables of its
//!    own for every case;
//! 3. runs the cases on both backends, several at a time;
//! 4. prints a pass/fail table (case order, whatever order they finished in), the
//!    failures and the notes (known reference-server differences among them);
//! 5. stops the server and exits non-zero if any case failed on any backend.
//!
//! `cargo test -p portico-conformance --test conformance [FILTER…]` runs the cases whose
//! names contain any FILTER. `PORTICO_CONFORMANCE_BACKENDS=embedded` (or `dynamodb`)
//! runs one backend only. dynoxide is `$PORTICO_DYNOXIDE`, else `dynoxide` on `PATH`,
//! else the copy under `/var/tmp/portico-tools`.

mod cases;
mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_conformance::harness::{KnownFailure, RunOptions, Sweeper, Target, report, run_cases};
use portico_conformance::tables::table_name;
use portico_conformance::{Case, Kind};
use portico_data::TableSchema;
use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_dynamodb::DynamoDbBackend;
use portico_dynamodb::test_server::{DYNOXIDE_ENV, TestServer};

/// Cases that fail on a backend for a reported bug, shown as `known-fail` instead of
/// failing the run. Each entry names the bug; remove it when the bug is fixed (a listed
/// case that passes fails the run).
const KNOWN_FAILING: &[KnownFailure] = &[];

/// Where the workspace's tooling installs dynoxide, used when neither the environment
/// nor `PATH` names one.
const DYNOXIDE_FALLBACK: &str = "/var/tmp/portico-tools/dynoxide-3.2.0/bin/dynoxide";

const OPTIONS: RunOptions = RunOptions {
    concurrency: 8,
    timeout: Duration::from_secs(120),
};

fn main() -> ExitCode {
    // Before any other thread exists (see its SAFETY note).
    locate_dynoxide();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let cases: Vec<Case> = cases::all()
        .into_iter()
        .filter(|case| filters.is_empty() || filters.iter().any(|f| case.name.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        eprintln!("conformance: no case matches {filters:?}");
        return ExitCode::FAILURE;
    }
    let wanted = std::env::var("PORTICO_CONFORMANCE_BACKENDS")
        .unwrap_or_else(|_| "embedded,dynamodb".to_owned());
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();

    let run = format!("conf{}", std::process::id());
    let table = |case: usize, kind: Kind| table_name(&run, case, kind);
    let schemas: Vec<TableSchema> = cases
        .iter()
        .enumerate()
        .flat_map(|(index, case)| case.tables.iter().map(move |&kind| (index, kind)))
        .map(|(index, kind)| kind.schema(table(index, kind)))
        .collect();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("conformance: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut targets: Vec<Target> = Vec::new();
    // Kept alive until the cases have run.
    let mut _data_dir = None;
    let mut server = None;

    if wanted.contains(&"embedded") {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => {
                eprintln!("conformance: cannot make a temporary directory: {error}");
                return ExitCode::FAILURE;
            }
        };
        let started = Instant::now();
        match Embedded::open(&EmbeddedConfig::new(dir.path()), &schemas) {
            Ok(store) => {
                println!(
                    "embedded: {} tables in {} ({:.1?})",
                    schemas.len(),
                    dir.path().display(),
                    started.elapsed()
                );
                let sweeping = store.clone();
                let sweeper: Sweeper = Arc::new(move || sweeping.sweep_expired());
                targets.push(Target {
                    name: "embedded",
                    backend: Arc::new(store),
                    sweeper: Some(sweeper),
                    reference: false,
                });
            }
            Err(error) => {
                eprintln!("conformance: the embedded store did not open: {error}");
                return ExitCode::FAILURE;
            }
        }
        _data_dir = Some(dir);
    }

    if wanted.contains(&"dynamodb") {
        let started = Instant::now();
        let dynoxide = match TestServer::start() {
            Ok(server) => server,
            Err(error) => {
                eprintln!("conformance: cannot start dynoxide: {error}");
                return ExitCode::FAILURE;
            }
        };
        let config = dynoxide.config();
        println!(
            "dynoxide: {} ({:.1?})",
            dynoxide.endpoint(),
            started.elapsed()
        );
        let started = Instant::now();
        match runtime.block_on(DynamoDbBackend::connect(&config, &schemas)) {
            Ok(backend) => {
                println!(
                    "dynamodb: {} tables created on dynoxide ({:.1?})",
                    schemas.len(),
                    started.elapsed()
                );
                targets.push(Target {
                    name: "dynamodb",
                    backend: Arc::new(backend),
                    sweeper: None,
                    reference: true,
                });
            }
            Err(error) => {
                eprintln!("conformance: the dynamodb backend did not connect to dynoxide: {error}");
                return ExitCode::FAILURE;
            }
        }
        server = Some(dynoxide);
    }

    if targets.is_empty() {
        eprintln!("conformance: no backend selected by PORTICO_CONFORMANCE_BACKENDS={wanted:?}");
        return ExitCode::FAILURE;
    }

    println!(
        "running {} case(s) on {}\n",
        cases.len(),
        targets
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let runs: Vec<_> = targets
            .iter()
            .map(|target| run_cases(target, &cases, &table, KNOWN_FAILING, OPTIONS))
            .collect();
        join_all(runs).await
    });
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let (text, passed) = report(&cases, &names, &outcomes);
    print!("{text}");
    println!("finished in {:.1?}", started.elapsed());

    drop(targets);
    runtime.shutdown_timeout(Duration::from_secs(5));
    if let Some(server) = server {
        println!("stopping dynoxide");
        drop(server);
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the futures concurrently on this task; results in order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Points `PORTICO_DYNOXIDE` at the fallback copy when neither it nor `PATH` names one.
#[allow(unsafe_code, reason = "std::env::set_var; see the SAFETY comment")]
fn locate_dynoxide() {
    let named = std::env::var_os(DYNOXIDE_ENV).is_some_and(|p| !p.is_empty());
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("dynoxide").is_file()));
    if !named && !on_path && std::path::Path::new(DYNOXIDE_FALLBACK).is_file() {
        // SAFETY: called first thing in `main`, before this process starts any other
        // thread, so nothing reads the environment concurrently.
        unsafe { std::env::set_var(DYNOXIDE_ENV, DYNOXIDE_FALLBACK) };
    }
}
