//! The `portico` command line: `up`, `build`, `invoke`, `token`, `data`, and the admin API's
//! clients `deploy`, `versions`, `rollback`.

mod build;
mod build_cache;
mod client;
mod data;
mod invoke;
mod lock;
mod new;
mod openapi;
mod report;
mod token;
mod up;
mod watch;

pub use build::{build_functions, build_one, precompile};

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// API Gateway + Lambda + DynamoDB in one binary.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about)]
pub struct Cli {
    /// Log format on stderr. The level is set with RUST_LOG (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the manifest's routes.
    Up {
        /// The manifest.
        #[arg(long, default_value = "portico.toml")]
        manifest: PathBuf,
        /// Address to listen on (overrides `[server] listen`; port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Address of the admin API, `/healthz` and `/metrics` (overrides
        /// `[server] admin_listen`, default 127.0.0.1:3001; port 0 picks a free port).
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        /// Run the functions' build commands first.
        #[arg(long)]
        build: bool,
        /// Rebuild and hot-swap a function when its `watch` sources or its module file
        /// change, and reload the manifest when it changes.
        #[arg(long)]
        watch: bool,
    },
    /// Run the functions' build commands.
    Build {
        /// The manifest.
        #[arg(long, default_value = "portico.toml")]
        manifest: PathBuf,
        /// Run every build command, even those whose `watch` sources are unchanged
        /// since they last succeeded.
        #[arg(long)]
        force: bool,
    },
    /// Replay one API Gateway event (payload 1.0 or 2.0 JSON) with the context it
    /// recorded, and print the response in the event's payload format.
    Invoke {
        /// The manifest.
        #[arg(long, default_value = "portico.toml")]
        manifest: PathBuf,
        /// The event file (`-` for stdin).
        #[arg(long)]
        event: PathBuf,
        /// Treat the event as a new request: a fresh request id and time, the
        /// manifest's stage, the route's authorizer and API-key check run, and the
        /// answer in payload 2.0.
        #[arg(long)]
        fresh_context: bool,
    },
    /// Deploy a component to a running host's function (hot swap, through the admin API).
    Deploy {
        /// The function.
        function: String,
        /// The component (`.wasm`).
        module: PathBuf,
        /// A JSON file of settings to change with it: `limits`, `environment`, `routes`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Deploy for this stage only: it serves the new version, the live version and
        /// other stages stay as they are.
        #[arg(long)]
        stage: Option<String>,
        /// The admin API and its token.
        #[command(flatten)]
        admin: client::AdminArgs,
    },
    /// List a function's kept versions on a running host.
    Versions {
        /// The function.
        function: String,
        /// The admin API and its token.
        #[command(flatten)]
        admin: client::AdminArgs,
    },
    /// Make an earlier version of a function live again on a running host.
    Rollback {
        /// The function.
        function: String,
        /// The version to go back to (default: the one before the live one); with
        /// `--stage`, `live` makes the stage follow the live version again.
        #[arg(long)]
        to: Option<String>,
        /// Roll back this stage only.
        #[arg(long)]
        stage: Option<String>,
        /// The admin API and its token.
        #[command(flatten)]
        admin: client::AdminArgs,
    },
    /// Make a new function: its directory (a working template) and its entry in the
    /// manifest (created if missing). Then `portico up --build` serves it.
    New(new::NewArgs),
    /// Print the OpenAPI 3.1 document of the manifest's routes (what the portal serves
    /// at /openapi.json), without serving anything.
    Openapi {
        /// The manifest.
        #[arg(long, default_value = "portico.toml")]
        manifest: PathBuf,
        /// The stage to document (its prefix, throttles and API key setting); the first
        /// by default.
        #[arg(long)]
        stage: Option<String>,
    },
    /// Mint a JWT from the development issuer (`portico-dev`), to call routes whose
    /// authorizer has `issuer = "portico-dev"`. Prints the token as the last line.
    Token {
        /// The manifest (its data directory keeps the development key).
        #[arg(long, default_value = "portico.toml")]
        manifest: PathBuf,
        /// The claims.
        #[command(flatten)]
        args: token::TokenArgs,
    },
    /// Manage a running host's API keys (through its admin API): create, list, revoke,
    /// usage.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: client::KeysCommand,
        /// The admin API and its token.
        #[command(flatten)]
        admin: client::AdminArgs,
    },
    /// Operate a running host's topics (through its admin API): publish, stats,
    /// dead-letters, redrive.
    Topics {
        /// What to do.
        #[command(subcommand)]
        command: client::TopicsCommand,
        /// The admin API and its token.
        #[command(flatten)]
        admin: client::AdminArgs,
    },
    /// Read and write the data store directly: get, put, delete, query, scan, export,
    /// import. Uses the manifest's `[data]` backend (or PORTICO_DATA_BACKEND).
    Data {
        /// The manifest.
        #[arg(long, default_value = "portico.toml", global = true)]
        manifest: PathBuf,
        /// JSON format of items in and out (default: plain, but DynamoDB JSON for
        /// `export` and `import`, which must be lossless).
        #[arg(long, value_enum, global = true)]
        json: Option<data::JsonFormat>,
        /// The operation.
        #[command(subcommand)]
        command: data::DataCommand,
    },
}

/// Runs the command line; errors are printed with their causes, each once.
pub fn main() -> ExitCode {
    // Before anything can touch jsonwebtoken: its signature checks run on ring.
    crate::policy::jwt::install_crypto();
    let cli = Cli::parse();
    let json = matches!(cli.log_format, LogFormat::Json);
    // `up` reads its manifest first: it may ask for span export.
    let logging = match &cli.command {
        Command::Up { .. } => Ok(()),
        _ => crate::telemetry::init(json, None),
    };
    let result = logging.and_then(|()| match cli.command {
        Command::Build { manifest, force } => load(&manifest).and_then(|m| {
            build_functions(&m, force)?;
            precompile(&m)
        }),
        Command::Up {
            manifest,
            listen,
            admin_listen,
            build,
            watch,
        } => load(&manifest).and_then(|m| {
            crate::telemetry::init(json, Some(&m.telemetry))?;
            up::run(m, listen, admin_listen, build, watch)
        }),
        Command::Invoke {
            manifest,
            event,
            fresh_context,
        } => load(&manifest).and_then(|m| invoke::run(&m, &event, fresh_context)),
        Command::New(args) => new::run(&args),
        Command::Openapi { manifest, stage } => {
            load(&manifest).and_then(|m| openapi::run(&m, stage.as_deref()))
        }
        Command::Token { manifest, args } => load(&manifest).and_then(|m| token::run(&m, args)),
        Command::Data {
            manifest,
            json,
            command,
        } => load(&manifest).and_then(|m| data::run(&m, command, json)),
        Command::Deploy {
            function,
            module,
            config,
            stage,
            admin,
        } => client::run(
            &admin,
            client::Request::Deploy {
                function,
                module,
                config,
                stage,
            },
        ),
        Command::Versions { function, admin } => {
            client::run(&admin, client::Request::Versions { function })
        }
        Command::Rollback {
            function,
            to,
            stage,
            admin,
        } => client::run(
            &admin,
            client::Request::Rollback {
                function,
                to,
                stage,
            },
        ),
        Command::Keys { command, admin } => client::run(&admin, client::Request::Keys(command)),
        Command::Topics { command, admin } => client::run(&admin, client::Request::Topics(command)),
    });
    crate::telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", report::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Environment variable that picks the data backend over the manifest's `[data] backend`.
pub const DATA_BACKEND_ENV: &str = "PORTICO_DATA_BACKEND";

fn load(path: &std::path::Path) -> anyhow::Result<crate::manifest::Manifest> {
    let mut manifest = crate::manifest::Manifest::load(path)?;
    if let Some(choice) = std::env::var_os(DATA_BACKEND_ENV) {
        let choice = choice.to_string_lossy();
        manifest.data.backend = choice
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{DATA_BACKEND_ENV}: {e}"))?;
    }
    // Hosts sharing a DynamoDB record which of them holds each WebSocket connection
    // (one host owns an embedded store, so it needs no record).
    if manifest.data.backend == crate::manifest::BackendKind::Dynamodb
        && manifest.uses_connections()
    {
        manifest
            .data
            .tables
            .push(crate::sockets::directory::table());
    }
    Ok(manifest)
}

/// Locks the manifest's data directory for `command` when it will open the embedded
/// store in it (tables declared, embedded backend): what `data` and `invoke` use of the
/// directory. `up` always locks it (the deploy store is there too).
fn lock_embedded_store(
    manifest: &crate::manifest::Manifest,
    command: &str,
) -> anyhow::Result<Option<lock::DataDirLock>> {
    if manifest.data.tables.is_empty()
        || manifest.data.backend != crate::manifest::BackendKind::Embedded
    {
        return Ok(None);
    }
    Ok(Some(lock::DataDirLock::acquire(
        &manifest.data.dir,
        command,
    )?))
}

/// What a command that serves needs: the runtime, and the API keys if the manifest
/// uses them.
struct Opened {
    runtime: std::sync::Arc<crate::runtime::Runtime>,
    api_keys: Option<std::sync::Arc<crate::policy::api_key::ApiKeys>>,
    sockets: std::sync::Arc<crate::sockets::Sockets>,
    /// Where connections are recorded, when other hosts share the data store.
    directory: Option<crate::sockets::directory::Directory>,
    /// The topics, if the manifest has any.
    topics: Option<std::sync::Arc<crate::topics::Topics>>,
}

/// Opens the manifest's data store, if it declares tables, and builds the runtime (and
/// the API keys, kept in the same store). Compiled components are cached in
/// `artifacts` when given, else in the deploy store when given; with a deploy store the
/// instance pool's memory slots also fit the memory limits of deployed settings.
async fn runtime_for(
    manifest: &crate::manifest::Manifest,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
    deploys: Option<&crate::deploy::DeployStore>,
    artifacts: Option<std::path::PathBuf>,
) -> anyhow::Result<Opened> {
    use anyhow::Context as _;
    let mut api_keys = None;
    let mut directory = None;
    let mut topics = None;
    let data = if manifest.data.tables.is_empty() {
        None
    } else {
        let backend = crate::data::open_backend(&manifest.data)
            .await
            .context("cannot open the data store")?;
        match manifest.data.backend {
            crate::manifest::BackendKind::Embedded => tracing::info!(
                backend = backend.name(),
                dir = %manifest.data.dir.display(),
                tables = manifest.data.tables.len(),
                "data store open"
            ),
            crate::manifest::BackendKind::Dynamodb => tracing::info!(
                backend = backend.name(),
                endpoint = manifest.data.dynamodb.endpoint.as_deref().unwrap_or("AWS"),
                tables = manifest.data.tables.len(),
                "data store open"
            ),
        }
        if manifest.uses_api_keys() {
            let keys = crate::policy::api_key::ApiKeys::open(std::sync::Arc::clone(&backend))
                .await
                .context("cannot read the API keys from the data store")?;
            tracing::info!(keys = keys.len(), "API keys loaded");
            api_keys = Some(keys);
        }
        if !manifest.topics.is_empty() {
            topics = Some(crate::topics::Topics::new(
                manifest.topics.clone(),
                crate::topics::queue::Queue::new(std::sync::Arc::clone(&backend)),
                std::sync::Arc::clone(metrics),
            ));
        }
        if manifest
            .data
            .tables
            .iter()
            .any(|t| t.name == crate::sockets::directory::TABLE)
        {
            directory = Some(crate::sockets::directory::Directory::new(
                std::sync::Arc::clone(&backend),
            ));
        }
        Some(crate::data::DataStore::new(
            backend,
            &manifest.data.cache,
            &manifest.data.tables,
            std::sync::Arc::clone(metrics),
        ))
    };
    let mut config = manifest.runtime_config();
    config.artifacts = artifacts.or_else(|| deploys.map(crate::deploy::DeployStore::artifacts_dir));
    if let Some(store) = deploys {
        for name in manifest.functions.keys() {
            let record = store.read_record(name)?;
            if let Some(settings) = record.live_deployment().and_then(|d| d.settings.as_ref()) {
                config.max_memory_bytes = config.max_memory_bytes.max(settings.limits.memory_bytes);
            }
        }
    }
    let sockets = crate::sockets::Sockets::new();
    Ok(Opened {
        runtime: std::sync::Arc::new(crate::runtime::Runtime::new(
            &config,
            capabilities(data, metrics, &sockets, topics.clone()),
        )?),
        api_keys,
        sockets,
        directory,
        topics,
    })
}

/// Every capability a function may be granted, registered in the order their figures
/// appear in the access log: one line each. Data calls go to `data` (none: they fail
/// with `unavailable`); `connections` calls to `sockets`; publishes to `topics` (none:
/// every topic is unknown).
pub fn capabilities(
    data: Option<crate::data::DataStore>,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
    sockets: &std::sync::Arc<crate::sockets::Sockets>,
    topics: Option<std::sync::Arc<crate::topics::Topics>>,
) -> crate::runtime::Capabilities {
    crate::runtime::Capabilities::new()
        .with(crate::log::Log)
        .with(crate::data::Data::new(data))
        .with(crate::outbound::OutboundHttp::new(
            crate::outbound::OutboundLimits::default(),
            std::sync::Arc::clone(metrics),
        ))
        .with(crate::variables::Variables)
        .with(crate::authorization::AuthorizationContext)
        .with(crate::connections::Connections::new(std::sync::Arc::clone(
            sockets,
        )))
        .with(crate::topics::capability::TopicsCapability::new(topics))
}

/// A multi-threaded tokio runtime for the commands that need one.
fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
