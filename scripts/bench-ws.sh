#!/usr/bin/env bash
# WebSocket APIs end to end, against a native tokio-tungstenite server doing the same work
# (benches/native_ws_echo.rs) measured in the same run:
#   echo:      CONNECTIONS clients each sending {"action":"echo"} and awaiting the answer
#              (examples/ws-echo behind [websocket]), for DURATION;
#   broadcast: MEMBERS clients in one room, one sending MESSAGES messages, each sent when
#              every member got the previous (examples/chat: a table query and MEMBERS posts
#              per message).
#   across hosts (when dynoxide is installed, as scripts/test.sh does): the same
#              broadcast on two hosts sharing one DynamoDB-compatible server, with every
#              member on the sender's host, then with half of them on the other host
#              (their posts cross over the peer endpoint).
# Prints messages/s (deliveries/s for broadcast), p50 and p99 in µs, and Portico's ratio
# to native (across hosts: split / one host, the same backend in both).
#
#   bash scripts/bench-ws.sh
#   MEMBERS=1000 MESSAGES=100 SECONDS_PER_RUN=8 bash scripts/bench-ws.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
MEMBERS=${MEMBERS:-1000}
MESSAGES=${MESSAGES:-50}

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
cargo build --quiet --locked --release -p portico --example native_ws_echo --example ws_load
load="$TARGET_DIR/release/examples/ws_load"
release="$PWD/examples/target/wasm32-wasip2/release"

cat >"$work/ws.toml" <<TOML
[functions.ws]
module = "$release/ws_echo.wasm"
[websocket]
connect_throttle = { rate = 1000000, burst = 100000 }
[websocket.routes]
"\$default" = "ws"
"echo" = "ws"
TOML
cat >"$work/chat.toml" <<TOML
[data]
dir = "$work/data-chat"
[tables.chat_members]
partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }
[functions.chat]
module = "$release/chat.wasm"
tables = ["chat_members"]
connections = true
[websocket]
connect_throttle = { rate = 1000000, burst = 100000 }
max_outgoing = 4096
[websocket.routes]
"\$disconnect" = "chat"
"\$default" = "chat"
"join" = "chat"
"message" = "chat"
TOML

native=$(start native "$TARGET_DIR/release/examples/native_ws_echo" 127.0.0.1:0)
ws=$(portico_up ws "$work/ws.toml")
chat=$(portico_up chat "$work/chat.toml")
to_ws() { echo "ws://${1#http://}/ws"; }

echo "machine: $(nproc) cores; echo: $CONNECTIONS connections × ${SECONDS_PER_RUN}s; broadcast: $MEMBERS members × $MESSAGES messages"
printf '%-34s %12s %9s %9s %7s\n' "row" "per second" "p50 µs" "p99 µs" "errors"
# row LABEL ARGS...: runs ws_load ARGS, prints the row, leaves the rate in $last.
row() {
    local label=$1 rate p50 p99 errors
    shift
    read -r rate p50 p99 errors < <("${pin[@]}" "$load" "$@" | awk '/^RESULT/ {print $2, $3, $4, $5}')
    printf '%-34s %12s %9s %9s %7s\n' "$label" "$rate" "$p50" "$p99" "$errors"
    last=$rate
}
row "native echo" echo "ws://${native#http://}/" "$CONNECTIONS" "$SECONDS_PER_RUN"; n_echo=$last
row "portico echo (ws-echo)" echo "$(to_ws "$ws")" "$CONNECTIONS" "$SECONDS_PER_RUN"; p_echo=$last
row "native broadcast" broadcast "ws://${native#http://}/" "$MEMBERS" "$MESSAGES"; n_cast=$last
row "portico broadcast (chat)" broadcast "$(to_ws "$chat")" "$MEMBERS" "$MESSAGES"; p_cast=$last

dynoxide=${PORTICO_DYNOXIDE:-/var/tmp/portico-tools/dynoxide-3.2.0/bin/dynoxide}
if [ -x "$dynoxide" ]; then
    stop_servers
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$dynoxide" --host 127.0.0.1 --port "$port" >"$work/dynoxide.log" 2>&1 &
    pids+=($!)
    echo $! >>"$work/pids"
    for _ in $(seq 1 100); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    for host in one two; do
        sed -e "s|^dir = .*|dir = \"$work/data-$host\"|" "$work/chat.toml" >"$work/chat-$host.toml"
        printf '\n[data.dynamodb]\ncreate_tables = true\n[server]\nadmin_token = "bench-token"\n' >>"$work/chat-$host.toml"
    done
    export PORTICO_DATA_BACKEND=dynamodb AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" \
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
    one=$(portico_up one "$work/chat-one.toml")
    two=$(portico_up two "$work/chat-two.toml")
    row "dynamodb broadcast, one host" broadcast "$(to_ws "$one")" "$MEMBERS" "$MESSAGES"; d_one=$last
    row "dynamodb broadcast, half remote" broadcast "$(to_ws "$one"),$(to_ws "$two")" "$MEMBERS" "$MESSAGES"; d_two=$last
else
    echo "(no dynoxide at $dynoxide: the across-hosts rows are left out; scripts/test.sh installs it)"
fi
echo
awk -v a="$p_echo" -v b="$n_echo" 'BEGIN {printf "echo: portico / native = %.2fx\n", a / b}'
awk -v a="$p_cast" -v b="$n_cast" 'BEGIN {printf "broadcast: portico / native = %.2fx\n", a / b}'
if [ -n "${d_two:-}" ]; then
    awk -v a="$d_two" -v b="$d_one" 'BEGIN {printf "across hosts: half remote / one host = %.2fx\n", a / b}'
fi
