//! `portico openapi`: the manifest's OpenAPI 3.1 document, without serving anything.

use crate::manifest::Manifest;
use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// Prints the document of `manifest`'s routes on `stage` (the first stage by default).
pub fn run(manifest: &Manifest, stage: Option<&str>) -> anyhow::Result<()> {
    let config = match stage {
        Some(name) => manifest
            .stages
            .iter()
            .find(|s| s.name == name)
            .with_context(|| {
                let names: Vec<&str> = manifest.stages.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "no stage named `{name}` (stages in this manifest: {})",
                    if names.is_empty() {
                        "$default".to_string()
                    } else {
                        names.join(", ")
                    }
                )
            })?
            .clone(),
        None => manifest.stages.first().cloned().unwrap_or_default(),
    };
    // The version a host serving these modules would report: each module's digest, as
    // its function's version (a module not built yet counts as such).
    let mut versions = Vec::new();
    let mut declared = std::collections::BTreeMap::new();
    for (name, f) in &manifest.functions {
        let Ok(wasm) = std::fs::read(&f.module) else {
            versions.push((name.clone(), "unbuilt".to_string()));
            continue;
        };
        versions.push((
            name.clone(),
            crate::runtime::version_of(&Sha256::digest(&wasm).into()),
        ));
        let section = crate::runtime::api_section::read(&wasm)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                s.map(|s| crate::portal::declared::Declared::parse(&s))
                    .transpose()
            });
        match section {
            Ok(Some(d)) => {
                declared.insert(name.clone(), d);
            }
            Ok(None) => {}
            Err(e) => eprintln!("warning: function `{name}`: its API declaration is ignored: {e}"),
        }
    }
    let info = crate::portal::openapi::DocumentInfo {
        title: manifest.portal.as_ref().map_or_else(
            || crate::portal::DEFAULT_TITLE.to_string(),
            |p| p.title.clone(),
        ),
        version: crate::portal::served_version(versions),
    };
    let doc = crate::portal::openapi::render(
        &info,
        &manifest.route_list(),
        &manifest.api,
        &config,
        &declared,
    )?;
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
