#!/bin/sh
# Install the Node client's packages (clients/node) from its committed lockfile,
# only when node_modules is missing or older than package-lock.json. Node and
# npm come with the machine (Debian's nodejs/npm where they are missing, when
# root or passwordless sudo is at hand); without them the Node client test
# skips on a developer machine and fails on CI (CI=true).
set -eu
TOOLS=$(cd "$(dirname "$0")" && pwd)
cd "$TOOLS/../clients/node"
if ! command -v npm >/dev/null 2>&1; then
    sh "$TOOLS/apt_install.sh" ensure_node_client nodejs npm || { rc=$?; [ "$rc" = 3 ] && exit 0; exit "$rc"; }
fi
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    exit 0
fi
# --ignore-scripts: protobufjs's postinstall only checks versions.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
