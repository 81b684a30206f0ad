#!/bin/sh
# Builds a Python Portico function: componentize.sh APP_DIR MODULE OUT.wasm [WORLD]
# (MODULE, in APP_DIR, defines `Handler`; WORLD defaults to `function`), against the
# repository's wit/, with portico_guest (this directory) on the module path.
#
# Runs componentize-py from PORTICO_COMPONENTIZE_PY, else from the version
# scripts/test.sh installs into ${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}.
set -eu
COMPONENTIZE_PY_VERSION=0.25.1
if [ $# -lt 3 ]; then
    echo "usage: $0 APP_DIR MODULE OUT.wasm [WORLD]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
tool=${PORTICO_COMPONENTIZE_PY:-${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/componentize-py-$COMPONENTIZE_PY_VERSION/bin/componentize-py}
if [ ! -x "$tool" ]; then
    echo "componentize-py not found at $tool: run scripts/test.sh (it installs componentize-py $COMPONENTIZE_PY_VERSION), or set PORTICO_COMPONENTIZE_PY" >&2
    exit 127
fi
mkdir -p "$(dirname "$3")"
exec "$tool" -d "$here/../wit" -w "${4:-function}" componentize -p "$1" -p "$here" "$2" -o "$3"
