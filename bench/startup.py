"""Time from process start to health SERVING, and idle RSS (goals: < 2 s, < 100 MB)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.common import median, rss_mb
from sidecar.simulator import SimulatorSettings, start_simulator
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, SidecarProcess

RUNS = 5


async def run() -> dict[str, Any]:
    sim = await start_simulator(
        SimulatorSettings(access_tokens=frozenset({DEV_TOKEN}), app_secret=DEV_APP_SECRET.encode())
    )
    ready: list[float] = []
    rss: list[float] = []
    try:
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as tmp:
                proc = SidecarProcess(Path(tmp), graph_url=sim.url)
                proc.start()
                try:
                    ready.append(await proc.ready())
                    await asyncio.sleep(1.0)  # let start-up garbage settle before reading RSS
                    assert proc.proc is not None
                    rss.append(rss_mb(proc.proc.pid))
                finally:
                    await proc.stop()
    finally:
        await sim.close()
    return {
        "ready_s_median": median(ready),
        "ready_s_max": round(max(ready), 3),
        "idle_rss_mb_median": median(rss),
        "goal": "ready < 2 s, idle RSS < 100 MB",
        "runs": RUNS,
    }
