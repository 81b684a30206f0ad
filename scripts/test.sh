#!/usr/bin/env bash
# Portico's whole test suite, on a fresh machine: installs what the tests need (the
# wasm32-wasip2 target, rustfmt, clippy), builds the example components, then checks
# formatting and lints and runs every test. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "toolchain: wasm32-wasip2 target, rustfmt, clippy"
rustup target add wasm32-wasip2
rustup component add rustfmt clippy

step "format"
cargo fmt --all --check
cargo fmt --all --check --manifest-path examples/Cargo.toml

step "example components (wasm32-wasip2)"
# The examples have their own workspace and target dir, so the module paths in their
# manifests hold whatever CARGO_TARGET_DIR says.
cargo build --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target

step "lint (host, SDK, tests, benches; examples for wasm32-wasip2)"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target -- -D warnings

step "tests"
cargo test --locked --workspace

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"
