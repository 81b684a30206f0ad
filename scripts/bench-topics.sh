#!/usr/bin/env bash
# Topics on the embedded store, in one process (benches/topics_load.rs), each row against
# the bare store's durable write rate measured in the same run:
#   put:      CONCURRENCY tasks, PutItem of an item the message's size (the baseline,
#             measured before and after the publishes: put, put-after);
#   publish:  the same tasks publishing to a topic with one subscription, acknowledged
#             once queued (no worker running);
#   drain:    the delivery workers (concurrency 4) delivering that backlog to
#             examples/order-email, a fresh instance per message;
#   latency:  MESSAGES messages one at a time, publish start to delivery end.
#
#   bash scripts/bench-topics.sh
#   CONCURRENCY=32 SECONDS_PER_RUN=5 MESSAGES=300 bash scripts/bench-topics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${CONCURRENCY:-32}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
MESSAGES=${MESSAGES:-300}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
echo "building (release)..." >&2
cargo build --quiet --locked --release -p portico --example topics_load
cargo build --quiet --locked --release --target wasm32-wasip2 \
    --manifest-path examples/Cargo.toml --target-dir examples/target -p order-email
module="$PWD/examples/target/wasm32-wasip2/release/order_email.wasm"

echo "machine: $(nproc) cores; $CONCURRENCY writers × ${SECONDS_PER_RUN}s; $MESSAGES one-at-a-time messages"
printf '%-10s %12s %9s %9s\n' "row" "per second" "p50 µs" "p99 µs"
"$TARGET_DIR/release/examples/topics_load" "$module" "$CONCURRENCY" "$SECONDS_PER_RUN" "$MESSAGES" |
    awk '/^RESULT/ {printf "%-10s %12s %9s %9s\n", $2, $3, $4, $5; rate[$2] = $3}
         END {base = (rate["put"] + rate["put-after"]) / 2;
              printf "\npublish / put (mean of the two put rows) = %.2fx\ndrain / put = %.2fx\n", rate["publish"] / base, rate["drain"] / base}'
