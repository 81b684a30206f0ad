#!/usr/bin/env bash
# Portico's whole test suite, on a fresh machine: installs what the tests need (the
# wasm32-wasip2 target, rustfmt, clippy, the DynamoDB-compatible server dynoxide that
# the dynamodb backend is tested against, Debian's chromium with playwright-core for
# the web-page tests, openapi-spec-validator from PyPI for the portal's document, and
# the JavaScript and Python component toolchains — componentize-js with jco from npm,
# componentize-py from PyPI — for the functions in those languages), builds the example
# components, then checks formatting and lints and runs every test. `.ci/run` runs
# exactly this.
#
# The tests start dynoxide themselves, on free loopback ports, and stop it when they
# finish. It and the other tools are installed once into PORTICO_TOOLS_DIR (default
# /var/tmp/portico-tools), outside the clone, each in a directory named by its version,
# so later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
DYNOXIDE_VERSION=3.2.0
PLAYWRIGHT_VERSION=1.65.2
OPENAPI_VALIDATOR_VERSION=0.7.2
COMPONENTIZE_JS_VERSION=0.23.0
JCO_VERSION=1.35.0
COMPONENTIZE_PY_VERSION=0.25.1
started=$SECONDS

step "toolchain: wasm32-wasip2 target, rustfmt, clippy"
rustup target add wasm32-wasip2
rustup component add rustfmt clippy

step "DynamoDB-compatible test server: dynoxide-rs $DYNOXIDE_VERSION"
tools="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/dynoxide-$DYNOXIDE_VERSION"
if [ ! -x "$tools/bin/dynoxide" ]; then
    # Its own target dir: the install must not disturb the project's build cache.
    CARGO_TARGET_DIR="$tools/build" cargo install dynoxide-rs --version "$DYNOXIDE_VERSION" \
        --locked --no-default-features --features native-sqlite,http-server,cli \
        --root "$tools"
    rm -rf "$tools/build"
fi
export PORTICO_DYNOXIDE="$tools/bin/dynoxide"
echo "using $PORTICO_DYNOXIDE"

step "browser for the web-page tests: Debian's chromium, playwright-core $PLAYWRIGHT_VERSION"
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "cannot install chromium here (not root, or no apt-get): the browser tests will say SKIPPED"
    fi
fi
playwright="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/playwright-core-$PLAYWRIGHT_VERSION"
if [ ! -d "$playwright/node_modules/playwright-core" ]; then
    if command -v npm >/dev/null; then
        npm install --prefix "$playwright" --no-audit --no-fund --save-exact \
            "playwright-core@$PLAYWRIGHT_VERSION"
    else
        echo "no npm here: the browser tests will say SKIPPED"
    fi
fi
export PORTICO_PLAYWRIGHT="$playwright/node_modules"

step "OpenAPI 3.1 schema check: openapi-spec-validator $OPENAPI_VALIDATOR_VERSION (PyPI)"
validator="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/openapi-spec-validator-$OPENAPI_VALIDATOR_VERSION"
if [ ! -x "$validator/bin/openapi-spec-validator" ]; then
    if python3 -m venv "$validator" 2>/dev/null \
        || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
             && python3 -m venv "$validator"; }; then
        "$validator/bin/pip" install --quiet --disable-pip-version-check \
            "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
    else
        echo "cannot make a Python venv here: the OpenAPI schema check will say SKIPPED"
    fi
fi
export PORTICO_OPENAPI_VALIDATOR="$validator/bin/openapi-spec-validator"

step "JavaScript functions: componentize-js $COMPONENTIZE_JS_VERSION, jco $JCO_VERSION (npm)"
componentize_js="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/componentize-js-$COMPONENTIZE_JS_VERSION"
if [ ! -x "$componentize_js/node_modules/.bin/componentize-js" ]; then
    if command -v npm >/dev/null; then
        # jco pinned beside it, so componentize-js uses that one rather than the newest 1.x.
        npm install --prefix "$componentize_js" --no-audit --no-fund --save-exact \
            "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION" \
            "@bytecodealliance/jco@$JCO_VERSION"
    else
        echo "no npm here: the JavaScript function tests will say SKIPPED"
    fi
fi
export PORTICO_COMPONENTIZE_JS="$componentize_js/node_modules/.bin/componentize-js"
export PORTICO_JCO="$componentize_js/node_modules/.bin/jco"

step "Python functions: componentize-py $COMPONENTIZE_PY_VERSION (PyPI)"
componentize_py="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/componentize-py-$COMPONENTIZE_PY_VERSION"
if [ ! -x "$componentize_py/bin/componentize-py" ]; then
    if python3 -m venv "$componentize_py" 2>/dev/null \
        || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
             && python3 -m venv "$componentize_py"; }; then
        "$componentize_py/bin/pip" install --quiet --disable-pip-version-check \
            "componentize-py==$COMPONENTIZE_PY_VERSION"
    else
        echo "cannot make a Python venv here: the Python function tests will say SKIPPED"
    fi
fi
export PORTICO_COMPONENTIZE_PY="$componentize_py/bin/componentize-py"

step "format"
cargo fmt --all --check
cargo fmt --all --check --manifest-path examples/Cargo.toml

step "example components (wasm32-wasip2)"
# The examples have their own workspace and target dir, so the module paths in their
# manifests hold whatever CARGO_TARGET_DIR says.
cargo build --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target

# One feature set for every host build (so cargo builds the graph once): with OTLP export,
# so its test runs too.
features=(--features portico/otlp)

step "lint (host, SDK, tests, benches; examples for wasm32-wasip2)"
cargo clippy --locked --workspace --all-targets "${features[@]}" -- -D warnings
cargo clippy --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target -- -D warnings

step "tests"
cargo test --locked --workspace "${features[@]}"

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"
