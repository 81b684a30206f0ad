#!/usr/bin/env bash
# Noisy neighbours, measured in one run against a release build of `portico up`:
#   1. `GET /hello/{name}` alone (the baseline of rows 2 and 4),
#   2. the same while two clients keep calling a route whose guest loops until its 2 s
#      timeout (`examples/misbehave`'s `/loop`): the aim is >= 0.5x of row 1,
#   3. 256 concurrent calls of that loop: how far past its 2 s deadline each 503 comes
#      (the aim: within 50 ms),
#   4. `hello` while those 256 loops run (accept and I/O must stay responsive),
#   5. the admin listener's `/healthz` while they run.
# With BASELINE=path/to/another/portico, every row is run against that binary too (say,
# a build of an earlier commit), in the same run.
#
#   bash scripts/bench-neighbours.sh
#   BASELINE=/var/tmp/old/release/portico bash scripts/bench-neighbours.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

LOOP_TIMEOUT_MS=2000
misbehave_wasm=$PWD/examples/target/wasm32-wasip2/release/misbehave.wasm
cat >"$work/neighbours.toml" <<TOML
[server]
max_instances = 300

[functions.hello]
module = "$hello_wasm"

[functions.misbehave]
module = "$misbehave_wasm"
timeout = "${LOOP_TIMEOUT_MS}ms"

[routes]
"GET /hello/{name}" = "hello"
"GET /loop" = "misbehave"
TOML

# latency URL CONNECTIONS DURATION: "requests p50 p99 max non2xx errors" (µs).
latency() {
    "${pin[@]}" wrk -t1 -c"$2" -d"$3" --timeout 10s -s scripts/wrk-latency.lua "$1" |
        awk '/^LATENCY/ {print $2, $3, $4, $5, $6, $7}'
}

# healthz URL: the slowest of 20 /healthz answers, in ms.
healthz() {
    local worst=0 t
    for _ in $(seq 1 20); do
        t=$(curl -s -o /dev/null -w '%{time_total}' "$1/healthz")
        worst=$(awk -v a="$worst" -v b="$t" 'BEGIN {print (b * 1000 > a) ? b * 1000 : a}')
        sleep 0.2
    done
    echo "$worst"
}

# measure NAME BINARY: every row for one binary.
measure() {
    local name=$1 bin=$2 url admin
    url=$(PORTICO_BIN=$bin portico_up "$name" "$work/neighbours.toml")
    admin=$(grep -o 'admin listening on http://[0-9.:]*' "$work/$name.out" | grep -o 'http://.*')
    read -r alone _ _ _ _ _ < <(run "$url/hello/bench")
    printf '%-44s %10s %8s\n' "$name: 1. hello alone" "$alone" "1.00x"

    "${pin[@]}" wrk -t1 -c2 -d"$(( ${DURATION%s} + ${WARMUP%s} + 2 ))s" --timeout 10s "$url/loop" >/dev/null &
    local loops=$!
    sleep 1
    read -r beside _ p99 _ _ _ < <(run "$url/hello/bench")
    wait "$loops" || true
    printf '%-44s %10s %8s   p99 %s µs\n' "$name: 2. hello beside 2 looping clients" "$beside" \
        "$(awk -v a="$beside" -v b="$alone" 'BEGIN {printf "%.2fx", a / b}')" "$p99"

    latency "$url/loop" 256 "$(( ${DURATION%s} + 4 ))s" >"$work/$name-loops" &
    loops=$!
    sleep 2
    read -r n _ p99 _ bad errs < <(latency "$url/hello/bench" 8 "$DURATION")
    local worst_health
    worst_health=$(healthz "$admin")
    wait "$loops" || true
    read -r calls p50 lp99 max _ _ <"$work/$name-loops"
    printf '%-44s %10s calls; past the %s ms deadline: p50 %s ms, p99 %s ms, max %s ms\n' \
        "$name: 3. 256 concurrent loops" "$calls" "$LOOP_TIMEOUT_MS" \
        "$(( p50 / 1000 - LOOP_TIMEOUT_MS ))" "$(( lp99 / 1000 - LOOP_TIMEOUT_MS ))" "$(( max / 1000 - LOOP_TIMEOUT_MS ))"
    printf '%-44s %10s req/s; p99 %s µs; %s errors\n' "$name: 4. hello beside 256 loops" \
        "$(( n / ${DURATION%s} ))" "$p99" "$(( bad + errs ))"
    printf '%-44s %10s ms (slowest of 20)\n' "$name: 5. admin /healthz beside 256 loops" "$worst_health"
}

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}; wrk -t1 -c$CONNECTIONS -d$DURATION (${pin[*]:-unpinned})"
echo
measure portico "${PORTICO_BIN:-$TARGET_DIR/release/portico}"
if [ -n "${BASELINE:-}" ]; then
    stop_servers
    measure baseline "$BASELINE"
fi
