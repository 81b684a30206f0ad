#!/usr/bin/env bash
# End-to-end load comparison, everything measured in one run with one load tool:
#   1. a native hyper handler returning the same body as `hello` (the ceiling),
#   2. Portico `GET /hello/{name}` through a release build of `portico up`
#      (a fresh wasm instance per request).
# Prints requests/s and p50/p99/p99.9 latency for each, and the ratio to (1).
#
#   bash scripts/bench.sh                 # 10 s per run, 32 connections
#   DURATION=30s CONNECTIONS=64 bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-2s}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
    fi
fi
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true

echo "building (release)..." >&2
cargo build --quiet --locked --release -p portico --bin portico --example native_hello
cargo build --quiet --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target

# Starts a server in the background; prints the URL it announced.
start() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    for _ in $(seq 1 200); do
        if grep -qo 'http://[0-9.:]*' "$work/$name.out" 2>/dev/null; then
            grep -o 'http://[0-9.:]*' "$work/$name.out" | head -n1
            return
        fi
        sleep 0.05
    done
    echo "$name did not start:" >&2
    cat "$work/$name.err" >&2
    exit 1
}

# Pin the load generator to the last core when there is more than one.
pin=()
if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$(($(nproc) - 1))")
fi

run() {
    local url=$1
    "${pin[@]}" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
    "${pin[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s scripts/wrk-report.lua "$url" |
        awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}

native=$(start native "$TARGET_DIR/release/examples/native_hello" 127.0.0.1:0)
portico=$(RUST_LOG=warn start portico "$TARGET_DIR/release/portico" up \
    --manifest examples/hello/portico.toml --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0)

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}; wrk -t1 -c$CONNECTIONS -d$DURATION (${pin[*]:-unpinned})"
echo
printf '%-34s %10s %9s %9s %9s %7s %8s\n' "target" "req/s" "p50 µs" "p99 µs" "p99.9 µs" "errors" "vs (1)"
base=""
row() {
    local label=$1 url=$2
    read -r rps p50 p99 p999 non2xx errs < <(run "$url")
    [ -n "$base" ] || base=$rps
    printf '%-34s %10s %9s %9s %9s %7s %7.2fx\n' "$label" "$rps" "$p50" "$p99" "$p999" \
        "$((non2xx + errs))" "$(awk -v a="$rps" -v b="$base" 'BEGIN {print a / b}')"
}
row "1. native hyper (ceiling)" "$native/hello/bench"
row "2. portico GET /hello/{name}" "$portico/hello/bench"
