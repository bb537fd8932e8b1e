"""An unknown ``WA_SIDECAR_*`` variable stops ``serve`` and fails ``check-config``.

A typo in a Helm value (``WA_SIDECAR_SEND_RATES``) would otherwise leave the
default in force without a word. Both commands name the variable and the
closest known one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sidecar.whatsapp.simulator import SimulatorHandle

from sidecar.testing import SidecarProcess, base_env

pytestmark = pytest.mark.integration

TYPO = {"WA_SIDECAR_SEND_RATES": "10"}
MESSAGE = "WA_SIDECAR_SEND_RATES: unknown setting; did you mean WA_SIDECAR_SEND_RATE?"


def check_config(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_refuses_an_unknown_variable_and_names_the_closest(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert check_config(env, tmp_path).returncode == 0
    refused = check_config({**env, **TYPO}, tmp_path)
    assert refused.returncode == 1
    assert MESSAGE in refused.stderr


async def test_serve_refuses_to_start_with_an_unknown_variable(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    proc = SidecarProcess(tmp_path, TYPO, graph_url=simulator.url)
    proc.start()
    try:
        assert await proc.wait(60) != 0
    finally:
        await proc.stop()
    assert MESSAGE in proc.log_text()
