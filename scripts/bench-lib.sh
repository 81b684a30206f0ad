# Shared by scripts/bench.sh and scripts/bench-deploy.sh: settings, cleanup of what was
# started, wrk (installed from Debian's packages if missing), release builds, a server
# starter and a wrk runner. Source it from the repository root.

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-2s}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=$(mktemp -d)
pids=()
cleanup() {
    # Servers started inside $(...) run in a subshell: their pids are in $work/pids.
    stop_servers
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
    echo $! >>"$work/pids"
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

# Stops every server started so far (say, before starting the baseline's, which would
# find the data directory in use and compete for the cores).
stop_servers() {
    [ -f "$work/pids" ] || return 0
    local pid
    while read -r pid; do
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    done <"$work/pids"
    : >"$work/pids"
}

# Pin the load generator to the last core when there is more than one.
pin=()
if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$(($(nproc) - 1))")
fi

# run URL [SCRIPT [SCRIPT ARGS...]]; BENCH_HEADER="name: value" adds a request header.
run() {
    local url=$1 script=${2:-scripts/wrk-report.lua}
    shift $(($# < 2 ? $# : 2))
    local header=()
    [ -z "${BENCH_HEADER:-}" ] || header=(-H "$BENCH_HEADER")
    "${pin[@]}" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "${header[@]}" -s "$script" "$url" -- "$@" >/dev/null
    "${pin[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "${header[@]}" -s "$script" "$url" -- "$@" |
        awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}


hello_wasm=$PWD/examples/target/wasm32-wasip2/release/hello.wasm

# Starts `portico up` on manifest $2 (free ports, RUST_LOG=warn unless BENCH_LOG says
# otherwise; the binary is PORTICO_BIN, else this tree's release build); prints its URL.
# A bench manifest must be in $work: the API-wide throttle (API Gateway's 10,000 rps by
# default) is raised out of reach in it, so the bench measures the request path and not
# 429s (the bucket is still checked on every request).
portico_up() {
    local name=$1 manifest=$2
    case $manifest in
        "$work"/*) ;;
        *) echo "portico_up: $manifest is not a copy in \$work" >&2; exit 1 ;;
    esac
    grep -q '^\[throttle\]' "$manifest" ||
        printf '\n[throttle]\nrate = 1e9\nburst = 4000000000\n' >>"$manifest"
    RUST_LOG=${BENCH_LOG:-warn} start "$name" "${PORTICO_BIN:-$TARGET_DIR/release/portico}" up \
        --manifest "$manifest" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
}

# A manifest serving hello's `GET /hello/{name}` behind a JWT authorizer over the
# development issuer (audience `bench`), with its data in $work.
jwt_manifest() {
    cat >"$1" <<EOF
[data]
dir = "$work/data-$(basename "$1" .toml)"
[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["bench"]
[functions.hello]
module = "$hello_wasm"
[routes]
"GET /hello/{name}" = { function = "hello", auth = "dev" }
EOF
}

# A manifest serving hello's `GET /hello/{name}` behind the custom authorizer of
# `examples/authorizer` (API keys in `x-api-key`, decisions cached), with `POST /keys`
# (`examples/keys`, behind the development issuer) to issue keys.
custom_manifest() {
    local release="$PWD/examples/target/wasm32-wasip2/release"
    cat >"$1" <<EOF
[data]
dir = "$work/data-$(basename "$1" .toml)"
[tables.api_keys]
partition_key = { name = "key_hash", type = "S" }
[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["bench"]
[authorizers.keys]
type = "request"
function = "authorizer"
identity_source = ["\$request.header.x-api-key"]
[functions.hello]
module = "$hello_wasm"
[functions.keys]
module = "$release/keys.wasm"
tables = ["api_keys"]
[functions.authorizer]
module = "$release/authorizer.wasm"
tables = ["api_keys"]
[routes]
"POST /keys" = { function = "keys", auth = "dev" }
"GET /hello/{name}" = { function = "hello", auth = "keys" }
EOF
}

# A development-issuer token for manifest $1.
dev_token() {
    "${PORTICO_BIN:-$TARGET_DIR/release/portico}" token --manifest "$1" 2>/dev/null | tail -n1
}

# Issues an API key through `POST /keys` of the host at URL $1 serving manifest $2.
issue_key() {
    curl -sf -X POST -H "Authorization: Bearer $(dev_token "$2")" "$1/keys" |
        grep -o '"key":"[^"]*"' | cut -d'"' -f4
}

# The admin URL server $1 (a name given to `start`) announced.
admin_url() {
    grep -o 'admin listening on http://[0-9.:]*' "$work/$1.out" | head -n1 | cut -d' ' -f4
}

# keyed_manifest FILE: hello's `GET /hello/{name}` requiring an API key on a plan whose
# throttle and quota are never reached (both checked on every request), admin token
# `bench`.
keyed_manifest() {
    hello_manifest "$1"
    sed -i 's#^"GET /hello/{name}" = "hello"#"GET /hello/{name}" = { function = "hello", api_key_required = true }#' "$1"
    grep -q 'api_key_required = true' "$1" || { echo "no keyed route in $1" >&2; exit 1; }
    cat >>"$1" <<'EOF'
[server]
admin_token = "bench"
[usage_plans.bench]
throttle = { rate = 1e9, burst = 4000000000 }
quota = { limit = 1000000000000, period = "day" }
EOF
}

# create_api_key ADMIN_URL: a new key's value on plan `bench`, from the admin API.
create_api_key() {
    curl -sf -X POST -H "Authorization: Bearer bench" -d '{"name": "bench", "plan": "bench"}' "$1/keys" |
        grep -o '"value": *"[^"]*"' | cut -d'"' -f4
}

# examples/hello/portico.toml as a copy in $work: absolute module paths, no build, its
# own data directory.
hello_manifest() {
    sed -e "s#\.\./target/#$PWD/examples/target/#" -e '/^build = /d' \
        examples/hello/portico.toml >"$1"
    printf '[data]\ndir = "%s"\n' "$work/data-$(basename "$1" .toml)" >>"$1"
}
