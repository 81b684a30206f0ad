#!/usr/bin/env bash
# Route policies end to end: `hello`'s `GET /hello/{name}` plain (row 2 of bench.sh),
# with a throttle of its own that is never reached (2t: a second token bucket checked),
# behind a JWT authorizer (2j: one token for every request) and behind a custom wasm
# authorizer (2w: `examples/authorizer`, one API key for every request, decisions
# cached) and requiring a Portico API key on a usage plan with a throttle and a quota
# (2k: one key for every request), the rows alternated ROUNDS times, each round starting one row later, so that
# drift in the machine's speed and a row's place in the round hit each alike; prints every run and each row's median, as a ratio to
# row 2's median.
#
#   bash scripts/bench-auth.sh                     # ROUNDS=3, 8 s per run
#   ROUNDS=5 DURATION=10s bash scripts/bench-auth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

hello_manifest "$work/plain.toml"
plain=$(portico_up plain "$work/plain.toml")
hello_manifest "$work/throttled.toml"
sed -i 's#^"GET /hello/{name}" = "hello"#"GET /hello/{name}" = { function = "hello", throttle = { rate = 1e9, burst = 4000000000 } }#' \
    "$work/throttled.toml"
grep -q 'throttle = { rate = 1e9' "$work/throttled.toml" || { echo "no throttled route in the copy" >&2; exit 1; }
throttled=$(portico_up throttled "$work/throttled.toml")
jwt_manifest "$work/jwt.toml"
jwt=$(portico_up jwt "$work/jwt.toml")
token=$(dev_token "$work/jwt.toml")
custom_manifest "$work/custom.toml"
custom=$(portico_up custom "$work/custom.toml")
key=$(issue_key "$custom" "$work/custom.toml")
[ -n "$key" ] || { echo "could not issue an API key" >&2; exit 1; }
keyed_manifest "$work/keyed.toml"
keyed=$(portico_up keyed "$work/keyed.toml")
api_key=$(create_api_key "$(admin_url keyed)")
[ -n "$api_key" ] || { echo "could not create a Portico API key" >&2; exit 1; }

echo "machine: $(nproc) cores; wrk -t1 -c$CONNECTIONS -d$DURATION (${pin[*]:-unpinned}), $ROUNDS rounds"
printf '%-6s %-40s %10s %9s %9s %7s\n' "round" "target" "req/s" "p50 µs" "p99 µs" "errors"
declare -A results
rows=(2 2t 2j 2w 2k)
for round in $(seq 1 "$ROUNDS"); do
    for i in "${!rows[@]}"; do
        row=${rows[$(((i + round - 1) % ${#rows[@]}))]}
        case $row in
            2) label="2. GET /hello/{name}"; url=$plain; header="" ;;
            2t) label="2t. with its own throttle (not reached)"; url=$throttled; header="" ;;
            2j) label="2j. behind a JWT authorizer"; url=$jwt; header="Authorization: Bearer $token" ;;
            2w) label="2w. behind a wasm authorizer (cached)"; url=$custom; header="x-api-key: $key" ;;
            2k) label="2k. API key on a usage plan"; url=$keyed; header="x-api-key: $api_key" ;;
        esac
        read -r rps p50 p99 _ non2xx errs < <(BENCH_HEADER=$header run "$url/hello/bench")
        printf '%-6s %-40s %10s %9s %9s %7s\n' "$round" "$label" "$rps" "$p50" "$p99" "$((non2xx + errs))"
        results[$row]="${results[$row]:-} $rps"
    done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
base=$(echo "${results[2]}" | median)
echo
printf '%-40s %12s %8s %14s\n' "median of $ROUNDS" "req/s" "vs 2" "µs per request"
for row in "${rows[@]}"; do
    m=$(echo "${results[$row]}" | median)
    printf '%-40s %12s %7.2fx %+13.1f\n' "$row" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {print a / b}')" \
        "$(awk -v a="$m" -v b="$base" 'BEGIN {print 1e6 / a - 1e6 / b}')"
done
