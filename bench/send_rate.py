"""A 10,000-message SendBatch at a configured 1,000 msg/s: the accept rate
per second that the simulator sees, after the first second.

Goal: every whole second within ±5 % of 1,000 msg/s (the −5 % side needs the
sidecar, the simulator and the client to keep up on this machine). One
sidecar process, one in-process simulator (its own limits off), bucket 50.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds
from sidecar.api._gen.wasidecar.v1 import send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorSettings, start_simulator
from sidecar.testing import (
    DEV_APP_SECRET,
    DEV_TOKEN,
    RATE_CAMPAIGN_ENV,
    SidecarProcess,
    rate_campaign,
)
from sidecar.testing import RATE_CAMPAIGN_RATE as RATE


async def run() -> dict[str, Any]:
    sim = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({DEV_TOKEN}),
            app_secret=DEV_APP_SECRET.encode(),
            throughput_enabled=False,
            pair_limit_enabled=False,
        )
    )
    env = {**RATE_CAMPAIGN_ENV, "WA_SIDECAR_LOG_LEVEL": "WARNING"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with SidecarProcess(Path(tmp), env, graph_url=sim.url) as proc:
                assert proc.proc is not None
                cpu = cpu_seconds(proc.proc.pid)
                stub = send_pb2_grpc.SendServiceStub(proc.channel)
                outcomes = [r.outcome async for r in stub.SendBatch(rate_campaign())]
                sent = outcomes.count(send_pb2.OUTCOME_SENT)
                cpu = cpu_seconds(proc.proc.pid) - cpu
    finally:
        await sim.close()
    per_second = sim.state.stats.accepted_per_second
    full = [per_second[s] for s in sorted(per_second)[1:-1]]
    return {
        "sent": sent,
        "accepted": sim.state.stats.accepted,
        "per_second": full,
        "mean": round(statistics.fmean(full), 1),
        "median": statistics.median(full),
        "min": min(full),
        "max": max(full),
        "every_second_within_5pct": all(abs(n - RATE) <= 0.05 * RATE for n in full),
        "sidecar_cpu_us_per_msg": round(cpu / max(sent, 1) * 1e6, 1),
    }
