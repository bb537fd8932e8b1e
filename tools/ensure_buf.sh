#!/bin/sh
# Make sure the pinned `buf` CLI (npm's @bufbuild/buf, tools/buf/package-lock.json)
# is installed under tools/buf/node_modules, for `buf lint` and `buf breaking`
# on proto/ (tests/e2e/test_proto_contract.py). A no-op when the installed
# version is the pinned one. npm ci needs no root; the package's postinstall
# (an optional speed-up that replaces the Node shim by the binary) is skipped.
set -eu
DIR=$(cd "$(dirname "$0")/buf" && pwd)
if ! command -v npm >/dev/null 2>&1; then
    echo "ensure_buf: npm missing; install Node.js 20 with npm" >&2
    exit 0
fi
PINNED=$(node -p "require('$DIR/package-lock.json').packages['node_modules/@bufbuild/buf'].version")
if [ -x "$DIR/node_modules/.bin/buf" ] && [ "$("$DIR/node_modules/.bin/buf" --version 2>/dev/null)" = "$PINNED" ]; then
    exit 0
fi
npm ci --prefix "$DIR" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
[ "$("$DIR/node_modules/.bin/buf" --version)" = "$PINNED" ] || { echo "ensure_buf: buf $PINNED not installed" >&2; exit 1; }
