//! Models through real guests: `examples/models` runs one scenario per route (every
//! rule of `portico_guest::data::model`, checked against what the host stored), and
//! each scenario must pass on the embedded store and on the dynamodb backend.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Server, client, manifest};

const MODELS: &str = r#"
[data]
dir = "data"

[data.dynamodb]
create_tables = true

[tables.models]
partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }
ttl = "expires"

[tables.models.global_indexes.by_kind]
partition_key = { name = "kind", type = "S" }
sort_key = { name = "rank", type = "N" }

[tables.models.local_indexes.by_rank]
sort_key = { name = "rank", type = "N" }

[tables.plain]
partition_key = { name = "id", type = "S" }

[functions.models]
module = "{models}"
tables = ["models", "plain"]

[routes]
"GET /models/{scenario}" = "models"
"#;

/// Every scenario of the component.
const SCENARIOS: [&str; 15] = [
    "create",
    "defaults",
    "validation",
    "update",
    "patch",
    "query",
    "scan",
    "batch",
    "transaction",
    "collection",
    "mismatch",
    "sets",
    "types",
    "describe",
    "unknown",
];

async fn run_all(server: &Server) {
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let response = client()
            .get(server.url(&format!("/models/{scenario}")))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK || body["checks"].as_u64().unwrap_or(0) == 0 {
            failures.push(format!("{scenario}: {status} {body}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n"),
        server.log()
    );
}

#[tokio::test]
async fn every_model_rule_holds_on_the_embedded_store() {
    let server = Server::start(manifest(MODELS));
    run_all(&server).await;
}

#[tokio::test]
async fn every_model_rule_holds_on_dynamodb() {
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    let server = Server::start_env(manifest(MODELS), &[], &env);
    run_all(&server).await;
}

/// The scenario route itself fails when a check does not hold (so a pass means
/// something): an unknown scenario is a 500 naming it.
#[tokio::test]
async fn an_unknown_scenario_fails() {
    let server = Server::start(manifest(MODELS));
    let response = client()
        .get(server.url("/models/nothing"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["failed"]
            .as_str()
            .unwrap()
            .contains("no scenario `nothing`"),
        "{body}"
    );
}
