//! Stages through the real binary: `[stages.NAME]` served under `/{NAME}` (and
//! `$default` at the root), each with its variables, throttle and key requirement,
//! `rawPath` keeping the prefix and routing leaving it out, and a stage pinning a kept
//! version while another follows the live one.

use crate::support::{Server, client, component, manifest, up_fails};
use serde_json::Value;
use std::time::Duration;

const STAGES: &str = r#"
[stages."$default"]
variables = { greeting = "Hello" }

[stages.beta]
variables = { greeting = "Beta" }
throttle = { rate = 0.5, burst = 1 }

[functions.hello]
module = "{hello}"

[routes]
"GET /hello/{name}" = "hello"
"ANY /echo/{rest+}" = "hello"
"#;

async fn get(server: &Server, path: &str) -> reqwest::Response {
    client()
        .get(server.url(path))
        .send()
        .await
        .expect("request")
}

async fn message(server: &Server, path: &str) -> String {
    let resp = get(server, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let body: Value = resp.json().await.expect("JSON");
    body["message"].as_str().expect("a greeting").to_string()
}

#[tokio::test]
async fn each_stage_is_served_under_its_prefix_with_its_own_settings() {
    let server = Server::start(manifest(STAGES));
    assert_eq!(message(&server, "/hello/ann").await, "Hello, ann!");
    assert_eq!(message(&server, "/beta/hello/ann").await, "Beta, ann!");

    // rawPath keeps the prefix, requestContext.stage names the stage, routing ignores it.
    let echo: Value = get(&server, "/beta/echo/x/y")
        .await
        .json()
        .await
        .expect("echo");
    assert_eq!(echo["rawPath"], "/beta/echo/x/y");
    assert_eq!(echo["requestContext"]["stage"], "beta");
    assert_eq!(echo["routeKey"], "ANY /echo/{rest+}");
    assert_eq!(echo["pathParameters"]["rest"], "x/y");
    let echo: Value = get(&server, "/echo/x").await.json().await.expect("echo");
    assert_eq!(echo["requestContext"]["stage"], "$default");

    // beta's throttle is beta's: its second request is refused, the root stage's is not.
    let resp = get(&server, "/beta/hello/bo").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Too Many Requests"}"#
    );
    assert_eq!(get(&server, "/hello/bo").await.status(), 200);

    // `/betamax` is not under `beta`: the root stage has no such route.
    let resp = get(&server, "/betamax/hello/x").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Not Found"}"#
    );
}

#[tokio::test]
async fn without_a_default_stage_paths_outside_every_stage_are_404() {
    let server = Server::start(manifest(
        "[stages.prod]\n[stages.prod.variables]\ngreeting = \"Prod\"\n[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /hello/{name}\" = \"hello\"\n",
    ));
    assert_eq!(message(&server, "/prod/hello/ann").await, "Prod, ann!");
    let resp = get(&server, "/hello/ann").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Not Found"}"#
    );
}

const TOKEN: &str = "stages-token";

/// Two stages over `hello`, `$default` pinned to `pin` (or following live).
fn pinned(pin: Option<&str>) -> String {
    let versions = pin.map_or(String::new(), |v| {
        format!("versions = {{ hello = \"{v}\" }}\n")
    });
    format!(
        "[server]\nadmin_token = \"{TOKEN}\"\n[data]\ndir = \"data\"\n[stages.\"$default\"]\n{versions}[stages.beta]\n[functions.hello]\nmodule = \"{{hello}}\"\n[routes]\n\"GET /x/{{name}}\" = \"hello\"\n"
    )
}

async fn admin(server: &Server, method: reqwest::Method, path: &str) -> Value {
    client()
        .request(method, server.admin_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("JSON")
}

/// Which code answered: `hello` (an echo of the event) or `misbehave` (which has no
/// misbehaviour at that path).
async fn answered_by(server: &Server, path: &str) -> &'static str {
    let body = get(server, path).await.text().await.expect("body");
    if body.contains("\"routeKey\"") {
        "hello"
    } else if body.starts_with("no misbehaviour at") {
        "misbehave"
    } else {
        panic!("{path}: {body}")
    }
}

#[tokio::test]
async fn a_stage_pins_a_kept_version_while_another_follows_live() {
    let m = manifest(&pinned(None));
    let log = m.dir.path().join("portico.log");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    let info = admin(&server, reqwest::Method::GET, "/functions/hello").await;
    let first = info["live"].as_str().expect("live").to_string();
    // A deploy makes another version live: both stages follow it.
    let other = std::fs::read(component("misbehave")).expect("misbehave component");
    let resp = client()
        .put(server.admin_url("/functions/hello"))
        .bearer_auth(TOKEN)
        .body(other)
        .send()
        .await
        .expect("deploy");
    assert_eq!(resp.status(), 200);
    assert_eq!(answered_by(&server, "/x/a").await, "misbehave");
    assert_eq!(answered_by(&server, "/beta/x/a").await, "misbehave");
    drop(server);

    // Pin `$default` to the first version: it serves that one, beta the live one.
    std::fs::write(
        &m.path,
        crate::support::manifest_text(&pinned(Some(&first))),
    )
    .expect("write");
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    assert_eq!(answered_by(&server, "/x/a").await, "hello");
    assert_eq!(answered_by(&server, "/beta/x/a").await, "misbehave");
    let info = admin(&server, reqwest::Method::GET, "/functions/hello").await;
    assert_eq!(info["stages"]["$default"], first.as_str(), "{info}");
    assert_ne!(info["stages"]["beta"], first.as_str(), "{info}");
    assert_eq!(info["stages"]["beta"], info["live"]);
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A version that is not kept stops the start with the kept ones named.
    std::fs::write(
        &m.path,
        crate::support::manifest_text(&pinned(Some("0000000000ab"))),
    )
    .expect("write");
    let m2 = crate::support::TempManifest {
        dir: tempfile::tempdir().expect("tempdir"),
        path: m.path.clone(),
    };
    let err = up_fails(&m2);
    assert!(
        err.contains(
            "stage `$default` pins function `hello` to version `0000000000ab`, which is not kept"
        ) && err.contains(&first),
        "{err}"
    );
}

#[test]
fn bad_stages_name_line_and_key() {
    let hello = "[functions.hello]\nmodule = \"{hello}\"\n";
    crate::support::refused_at(
        &format!("[stage]\n[stages.beta]\n{hello}"),
        "stage",
        "not both",
    );
    crate::support::refused_at(
        &format!("[stages.\"be ta\"]\n{hello}"),
        "stages.be ta",
        "invalid stage name",
    );
    crate::support::refused_at(
        &format!("[stages.beta]\nversions = {{ nope = \"live\" }}\n{hello}"),
        "stages.beta.versions.nope",
        "no function named `nope`",
    );
    crate::support::refused_at(
        &format!("[stage]\nversions = {{ hello = \"x\" }}\n{hello}"),
        "stage.versions",
        "[stages.NAME]",
    );
}

/// `portico ARGS --admin URL --token TOKEN`: its stdout, or its stderr when it fails.
fn cli(server: &Server, args: &[&str]) -> Result<String, String> {
    let out = crate::support::portico()
        .args(args)
        .args(["--admin", &server.admin_url(""), "--token", TOKEN])
        .output()
        .expect("portico runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    if out.status.success() {
        Ok(text(out.stdout))
    } else {
        Err(text(out.stderr))
    }
}

#[tokio::test]
async fn deploy_and_rollback_take_a_stage_and_the_stage_keeps_it_across_restarts() {
    let m = manifest(&pinned(None));
    let log = m.dir.path().join("portico.log");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    let misbehave = component("misbehave").display().to_string();
    let out = cli(&server, &["deploy", "hello", &misbehave, "--stage", "beta"]).expect("deploy");
    assert!(out.starts_with("deployed hello on stage beta: "), "{out}");
    assert_eq!(answered_by(&server, "/x/a").await, "hello");
    assert_eq!(answered_by(&server, "/beta/x/a").await, "misbehave");
    let info = admin(&server, reqwest::Method::GET, "/functions/hello").await;
    assert_eq!(info["stages"]["$default"], info["live"], "{info}");
    assert_ne!(info["stages"]["beta"], info["live"], "{info}");
    let versions = cli(&server, &["versions", "hello"]).expect("versions");
    assert!(versions.contains("stages: $default "), "{versions}");
    drop(server);

    // The stage's deployment is kept across a restart.
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    assert_eq!(answered_by(&server, "/beta/x/a").await, "misbehave");
    assert_eq!(answered_by(&server, "/x/a").await, "hello");

    // Back to the version before the stage's: the live one, which beta follows again.
    let out = cli(&server, &["rollback", "hello", "--stage", "beta"]).expect("rollback");
    assert!(
        out.starts_with("rolled back hello on stage beta: "),
        "{out}"
    );
    assert_eq!(answered_by(&server, "/beta/x/a").await, "hello");
    let err = cli(
        &server,
        &["rollback", "hello", "--stage", "beta", "--to", "live"],
    )
    .expect_err("already live");
    assert!(err.contains("409") && err.contains("already live"), "{err}");
    let err = cli(&server, &["deploy", "hello", &misbehave, "--stage", "nope"])
        .expect_err("no such stage");
    assert!(
        err.contains("404") && err.contains("no stage named `nope` (stages: $default, beta)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stage_the_manifest_pins_is_changed_in_the_manifest_only() {
    let m = manifest(&pinned(None));
    let log = m.dir.path().join("portico.log");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    let live = admin(&server, reqwest::Method::GET, "/functions/hello").await["live"]
        .as_str()
        .expect("live")
        .to_string();
    drop(server);
    std::fs::write(&m.path, crate::support::manifest_text(&pinned(Some(&live)))).expect("write");
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    let misbehave = component("misbehave").display().to_string();
    let err = cli(
        &server,
        &["deploy", "hello", &misbehave, "--stage", "$default"],
    )
    .expect_err("pinned by the manifest");
    assert!(
        err.contains("409") && err.contains("because the manifest pins it"),
        "{err}"
    );
    // A deploy of the live version leaves the pinned stage where it is.
    cli(&server, &["deploy", "hello", &misbehave]).expect("deploy");
    assert_eq!(answered_by(&server, "/x/a").await, "hello");
    assert_eq!(answered_by(&server, "/beta/x/a").await, "misbehave");
}
