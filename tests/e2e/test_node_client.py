"""The Node client (clients/node): its own `node --test` suite, which starts a
real `wa-sidecar serve --with-simulator` (this venv's) and runs send, verify
(raw and re-serialised bodies, the node:http example), consent, the token,
the events stream, traceparent and UNAVAILABLE retries against it; plus the
generated types and index.d.ts checked with tsc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NODE_CLIENT = ROOT / "clients" / "node"


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} missing on CI: `make test` runs tools/ensure_node_client.sh")
        pytest.skip(f"{tool} not installed (tools/ensure_node_client.sh installs it)")
    return found


def test_node_client_suite_passes_against_a_live_sidecar() -> None:
    node = _require("node")
    _require("npm")
    # npm ci from the committed lockfile, only when node_modules is stale.
    subprocess.run(["sh", str(ROOT / "tools" / "ensure_node_client.sh")], check=True, timeout=300)
    env = {**os.environ, "SIDECAR_BIN": str(Path(sys.executable).parent / "wa-sidecar")}
    done = subprocess.run(
        [node, "--test", "test/client.test.js", "test/types.test.js"],
        cwd=NODE_CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout
