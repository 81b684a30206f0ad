//! # Portico
//!
//! API Gateway + Lambda + DynamoDB in one binary. HTTP requests are matched to routes
//! with API Gateway's rules ([`gateway`]), turned into payload-2.0 events, and handled by
//! WebAssembly component functions, each request in a fresh instance ([`runtime`]).
//! What runs where is declared in `portico.toml` ([`manifest`]); which version of each
//! function is live, and changing it under load, is [`deploy`]'s job, driven through
//! the admin API ([`admin`]).

#![deny(missing_docs)]

pub mod admin;
pub mod authorization;
pub mod cli;
pub mod connections;
pub mod data;
pub mod deploy;
pub mod exchange;
pub mod fs_atomic;
pub mod gateway;
pub mod http_server;
pub mod log;
pub mod manifest;
pub mod metrics;
pub mod outbound;
pub mod policy;
pub mod portal;
pub mod recent;
pub mod routing;
pub mod runtime;
pub mod sockets;
pub mod telemetry;
pub mod topics;
pub mod variables;

/// The architecture's rules, checked on the source: module imports form no cycle, and
/// the runtime and the gateway never name a capability.
#[cfg(test)]
mod architecture {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    const CAPABILITIES: [&str; 7] = [
        "authorization",
        "connections",
        "data",
        "log",
        "outbound",
        "topics",
        "variables",
    ];

    /// Top-level module → the top-level modules it names as `crate::X`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let relative = path.strip_prefix(&src).expect("under src");
                let first = relative
                    .components()
                    .next()
                    .and_then(|c| c.as_os_str().to_str())
                    .expect("a name");
                let top = first.trim_end_matches(".rs").to_string();
                if top == "lib" || top == "main" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                let uses = deps.entry(top.clone()).or_default();
                for (i, _) in text.match_indices("crate::") {
                    let name: String = text[i + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        uses.insert(name);
                    }
                }
            }
        }
        deps
    }

    #[test]
    fn module_imports_have_no_cycle() {
        let deps = imports();
        assert!(deps.len() > 10, "the source was read: {deps:?}");
        // Depth-first search for a path back to the start.
        for start in deps.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((module, path)) = stack.pop() {
                for next in deps.get(&module).into_iter().flatten() {
                    assert!(
                        next != start,
                        "import cycle: {} -> {next}",
                        path.join(" -> ")
                    );
                    if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }

    #[test]
    fn the_runtime_and_the_gateway_never_name_a_capability() {
        let deps = imports();
        for core in ["runtime", "gateway", "routing", "exchange", "policy"] {
            let named: Vec<_> = deps
                .get(core)
                .into_iter()
                .flatten()
                .filter(|d| CAPABILITIES.contains(&d.as_str()))
                .collect();
            assert!(named.is_empty(), "`{core}` names capabilities {named:?}");
        }
        for leaf in ["routing", "exchange"] {
            assert!(
                deps.get(leaf).is_none_or(BTreeSet::is_empty),
                "`{leaf}` must import nothing of Portico: {:?}",
                deps.get(leaf)
            );
        }
    }
}
