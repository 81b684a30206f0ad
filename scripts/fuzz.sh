#!/usr/bin/env bash
# Runs Portico's fuzz targets (fuzz/) under libFuzzer, on the nightly toolchain that
# rustup installs. CI runs the same targets briefly on stable (`cargo test -p
# portico-fuzz`); this is the long run.
#
#   bash scripts/fuzz.sh                  # every target, FUZZ_SECONDS each (default 600)
#   bash scripts/fuzz.sh router expression  # the targets named
#   bash scripts/fuzz.sh router FILE...   # replay inputs (a failure the smoke test saved)
#
# New inputs go to fuzz/corpus/<target> (not committed; fuzz/seeds/<target> is),
# failures to fuzz/artifacts/<target>. nightly and cargo-fuzz are installed once, into
# PORTICO_TOOLS_DIR (default /var/tmp/portico-tools); builds go to
# CARGO_TARGET_DIR (default /var/tmp/portico-fuzz-target). Sanitizers are off: the
# targets run Portico's safe Rust, and without ASan each input runs about twice as fast.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
TARGETS=(router event manifest expression arena admin_body)
seconds="${FUZZ_SECONDS:-600}"
tools="${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/portico-fuzz-target}"

rustup toolchain install nightly --profile minimal >/dev/null
fuzz_bin="$tools/cargo-fuzz-$CARGO_FUZZ_VERSION/bin"
if [ ! -x "$fuzz_bin/cargo-fuzz" ]; then
    CARGO_TARGET_DIR="$tools/cargo-fuzz-build" cargo install cargo-fuzz \
        --version "$CARGO_FUZZ_VERSION" --locked --root "$tools/cargo-fuzz-$CARGO_FUZZ_VERSION"
    rm -rf "$tools/cargo-fuzz-build"
fi
export PATH="$fuzz_bin:$PATH"
fuzz=(cargo +nightly fuzz)
flags=(--fuzz-dir fuzz --features libfuzzer --sanitizer none)

# A target and files: replay them.
if [ $# -ge 2 ] && [ -f "$2" ]; then
    target=$1
    shift
    exec "${fuzz[@]}" run "${flags[@]}" "$target" "$@"
fi

selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${TARGETS[@]}")
"${fuzz[@]}" build "${flags[@]}"
for target in "${selected[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    printf '\n==> %s for %ss\n' "$target" "$seconds"
    "${fuzz[@]}" run "${flags[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1
done
