//! `portico deploy`, `portico versions`, `portico rollback`, `portico keys`, `portico
//! topics`: clients of a running host's admin API.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

/// Default address of the admin API.
pub const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:3001";

/// Where the admin API is and how to get in. Its `Debug` leaves the token out.
#[derive(Clone, Args)]
pub struct AdminArgs {
    /// The admin API's base URL.
    #[arg(long = "admin", env = "PORTICO_ADMIN_URL", default_value = DEFAULT_ADMIN_URL, global = true)]
    pub url: String,
    /// The admin token.
    #[arg(
        long,
        env = "PORTICO_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let AdminArgs { url, token } = self;
        f.debug_struct("AdminArgs")
            .field("url", url)
            .field("token", &token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What to ask the admin API.
#[derive(Debug)]
pub enum Request {
    /// Deploy a module (with settings from a JSON file, if given).
    Deploy {
        /// The function.
        function: String,
        /// The component file.
        module: PathBuf,
        /// A JSON settings file (`limits`, `environment`, `routes`).
        config: Option<PathBuf>,
        /// For this stage only.
        stage: Option<String>,
    },
    /// Show a function's versions.
    Versions {
        /// The function.
        function: String,
    },
    /// Roll back.
    Rollback {
        /// The function.
        function: String,
        /// The version to go back to (default: the one before the live one).
        to: Option<String>,
        /// For this stage only.
        stage: Option<String>,
    },
    /// Manage API keys.
    Keys(KeysCommand),
    /// Operate topics.
    Topics(TopicsCommand),
}

/// `portico topics ...`.
#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Publish a message; prints its id once it is durable.
    Publish {
        /// The topic.
        topic: String,
        /// The message body.
        message: String,
        /// Its subject.
        #[arg(long)]
        subject: Option<String>,
        /// An attribute, `NAME=VALUE` (a String) or `NAME:TYPE=VALUE` (TYPE: String,
        /// Number, String.Array, Binary); repeatable.
        #[arg(long = "attribute", short = 'a')]
        attributes: Vec<String>,
    },
    /// Each subscription's queue: messages waiting, the oldest one's age, dead letters.
    Stats,
    /// A topic's dead letters.
    DeadLetters {
        /// The topic.
        topic: String,
    },
    /// Put a topic's dead letters back in their queues (attempts reset).
    Redrive {
        /// The topic.
        topic: String,
        /// Only this subscriber function's.
        #[arg(long)]
        subscription: Option<String>,
    },
}

/// An attribute written `NAME=VALUE` or `NAME:TYPE=VALUE`, as JSON for the admin API.
fn attribute(text: &str) -> anyhow::Result<Value> {
    let Some((head, value)) = text.split_once('=') else {
        bail!("attribute {text:?}: write NAME=VALUE or NAME:TYPE=VALUE");
    };
    let (name, data_type) = head.split_once(':').unwrap_or((head, "String"));
    Ok(serde_json::json!({ "name": name, "type": data_type, "value": value }))
}

/// `portico keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key. Its value is printed once, as the last line: store it now (the
    /// host keeps only its hash).
    Create {
        /// What to call it (a partner's or an app's name).
        name: String,
        /// Its usage plan (`[usage_plans.NAME]` in the manifest).
        #[arg(long)]
        plan: Option<String>,
    },
    /// List the keys, revoked ones included.
    List,
    /// Revoke a key: refused from the next request on.
    Revoke {
        /// The key's id.
        id: String,
    },
    /// Show a key's use of its plan's quota in the current period.
    Usage {
        /// The key's id.
        id: String,
    },
}

/// Sends the request and prints the answer.
pub fn run(admin: &AdminArgs, request: Request) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(send(admin, request))
}

async fn send(admin: &AdminArgs, request: Request) -> anyhow::Result<()> {
    let base = admin.url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let with_token = |builder: reqwest::RequestBuilder| match &admin.token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    };
    match request {
        Request::Deploy {
            function,
            module,
            config,
            stage,
        } => {
            let wasm = std::fs::read(&module)
                .with_context(|| format!("cannot read {}", module.display()))?;
            let mut url = format!("{base}/functions/{function}");
            if let Some(stage) = &stage {
                url.push_str("?stage=");
                url.extend(form_urlencoded::byte_serialize(stage.as_bytes()));
            }
            let builder = match config {
                None => client.put(&url).body(wasm),
                Some(config) => {
                    let json = std::fs::read(&config)
                        .with_context(|| format!("cannot read {}", config.display()))?;
                    let form = reqwest::multipart::Form::new()
                        .part(
                            "module",
                            reqwest::multipart::Part::bytes(wasm).mime_str("application/wasm")?,
                        )
                        .part(
                            "config",
                            reqwest::multipart::Part::bytes(json).mime_str("application/json")?,
                        );
                    client.put(&url).multipart(form)
                }
            };
            let answer = call(with_token(builder), &url).await?;
            let on = stage.map_or(String::new(), |s| format!(" on stage {s}"));
            println!(
                "deployed {function}{on}: {} -> {} (deployment {}, {} in {:.1} ms)",
                text(&answer["previous"]),
                text(&answer["version"]),
                answer["deployment"],
                text(&answer["code"]),
                answer["compile_ms"].as_f64().unwrap_or_default(),
            );
        }
        Request::Versions { function } => {
            let url = format!("{base}/functions/{function}");
            let answer = call(with_token(client.get(&url)), &url).await?;
            println!(
                "{function}: live {} since {}",
                text(&answer["live"]),
                text(&answer["live_since"])
            );
            if let Some(routes) = answer["routes"].as_array() {
                let routes: Vec<String> = routes.iter().map(text).collect();
                println!("routes: {}", routes.join(", "));
            }
            if let Some(stages) = answer["stages"].as_object().filter(|s| s.len() > 1) {
                let stages: Vec<String> = stages
                    .iter()
                    .map(|(stage, version)| format!("{stage} {}", text(version)))
                    .collect();
                println!("stages: {}", stages.join(", "));
            }
            println!(
                "{:>4}  {:<12}  {:<24}  {:<8}  {:>10}",
                "#", "version", "deployed at", "source", "requests"
            );
            for v in answer["versions"].as_array().into_iter().flatten() {
                println!(
                    "{:>4}  {:<12}  {:<24}  {:<8}  {:>10}{}",
                    v["deployment"].as_u64().unwrap_or_default(),
                    text(&v["version"]),
                    text(&v["deployed_at"]),
                    text(&v["source"]),
                    v["requests"].as_u64().unwrap_or_default(),
                    if v["live"] == Value::Bool(true) {
                        "  (live)"
                    } else {
                        ""
                    }
                );
            }
        }
        Request::Rollback {
            function,
            to,
            stage,
        } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(to) = &to {
                query.append_pair("to", to);
            }
            if let Some(stage) = &stage {
                query.append_pair("stage", stage);
            }
            let query = query.finish();
            let mut url = format!("{base}/functions/{function}/rollback");
            if !query.is_empty() {
                url.push('?');
                url.push_str(&query);
            }
            let answer = call(with_token(client.post(&url)), &url).await?;
            let on = stage.map_or(String::new(), |s| format!(" on stage {s}"));
            println!(
                "rolled back {function}{on}: {} -> {} (deployment {})",
                text(&answer["previous"]),
                text(&answer["version"]),
                answer["deployment"]
            );
        }
        Request::Keys(command) => keys(&client, base, with_token, command).await?,
        Request::Topics(command) => topics(&client, base, with_token, command).await?,
    }
    Ok(())
}

/// `portico topics ...`.
async fn topics(
    client: &reqwest::Client,
    base: &str,
    with_token: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    command: TopicsCommand,
) -> anyhow::Result<()> {
    let segment = |id: &str| form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    match command {
        TopicsCommand::Publish {
            topic,
            message,
            subject,
            attributes,
        } => {
            let attributes = attributes
                .iter()
                .map(|a| attribute(a))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let url = format!("{base}/topics/{}/messages", segment(&topic));
            let body = serde_json::json!({
                "message": message,
                "subject": subject,
                "attributes": attributes,
            });
            let answer = call(with_token(client.post(&url).json(&body)), &url).await?;
            println!("{}", text(&answer["message_id"]));
        }
        TopicsCommand::Stats => {
            let url = format!("{base}/topics");
            let answer = call(with_token(client.get(&url)), &url).await?;
            println!(
                "{:<40}  {:>8}  {:>12}  {:>12}",
                "subscription", "queued", "oldest (s)", "dead letters"
            );
            for topic in answer["items"].as_array().into_iter().flatten() {
                for sub in topic["subscriptions"].as_array().into_iter().flatten() {
                    println!(
                        "{:<40}  {:>8}  {:>12}  {:>12}",
                        format!("{}/{}", text(&topic["topic"]), text(&sub["function"])),
                        sub["queued"],
                        match &sub["oldest_age_seconds"] {
                            Value::Null => "-".to_string(),
                            age => age.to_string(),
                        },
                        sub["dead_letters"],
                    );
                }
            }
        }
        TopicsCommand::DeadLetters { topic } => {
            let url = format!("{base}/topics/{}/dead-letters", segment(&topic));
            let answer = call(with_token(client.get(&url)), &url).await?;
            for letter in answer["items"].as_array().into_iter().flatten() {
                println!("{letter}");
            }
        }
        TopicsCommand::Redrive {
            topic,
            subscription,
        } => {
            let mut url = format!("{base}/topics/{}/dead-letters/redrive", segment(&topic));
            if let Some(function) = &subscription {
                url.push_str("?subscription=");
                url.push_str(&segment(function));
            }
            let answer = call(with_token(client.post(&url)), &url).await?;
            println!("redrove {} dead letters of {topic}", answer["redriven"]);
        }
    }
    Ok(())
}

/// `portico keys ...`.
async fn keys(
    client: &reqwest::Client,
    base: &str,
    with_token: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    command: KeysCommand,
) -> anyhow::Result<()> {
    let segment = |id: &str| form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    match command {
        KeysCommand::Create { name, plan } => {
            let url = format!("{base}/keys");
            let body = serde_json::json!({ "name": name, "plan": plan });
            let answer = call(with_token(client.post(&url).json(&body)), &url).await?;
            println!(
                "created API key {} ({}, plan {}). Its value, shown this once (send it as x-api-key):",
                text(&answer["id"]),
                text(&answer["name"]),
                text(&answer["plan"]),
            );
            println!("{}", text(&answer["value"]));
        }
        KeysCommand::List => {
            let url = format!("{base}/keys");
            let answer = call(with_token(client.get(&url)), &url).await?;
            println!(
                "{:<10}  {:<24}  {:<12}  {:<24}  state",
                "id", "name", "plan", "created at"
            );
            for key in answer["items"].as_array().into_iter().flatten() {
                let state = match &key["revoked_at"] {
                    Value::String(at) => format!("revoked {at}"),
                    _ => "enabled".into(),
                };
                println!(
                    "{:<10}  {:<24}  {:<12}  {:<24}  {state}",
                    text(&key["id"]),
                    text(&key["name"]),
                    text(&key["plan"]),
                    text(&key["created_at"]),
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let url = format!("{base}/keys/{}", segment(&id));
            let answer = call(with_token(client.delete(&url)), &url).await?;
            println!(
                "revoked API key {} ({}) at {}",
                text(&answer["id"]),
                text(&answer["name"]),
                text(&answer["revoked_at"])
            );
        }
        KeysCommand::Usage { id } => {
            let url = format!("{base}/keys/{}/usage", segment(&id));
            let answer = call(with_token(client.get(&url)), &url).await?;
            if answer["period"].is_null() {
                println!(
                    "API key {}: plan {} sets no quota, so nothing is counted",
                    text(&answer["id"]),
                    text(&answer["plan"])
                );
            } else {
                println!(
                    "API key {} (plan {}): {} of {} requests this {} (since {}), {} left",
                    text(&answer["id"]),
                    text(&answer["plan"]),
                    text(&answer["used"]),
                    text(&answer["limit"]),
                    text(&answer["period"]),
                    text(&answer["period_start"]),
                    text(&answer["remaining"]),
                );
            }
        }
    }
    Ok(())
}

/// Sends a request and returns its JSON answer; an error status becomes an error with
/// the admin API's message.
async fn call(builder: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let response = builder.send().await.with_context(|| {
        format!("cannot reach the admin API at {url} (is `portico up` running? set --admin)")
    })?;
    let status = response.status();
    let body = response.bytes().await.context("cannot read the answer")?;
    let json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::json!({ "message": String::from_utf8_lossy(&body) }));
    if !status.is_success() {
        bail!("{status}: {}", text(&json["message"]));
    }
    Ok(json)
}

/// A JSON value as plain text (`-` for null).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::AdminArgs;

    #[test]
    fn admin_args_debug_leaves_the_token_out() {
        let args = AdminArgs {
            url: "http://127.0.0.1:3001".into(),
            token: Some("s3cr3t-token".into()),
        };
        let debug = format!("{args:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("http://127.0.0.1:3001"), "{debug}");
    }
}
