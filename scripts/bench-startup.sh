#!/usr/bin/env bash
# Start-up time of `portico up` on the demo manifest (every example function, Rust
# only): from the process start to the URL it prints once everything is loaded, cold (a
# fresh data directory: every module compiled) and warm (a restart on the same
# directory: the precompiled artifacts are ready). RUNS runs each (default 5), median
# and range. With PORTICO_BASELINE=/path/to/another/portico (a build from before a
# change, say) its rows are measured in the same run, alternated with this build's.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

echo "building (release)..." >&2
cargo build --quiet --locked --release -p portico --bin portico
cargo build --quiet --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target

work=$(mktemp -d)
server=""
cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The demo manifest with absolute module paths, no build commands, its data in $work.
manifest() {
    sed -e "s|^module = \"|module = \"$PWD/examples/|" -e '/^build = /d' -e '/^watch = /d' \
        -e "s|^dir = .*|dir = \"$1\"|" examples/portico.toml >"$work/portico.toml"
}

# start BINARY DATA_DIR: seconds from spawn to the printed URL; the server is stopped.
start() {
    local binary=$1 data=$2 began now
    manifest "$data"
    began=$(date +%s.%N)
    "$binary" up --manifest "$work/portico.toml" --listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
    server=$!
    for _ in $(seq 1 6000); do
        if grep -q 'http://' "$work/out" 2>/dev/null; then
            now=$(date +%s.%N)
            kill "$server"
            wait "$server" 2>/dev/null || true
            server=""
            echo "$now - $began" | bc
            return
        fi
        if ! kill -0 "$server" 2>/dev/null; then
            echo "the server exited:" >&2
            cat "$work/err" >&2
            exit 1
        fi
        sleep 0.01
    done
    echo "no URL after 60 s" >&2
    exit 1
}

# stats: median, min and max of the numbers on stdin.
stats() {
    sort -n | awk '{a[NR]=$1} END {printf "median %.3f s (%.3f–%.3f, %d runs)", a[int((NR+1)/2)], a[1], a[NR], NR}'
}

binaries=("$TARGET_DIR/release/portico")
[ -z "${PORTICO_BASELINE:-}" ] || binaries+=("$PORTICO_BASELINE")
declare -A cold warm
for _ in $(seq 1 "$RUNS"); do
    for binary in "${binaries[@]}"; do
        data="$work/data-$(basename "$binary")-$RANDOM"
        cold[$binary]+="$(start "$binary" "$data") "
        warm[$binary]+="$(start "$binary" "$data") "
        rm -rf "$data"
    done
done
functions=$(grep -c '^\[functions\.' examples/portico.toml)
echo "portico up on examples/portico.toml ($functions functions), $(nproc) cores:"
for binary in "${binaries[@]}"; do
    echo "  $binary"
    echo "    cold (compile every module): $(tr ' ' '\n' <<<"${cold[$binary]}" | grep . | stats)"
    echo "    warm (artifacts ready):      $(tr ' ' '\n' <<<"${warm[$binary]}" | grep . | stats)"
done
