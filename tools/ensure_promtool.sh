#!/bin/sh
# Make sure `promtool` (for `promtool test rules` on deploy/prometheus/) is on PATH.
# It ships in Debian's `prometheus` package; installed only when missing, and
# only where we may (root, or passwordless sudo) — a developer machine without
# it just skips the rules test, CI (CI=true) fails it.
set -eu
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
# Only the promtool binary is used; the package's service is never started here.
sh "$(dirname "$0")/apt_install.sh" ensure_promtool prometheus || { rc=$?; [ "$rc" = 3 ] && exit 0; exit "$rc"; }
command -v promtool >/dev/null 2>&1 || { echo "ensure_promtool: promtool still missing" >&2; exit 1; }
