"""The README's development path: `serve --with-simulator` and the example client."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


async def test_example_runs_against_a_sidecar_with_the_embedded_simulator(tmp_path: Path) -> None:
    async with SidecarProcess(tmp_path, args=("--with-simulator",)) as proc:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(ROOT / "examples" / "send_and_verify.py")],
            env=proc.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("send: OUTCOME_SENT wamid.")
    assert lines[1] == "webhook valid: True opt_out: True"
    assert lines[2] == "marketing now: REASON_OPTED_OUT"
