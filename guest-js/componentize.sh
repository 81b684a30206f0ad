#!/bin/sh
# Builds a JavaScript Portico function: componentize.sh SOURCE.js OUT.wasm [WORLD]
# (WORLD defaults to `function`; `authorizer-function`, `websocket-function` and
# `subscriber-function` are the other kinds), against the repository's wit/.
#
# Runs componentize-js from PORTICO_COMPONENTIZE_JS, else from the version
# scripts/test.sh installs into ${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}.
set -eu
COMPONENTIZE_JS_VERSION=0.23.0
if [ $# -lt 2 ]; then
    echo "usage: $0 SOURCE.js OUT.wasm [WORLD]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
tool=${PORTICO_COMPONENTIZE_JS:-${PORTICO_TOOLS_DIR:-/var/tmp/portico-tools}/componentize-js-$COMPONENTIZE_JS_VERSION/node_modules/.bin/componentize-js}
if [ ! -x "$tool" ]; then
    echo "componentize-js not found at $tool: run scripts/test.sh (it installs componentize-js $COMPONENTIZE_JS_VERSION), or set PORTICO_COMPONENTIZE_JS" >&2
    exit 127
fi
mkdir -p "$(dirname "$2")"
source=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
# componentize-js lets the module's imports see the current directory when the source
# lies under it: from the repository root, `../../guest-js/portico.js` resolves.
cd "$here/.."
exec "$tool" --wit wit --world-name "${3:-function}" -o "$out" "$source"
