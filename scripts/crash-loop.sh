#!/usr/bin/env bash
# Crash loops: `kill -9` of `portico up` in the middle of a write load and in the middle
# of deploys, ROUNDS times, with the embedded store and the deploy store in one data
# directory. What it proves, round after round:
#
#   writes   8 writers POST /todos and PATCH /todos/ID with the version they last saw
#            (the todo example's optimistic concurrency: 200 moves version v to v+1, 409
#            when v is stale), mostly on the 16 newest todos so PATCHes race; a prober
#            hits GET /hello. After a random 0.5-2 s: kill -9, restart on the same data
#            directory, then for every todo ever created with 201:
#              - it is there (GET /todos/ID answers 200);
#              - every acknowledged PATCH applied: the stored version is past it;
#              - every applied PATCH happened at most once: each step 1 -> 2 -> ... -> the
#                stored version is explained by a PATCH from that version that was
#                acknowledged or left unanswered by the kill (a 409 never applied; two
#                200s from one version would be a double apply), and the stored title is
#                one such PATCH wrote; a version never goes backwards;
#              - a 409 never shows a version older than one acknowledged before it.
#   deploys  PUT /functions/hello back to back through the admin API (multipart: module
#            plus config), each with CRASH_SEQ=<n> in its environment and a module that
#            alternates between two variants (every fourth one never seen before, so it is
#            compiled and stored under the kill), while probers hit GET /probe (hello's
#            echo route, which shows CRASH_SEQ). Before the kill every probe answers 200
#            with a deploy no older than the last acknowledged one. After kill -9 and a
#            restart, GET /probe answers 200 with the last acknowledged deploy or the one
#            in flight at the kill (old or new, never neither), and GET /functions/hello
#            names that version and deployment live.
#   Every 2xx-created todo is checked again after the deploy crash and at the end.
#
# Run it (from anywhere; ROUNDS defaults to 20):
#   bash scripts/crash-loop.sh
#   ROUNDS=3 PORTICO_BIN=/path/to/portico bash scripts/crash-loop.sh
# Settings: PORTICO_BIN (default: `cargo build --release -p portico`, then
# $CARGO_TARGET_DIR/release/portico), WASM_DIR (default: examples/target/wasm32-wasip2/
# release, built if hello.wasm or todo.wasm is missing), ROUNDS, WRITERS (8), PROBERS (2),
# SEED (kill moments and choices; printed, so a run can be repeated), KEEP_WORK=1 (keep the
# scratch directory with the manifest, data directory and host.log).
# Output: one line per round, then a summary (rounds, acknowledged writes, conditional
# writes acknowledged, writes verified present, deploys acknowledged, probes, probe
# failures, restart time median and max, violations). Exit status 1 on any violation.
# Needs bash, Python 3.11 (standard library only) and, for the defaults, cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-20}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

if [ -z "${PORTICO_BIN:-}" ]; then
    echo "building portico (release)..." >&2
    cargo build --quiet --locked --release -p portico --bin portico
    PORTICO_BIN=$TARGET_DIR/release/portico
fi
if [ ! -x "$PORTICO_BIN" ]; then
    echo "error: PORTICO_BIN=$PORTICO_BIN is not an executable" >&2
    exit 2
fi

if [ -z "${WASM_DIR:-}" ]; then
    WASM_DIR=$PWD/examples/target/wasm32-wasip2/release
    if [ ! -f "$WASM_DIR/hello.wasm" ] || [ ! -f "$WASM_DIR/todo.wasm" ]; then
        echo "building the example components (hello, todo)..." >&2
        rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
        cargo build --quiet --locked --release --target wasm32-wasip2 \
            --manifest-path examples/Cargo.toml --target-dir examples/target -p hello -p todo
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/portico-crash-loop.XXXXXX")
helper=
cleanup() {
    # The helper kills its host on the way out; this covers an interrupted helper.
    if [ -n "$helper" ]; then kill "$helper" 2>/dev/null || true; wait "$helper" 2>/dev/null || true; fi
    # The host it started last, if still running (checked by its command line, so a
    # reused pid is left alone).
    local pid
    pid=$(cat "$work/portico.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -qa -- "$work/portico.toml" "/proc/$pid/cmdline" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [ "${KEEP_WORK:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PORTICO_BIN WASM_DIR ROUNDS WORK=$work
python3 scripts/crash_loop.py &
helper=$!
status=0
wait "$helper" || status=$?
helper=
exit "$status"
