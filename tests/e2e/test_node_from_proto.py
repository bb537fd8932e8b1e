"""A Node app written from the proto alone — not from our client — sends,
verifies a webhook from its raw bytes and records consent. It is copied with
the .proto files into a folder outside the repository and run from there, with
only @grpc/grpc-js and @grpc/proto-loader (the Node client's installed
packages, on NODE_PATH) to lean on."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sidecar.testing import DEV_APP_SECRET, SidecarProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("node_from_proto") / "app.js"
TO = "+16505550199"


def _node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node missing on CI: `make test` runs tools/ensure_node_client.sh")
        pytest.skip("node not installed (tools/ensure_node_client.sh installs it)")
    return found


async def test_a_node_app_from_the_proto_alone_sends_verifies_and_records_consent(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    node = _node()
    subprocess.run(["sh", str(ROOT / "tools" / "ensure_node_client.sh")], check=True, timeout=300)
    outside = tmp_path_factory.mktemp("node-app")  # under the system temp dir, not the repo
    assert ROOT not in outside.parents
    shutil.copytree(ROOT / "proto", outside / "proto", ignore=shutil.ignore_patterns("baseline"))
    shutil.copy(APP, outside / "app.js")
    async with SidecarProcess(tmp_path_factory.mktemp("sidecar"), args=("--with-simulator",)) as s:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "NODE_PATH": str(ROOT / "clients" / "node" / "node_modules"),
            "SIDECAR_ADDR": s.grpc_addr,
            "APP_SECRET": DEV_APP_SECRET,
            "TO": TO,
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [node, "app.js"],
            cwd=outside,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "grant: CONSENT_STATUS_GRANTED"
    outcome, message_id = lines[1].removeprefix("send: ").split()
    assert outcome == "OUTCOME_SENT"
    assert message_id.startswith("wamid.")
    assert lines[2] == "re-serialised: valid=false REJECTION_BAD_SIGNATURE"
    assert lines[3] == "raw: valid=true opt_out=true"
    assert lines[4] == "check: REASON_OPTED_OUT"
