#!/bin/sh
# Install the Node client's packages (clients/node) from its committed lockfile,
# only when node_modules is missing or older than package-lock.json. Node and
# npm come with the machine (Debian's nodejs/npm where they are missing, when
# root or passwordless sudo is at hand); without them the Node client test
# skips on a developer machine and fails on CI (CI=true).
set -eu
cd "$(dirname "$0")/../clients/node"
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure_node_client: node/npm missing and not root; install Node >= 18" >&2
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    exit 0
fi
# --ignore-scripts: protobufjs's postinstall only checks versions.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
