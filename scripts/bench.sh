#!/usr/bin/env bash
# End-to-end load comparison, everything measured in one run with one load tool:
#   1. a native hyper handler returning the same body as `hello` (the ceiling),
#   2. Portico `GET /hello/{name}` through a release build of `portico up`
#      (a fresh wasm instance per request),
#   2j. the same behind a JWT authorizer (the development issuer), one token for every
#      request, as a client reusing its access token sends it,
#   2w. the same behind a custom (wasm) authorizer, `examples/authorizer` looking up an
#      API key issued by `examples/keys`, one key for every request, cache on,
#   3. the same with 1,000 routes registered (routing cost must stay flat),
#   4. a plain wasi:http component (`examples/wasi-http-hello`) on
#      `GET /wasi/hello/{name}`: the same answer through the wasi:http executor,
#   5. the todo API (`examples/todo`), 95% `GET /todos/{id}` and 5% `POST /todos`, on the
#      embedded store with the read cache on,
#   6. the same with the cache off,
#   7. the same on the dynamodb backend against a local dynoxide (cache on);
# prints requests/s and p50/p99/p99.9 latency for each, and the ratio to (1).
# With BASELINE=path/to/another/portico, row 2 is also run against that binary (say, a
# build of an earlier commit), in the same run, as row 2b.
# Then the resident memory of an idle `portico up` with 1, 100 and 1,000 functions.
#
#   bash scripts/bench.sh                 # 10 s per run, 32 connections
#   DURATION=30s CONNECTIONS=64 bash scripts/bench.sh
#   BASELINE=/tmp/old/target/release/portico bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

# A manifest with $1 functions (all the hello module) and $2 routes per function.
generate() {
    local functions=$1 routes=$2 out=$3 f r
    {
        # Each host its own data directory: one process at a time may hold one.
        printf '[data]\ndir = "%s"\n' "$work/data-$(basename "$out" .toml)"
        for ((f = 0; f < functions; f++)); do
            printf '[functions.f%d]\nmodule = "%s"\n' "$f" "$hello_wasm"
        done
        echo "[routes]"
        for ((f = 0; f < functions; f++)); do
            for ((r = 0; r < routes; r++)); do
                printf '"GET /f%d/r%d/hello/{name}" = "f%d"\n' "$f" "$r" "$f"
            done
        done
    } >"$out"
}

# The todo API with its data in $work; $2 = "on" or "off" for the read cache.
todo_manifest() {
    local out=$1 cache=$2
    sed -e "s#^dir = .*#dir = \"$work/data-$(basename "$out" .toml)\"#" \
        -e "s#^module = \"\.\./#module = \"$PWD/examples/#" examples/todo/portico.toml >"$out"
    [ "$cache" = on ] || printf '\n[cache]\nenabled = false\n' >>"$out"
}

# Creates 200 todos through URL; writes their ids, one per line, to FILE.
seed() {
    local url=$1 file=$2
    : >"$file"
    for i in $(seq 1 200); do
        curl -sf -X POST "$url/todos" -d "{\"title\": \"todo $i\"}" |
            grep -o '"id":"[^"]*"' | cut -d'"' -f4 >>"$file"
    done
}

native=$(start native "$TARGET_DIR/release/examples/native_hello" 127.0.0.1:0)
hello_manifest "$work/portico.toml"
portico=$(portico_up portico "$work/portico.toml")
baseline=""
if [ -n "${BASELINE:-}" ]; then
    # Its own copy of the manifest, so the two hosts keep separate data directories.
    hello_manifest "$work/baseline.toml"
    baseline=$(PORTICO_BIN=$BASELINE portico_up baseline "$work/baseline.toml")
fi
printf '[data]\ndir = "%s"\n[functions.wasi]\nmodule = "%s"\n[routes]\n"GET /wasi/hello/{name}" = "wasi"\n' \
    "$work/data-wasi" "$PWD/examples/target/wasm32-wasip2/release/wasi_http_hello.wasm" >"$work/wasi.toml"
wasi=$(portico_up wasi "$work/wasi.toml")
jwt_manifest "$work/jwt.toml"
jwt=$(portico_up jwt "$work/jwt.toml")
jwt_token=$(dev_token "$work/jwt.toml")
custom_manifest "$work/custom.toml"
custom=$(portico_up custom "$work/custom.toml")
api_key=$(issue_key "$custom" "$work/custom.toml")
generate 1 1000 "$work/routes.toml"
routes=$(portico_up routes "$work/routes.toml")
todo_manifest "$work/todo-cache.toml" on
todo_cache=$(portico_up todo-cache "$work/todo-cache.toml")
seed "$todo_cache" "$work/ids-cache"
todo_manifest "$work/todo-nocache.toml" off
todo_nocache=$(portico_up todo-nocache "$work/todo-nocache.toml")
seed "$todo_nocache" "$work/ids-nocache"

# The dynamodb backend against a local DynamoDB-compatible server (installed by
# scripts/test.sh; PORTICO_DYNOXIDE names another).
dynoxide=${PORTICO_DYNOXIDE:-${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/dynoxide-3.2.0/bin/dynoxide}
todo_dynamodb=""
if [ -x "$dynoxide" ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$dynoxide" --host 127.0.0.1 --port "$port" >"$work/dynoxide.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    todo_manifest "$work/todo-dynamodb.toml" on
    todo_dynamodb=$(PORTICO_DATA_BACKEND=dynamodb AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" \
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
        portico_up todo-dynamodb "$work/todo-dynamodb.toml")
    seed "$todo_dynamodb" "$work/ids-dynamodb"
else
    echo "no dynoxide at $dynoxide (run scripts/test.sh once, or set PORTICO_DYNOXIDE): skipping row 7" >&2
fi

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}; wrk -t1 -c$CONNECTIONS -d$DURATION (${pin[*]:-unpinned})"
echo
printf '%-34s %10s %9s %9s %9s %7s %8s\n' "target" "req/s" "p50 µs" "p99 µs" "p99.9 µs" "errors" "vs (1)"
base=""
row() {
    local label=$1 url=$2
    shift 2
    read -r rps p50 p99 p999 non2xx errs < <(run "$url" "$@")
    [ -n "$base" ] || base=$rps
    printf '%-34s %10s %9s %9s %9s %7s %7.2fx\n' "$label" "$rps" "$p50" "$p99" "$p999" \
        "$((non2xx + errs))" "$(awk -v a="$rps" -v b="$base" 'BEGIN {print a / b}')"
}
row "1. native hyper (ceiling)" "$native/hello/bench"
row "2. portico GET /hello/{name}" "$portico/hello/bench"
if [ -n "$baseline" ]; then
    row "2b. the same, BASELINE binary" "$baseline/hello/bench"
fi
BENCH_HEADER="Authorization: Bearer $jwt_token" row "2j. the same behind a JWT authorizer" "$jwt/hello/bench"
BENCH_HEADER="x-api-key: $api_key" row "2w. the same behind a wasm authorizer" "$custom/hello/bench"
row "3. portico, 1,000 routes registered" "$routes/f0/r999/hello/bench"
row "4. wasi:http GET /wasi/hello/{name}" "$wasi/wasi/hello/bench"
row "5. todo 95% reads, cache on" "$todo_cache" scripts/wrk-todos.lua "$work/ids-cache"
row "6. todo 95% reads, cache off" "$todo_nocache" scripts/wrk-todos.lua "$work/ids-nocache"
if [ -n "$todo_dynamodb" ]; then
    row "7. todo 95% reads, dynamodb+cache" "$todo_dynamodb" scripts/wrk-todos.lua "$work/ids-dynamodb"
fi

# Idle resident memory: each server started alone, measured once it listens.
while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$work/pids"
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
: >"$work/pids"
echo
printf '%-34s %12s %12s\n' "idle portico up" "RSS MiB" "start s"
for n in 1 100 1000; do
    generate "$n" 1 "$work/functions-$n.toml"
    t0=$(date +%s.%N)
    portico_up "functions-$n" "$work/functions-$n.toml" >/dev/null
    t1=$(date +%s.%N)
    pid=${pids[-1]}
    sleep 1
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    printf '%-34s %12.1f %12.2f\n' "$n function(s), 1 route each" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pids=()
done
