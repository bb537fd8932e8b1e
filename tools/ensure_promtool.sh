#!/bin/sh
# Make sure `promtool` (for `promtool test rules` on deploy/prometheus/) is on PATH.
# It ships in Debian's `prometheus` package; installed only when missing, and
# only where we may (root, or passwordless sudo) — a developer machine without
# it just skips the rules test, CI (CI=true) fails it.
set -eu
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure_promtool: promtool missing and not root; install Debian's 'prometheus' package" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# Only the promtool binary is used; the package's service is never started here.
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null 2>&1 || { echo "ensure_promtool: promtool still missing" >&2; exit 1; }
