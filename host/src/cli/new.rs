//! `portico new NAME`: a working function directory and its manifest entry — built and
//! served by one more command (`portico up --build`).
//!
//! The manifest is edited with `toml_edit`, so its comments and layout stay; a manifest
//! that does not exist is created. Nothing is overwritten: an existing directory, a
//! function or a route of the same name is refused.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

/// The language of the new function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with `portico-guest`.
    Rust,
    /// JavaScript, with componentize-js.
    Js,
    /// Python, with componentize-py.
    Python,
}

/// What the new function does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// `GET /NAME/{who}`: a JSON greeting.
    Http,
    /// `POST /NAME` and `GET /NAME/{id}` on a table of its own.
    Data,
}

/// `portico new`'s arguments.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The function's name: lower-case letters, digits and `-`, starting with a letter.
    pub name: String,
    /// The language.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// What it does.
    #[arg(long, value_enum, default_value = "http")]
    pub template: Template,
    /// The manifest to add it to (created if missing); the function's directory goes
    /// beside it.
    #[arg(long, default_value = "portico.toml")]
    pub manifest: PathBuf,
    /// The `portico-guest` SDK (`guest-sdk/` of Portico's source); by default the one
    /// this `portico` was built from.
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

const RUST_CARGO: &str = include_str!("new/rust_cargo.toml.txt");
const RUST_HTTP: &str = include_str!("new/rust_http.rs.txt");
const RUST_DATA: &str = include_str!("new/rust_data.rs.txt");

/// Makes the function and adds it to the manifest.
pub fn run(args: &NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    if args.lang != Lang::Rust {
        bail!(
            "`--lang {}` has no template in this build yet; `--lang rust` does (the JS and Python toolchains are described in the README's \"Functions in other languages\")",
            if args.lang == Lang::Js {
                "js"
            } else {
                "python"
            }
        );
    }
    let manifest_dir = match args.manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = manifest_dir.join(&args.name);
    if dir.exists() {
        bail!(
            "{} exists; choose another name, or remove it",
            dir.display()
        );
    }
    let text = match std::fs::read_to_string(&args.manifest) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", args.manifest.display()));
        }
    };
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", args.manifest.display()))?;
    let sdk = sdk_path(args.sdk.as_deref())?;
    let table = format!("{}_items", args.name.replace('-', "_"));
    add_to_manifest(&mut doc, args, &table)?;

    let crate_name = args.name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", &args.name)
            .replace("{{table}}", &table)
            .replace("{{sdk}}", &toml_string(&relative_to(&sdk, &dir)))
    };
    std::fs::write(dir.join("Cargo.toml"), fill(RUST_CARGO))?;
    let source = match args.template {
        Template::Http => RUST_HTTP,
        Template::Data => RUST_DATA,
    };
    std::fs::write(dir.join("src/lib.rs"), fill(source))?;
    std::fs::write(&args.manifest, doc.to_string())
        .with_context(|| format!("cannot write {}", args.manifest.display()))?;

    let manifest = args.manifest.display();
    eprintln!(
        "made {} ({crate_name}.wasm once built) and added it to {manifest}",
        dir.display()
    );
    eprintln!("serve it:  portico up --build --manifest {manifest}");
    match args.template {
        Template::Http => eprintln!("try it:    curl localhost:3000/{}/you", args.name),
        Template::Data => {
            eprintln!(
                "try it:    curl -X POST localhost:3000/{} -d '{{\"text\": \"hi\"}}'",
                args.name
            );
            eprintln!("           curl localhost:3000/{}/ID", args.name);
        }
    }
    Ok(())
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64
        && !name.ends_with('-');
    if !valid {
        bail!(
            "`{name}` is not a function name: lower-case letters, digits and `-`, starting with a letter, at most 64"
        );
    }
    Ok(())
}

/// The SDK to depend on: `given`, or the source tree this binary was built from.
fn sdk_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let sdk = match given {
        Some(p) => p.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk"),
    };
    if !sdk.join("Cargo.toml").exists() {
        bail!(
            "no portico-guest SDK at {} (give Portico's guest-sdk/ with --sdk)",
            sdk.display()
        );
    }
    std::fs::canonicalize(&sdk).with_context(|| format!("cannot resolve {}", sdk.display()))
}

/// `path` relative to `from` when both are absolute (a path that survives moving the
/// checkout along with the function), else `path` as it is.
fn relative_to(path: &Path, from: &Path) -> PathBuf {
    let Ok(from) = std::fs::canonicalize(from.parent().unwrap_or(from))
        .map(|p| p.join(from.file_name().unwrap_or_default()))
    else {
        return path.to_path_buf();
    };
    let common = path
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for part in path.components().skip(common) {
        out.push(part);
    }
    out
}

/// A path as the inside of a TOML basic string.
fn toml_string(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Adds `[functions.NAME]`, its routes and (for `data`) its table to the manifest.
fn add_to_manifest(doc: &mut DocumentMut, args: &NewArgs, table: &str) -> anyhow::Result<()> {
    let name = &args.name;
    let crate_name = name.replace('-', "_");
    let functions = table_at(doc, "functions")?;
    if functions.contains_key(name) {
        bail!("the manifest already has a function `{name}`");
    }
    let mut function = Table::new();
    function["module"] = value(format!(
        "{name}/target/wasm32-wasip2/release/{crate_name}.wasm"
    ));
    function["build"] = value(format!(
        "cargo build --release --target wasm32-wasip2 --manifest-path {name}/Cargo.toml --target-dir {name}/target"
    ));
    let mut watch = Array::new();
    watch.push(format!("{name}/src"));
    watch.push(format!("{name}/Cargo.toml"));
    function["watch"] = value(watch);
    if args.template == Template::Data {
        let mut tables = Array::new();
        tables.push(table);
        function["tables"] = value(tables);
    }
    functions.insert(name, Item::Table(function));

    if args.template == Template::Data {
        let tables = table_at(doc, "tables")?;
        if tables.contains_key(table) {
            bail!("the manifest already has a table `{table}`");
        }
        let mut key = InlineTable::new();
        key.insert("name", "id".into());
        key.insert("type", "S".into());
        let mut declared = Table::new();
        declared["partition_key"] = value(key);
        tables.insert(table, Item::Table(declared));
        if !doc.contains_key("data") {
            let mut data = Table::new();
            data["dir"] = value(".portico/data");
            doc.insert("data", Item::Table(data));
        }
    }

    let routes = table_at(doc, "routes")?;
    let keys = match args.template {
        Template::Http => vec![format!("GET /{name}/{{who}}")],
        Template::Data => vec![format!("POST /{name}"), format!("GET /{name}/{{id}}")],
    };
    for key in keys {
        if routes.contains_key(&key) {
            bail!("the manifest already has a route `{key}`");
        }
        routes.insert(&key, value(name.as_str()));
    }
    Ok(())
}

/// The top-level table `key`, made if missing.
fn table_at<'d>(doc: &'d mut DocumentMut, key: &str) -> anyhow::Result<&'d mut Table> {
    let item = doc.entry(key).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(key == "functions" || key == "tables");
        Item::Table(t)
    });
    item.as_table_mut()
        .with_context(|| format!("`{key}` in the manifest is not a table"))
}

#[cfg(test)]
mod tests {
    use super::{NewArgs, Template, add_to_manifest, check_name};

    fn args(name: &str, template: Template) -> NewArgs {
        NewArgs {
            name: name.into(),
            lang: super::Lang::Rust,
            template,
            manifest: "portico.toml".into(),
            sdk: None,
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("greet").is_ok());
        assert!(check_name("my-fn2").is_ok());
        for bad in ["", "Greet", "2go", "a_b", "a-", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_manifest_keeps_its_comments_and_refuses_clashes() {
        let mut doc: toml_edit::DocumentMut = "# my API\n[routes]\n\"GET /x\" = \"x\" # old\n"
            .parse()
            .unwrap();
        add_to_manifest(&mut doc, &args("notes", Template::Data), "notes_items").unwrap();
        let text = doc.to_string();
        assert!(
            text.contains("# my API") && text.contains("# old"),
            "{text}"
        );
        assert!(text.contains("[functions.notes]"), "{text}");
        assert!(text.contains("[tables.notes_items]"), "{text}");
        assert!(text.contains("\"POST /notes\" = \"notes\""), "{text}");
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["functions"]["notes"]["tables"][0].as_str(),
            Some("notes_items")
        );
        let again = add_to_manifest(&mut doc, &args("notes", Template::Http), "notes_items");
        assert!(
            again
                .unwrap_err()
                .to_string()
                .contains("already has a function `notes`")
        );
    }
}
