//! The chat example's web page on the demo manifest: served with its script and a
//! strict content security policy, and — in headless Chromium driven by Playwright
//! (`tests/browser/chat.mjs`) — two tabs that join a room and exchange messages.
//!
//! `scripts/test.sh` installs Debian's `chromium` and `playwright-core`; where either is
//! absent the browser test says so and passes without running.

use crate::support::{Server, client, root};
use std::path::PathBuf;
use std::process::Command;

/// Where `scripts/test.sh` installs playwright-core (its `node_modules`).
const PLAYWRIGHT: &str = "/var/tmp/portico-tools/playwright-core-1.65.2/node_modules";

#[tokio::test]
async fn the_chat_page_and_its_script_are_served_with_their_policy() {
    let server = Server::start(crate::demo::demo_manifest());
    let page = client()
        .get(server.url("/chat"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<script src="chat/chat.js"></script>"#));
    let script = client()
        .get(server.url("/chat/chat.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.expect("js").contains("new WebSocket("));
}

/// The browser and the driver, if both are here.
pub fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(
        std::env::var("PORTICO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    let playwright =
        PathBuf::from(std::env::var("PORTICO_PLAYWRIGHT").unwrap_or_else(|_| PLAYWRIGHT.into()));
    if !chromium.exists() {
        return Err(format!(
            "no Chromium at {} (Debian's `chromium`; set PORTICO_CHROMIUM)",
            chromium.display()
        ));
    }
    if !playwright.join("playwright-core").exists() {
        return Err(format!(
            "no playwright-core in {} (scripts/test.sh installs it; set PORTICO_PLAYWRIGHT)",
            playwright.display()
        ));
    }
    Ok((chromium, playwright))
}

#[tokio::test]
async fn two_browser_tabs_chat_through_the_websocket_api() {
    let (chromium, playwright) = match browser() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("SKIPPED two_browser_tabs_chat_through_the_websocket_api: {why}");
            return;
        }
    };
    let server = Server::start(crate::demo::demo_manifest());
    let args = vec![server.url("/"), screenshots().display().to_string()];
    run_script((chromium, playwright), "chat.mjs", args, &server).await;
}

/// Where the browser tests save their screenshots (test artifacts under the target dir).
pub fn screenshots() -> PathBuf {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    shots
}

/// Runs `tests/browser/SCRIPT ARGS...` in node with the browser and driver `found`;
/// fails the test with the script's output and `server`'s log unless it succeeds, and
/// returns its standard output.
pub async fn run_script(
    found: (PathBuf, PathBuf),
    script: &str,
    args: Vec<String>,
    server: &Server,
) -> String {
    let (chromium, playwright) = found;
    let script = root().join("tests/browser").join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .args(&args)
            .env("NODE_PATH", &playwright)
            .env("PORTICO_CHROMIUM", &chromium)
            .output()
            .expect("node runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{}\nportico's log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    stdout
}
