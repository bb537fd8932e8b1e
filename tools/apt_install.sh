#!/bin/sh
# Install Debian packages for a tools/ensure_*.sh script: as root or with
# passwordless sudo, waiting for the dpkg lock (several installs may run at
# once). Where neither is possible it names the packages and exits 3: the
# caller then goes on without them (its tests skip on a developer machine and
# fail under CI=true).
#
#     sh tools/apt_install.sh ensure_go golang-go protobuf-compiler …
set -eu
WHO=$1
shift
if [ "$(id -u)" = "0" ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "$WHO: missing and not root; install Debian's: $*" >&2
    exit 3
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
