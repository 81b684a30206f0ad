#!/usr/bin/env bash
# Hot-swap benchmark, against a release build of `portico up` serving `GET /hello`:
#   - time from `PUT /functions/hello` to the first response from the new version
#     (PUT latency + one request), for a module never seen before (compiled) and for one
#     whose precompiled artifact is on disk;
#   - p50/p99 latency of a steady load without swaps, then with a deploy every 100 ms,
#     same load, same run;
#   - restart with 20 distinct functions: per-function load time from the precompiled
#     artifacts, against compiling them on the first start.
#
#   bash scripts/bench-deploy.sh          # 10 s load runs, 32 connections
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

export PORTICO_ADMIN_TOKEN=bench

# variant TAG OUT: hello with a custom section holding TAG appended (a new version).
variant() {
    local tag=$1 out=$2 name=portico-bench
    cp "$hello_wasm" "$out"
    # section id 0, size, name length, name, payload (all sizes < 128: one LEB128 byte)
    printf "\\x00\\x$(printf %02x $((1 + ${#name} + ${#tag})))\\x$(printf %02x ${#name})%s%s" \
        "$name" "$tag" >>"$out"
}

# A manifest serving $2 functions f0..f(n-1), each its own variant, data under $work.
swap_manifest() {
    local out=$1 n=$2 f
    {
        printf '[data]\ndir = "%s/data-%s"\n' "$work" "$(basename "$out" .toml)"
        for ((f = 0; f < n; f++)); do
            variant "f$f-$(basename "$out")" "$work/$(basename "$out" .toml)-f$f.wasm"
            printf '[functions.f%d]\nmodule = "%s/%s-f%d.wasm"\n' "$f" "$work" "$(basename "$out" .toml)" "$f"
        done
        echo "[routes]"
        for ((f = 0; f < n; f++)); do printf '"GET /f%d/hello/{name}" = "f%d"\n' "$f" "$f"; done
    } >"$out"
}

admin_of() { grep -o 'admin listening on http://[0-9.:]*' "$work/$1.out" | grep -o 'http://.*'; }

# deploy ADMIN FILE URL: prints "<PUT ms + first request ms> <compile_ms> <code>", the
# times as curl measures them on the wire (without curl's own start-up).
deploy() {
    local admin=$1 file=$2 url=$3 put get
    put=$(curl -sf -o "$work/answer" -w '%{time_total}' -X PUT -H "authorization: Bearer bench" \
        --data-binary "@$file" "$admin/functions/f0")
    get=$(curl -sf -o /dev/null -w '%{time_total}' "$url/f0/hello/bench")
    echo "$(awk -v a="$put" -v b="$get" 'BEGIN {printf "%.1f", (a + b) * 1e3}')" \
        "$(grep -o '"compile_ms": [0-9.]*' "$work/answer" | grep -o '[0-9.]*$' | xargs printf '%.1f')" \
        "$(grep -o '"code": "[a-z]*"' "$work/answer" | cut -d'"' -f4)"
}

swap_manifest "$work/swap.toml" 1
url=$(portico_up swap "$work/swap.toml")
admin=$(admin_of swap)
variant a "$work/a.wasm"
variant b "$work/b.wasm"

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}"
echo
printf '%-44s %12s %12s %10s\n' "deploy of GET /f0/hello/{name}" "PUT→served ms" "compile ms" "code"
for i in 1 2 3; do
    variant "new$i" "$work/new$i.wasm"
    read -r total compile code < <(deploy "$admin" "$work/new$i.wasm" "$url")
    printf '%-44s %12s %12s %10s\n' "new module $i (compiled)" "$total" "$compile" "$code"
done
# a and b alternate: each deploy finds the other's artifact on disk, not in memory.
deploy "$admin" "$work/a.wasm" "$url" >/dev/null
deploy "$admin" "$work/b.wasm" "$url" >/dev/null
for i in 1 2 3; do
    read -r total compile code < <(deploy "$admin" "$work/a.wasm" "$url")
    printf '%-44s %12s %12s %10s\n' "known module $i (precompiled artifact)" "$total" "$compile" "$code"
    deploy "$admin" "$work/b.wasm" "$url" >/dev/null
done

echo
echo "load: wrk -t1 -c$CONNECTIONS -d$DURATION (${pin[*]:-unpinned}) on GET /f0/hello/{name}"
printf '%-44s %10s %9s %9s %9s %7s\n' "" "req/s" "p50 µs" "p99 µs" "p99.9 µs" "errors"
read -r rps p50 p99 p999 non2xx errs < <(run "$url/f0/hello/bench")
printf '%-44s %10s %9s %9s %9s %7s\n' "no swaps" "$rps" "$p50" "$p99" "$p999" "$((non2xx + errs))"
(
    i=0
    while :; do
        file=$work/a.wasm
        [ $((i % 2)) = 0 ] || file=$work/b.wasm
        curl -sf -o /dev/null -X PUT -H "authorization: Bearer bench" --data-binary "@$file" "$admin/functions/f0" || true
        echo $((++i)) >"$work/swaps"
        sleep 0.1
    done
) &
swapper=$!
read -r rps p50 p99 p999 non2xx errs < <(run "$url/f0/hello/bench")
kill "$swapper" 2>/dev/null || true
wait "$swapper" 2>/dev/null || true
printf '%-44s %10s %9s %9s %9s %7s\n' "a deploy every 100 ms ($(cat "$work/swaps") in all)" "$rps" "$p50" "$p99" "$p999" "$((non2xx + errs))"

# Restart: 20 distinct modules, compiled on the first start, precompiled on the second.
while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$work/pids"
wait 2>/dev/null || true
: >"$work/pids"
swap_manifest "$work/many.toml" 20
echo
printf '%-44s %12s %12s\n' "portico up, 20 distinct functions" "start s" "ms/function"
for label in "first start (compiling)" "restart (precompiled artifacts)"; do
    t0=$(date +%s%N)
    BENCH_LOG=portico::deploy=info portico_up many "$work/many.toml" >/dev/null
    t1=$(date +%s%N)
    per=$(grep -o 'load_ms=[0-9.]*' "$work/many.err" | cut -d= -f2 |
        awk '{s += $1; n++} END {if (n) printf "%.2f", s / n; else print "-"}')
    printf '%-44s %12s %12s\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')" "$per"
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$work/pids"
    wait 2>/dev/null || true
    : >"$work/pids"
done
