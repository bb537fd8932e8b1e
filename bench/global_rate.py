"""Four replicas, one phone number: the rate Graph sees with a shared Redis
quota against the memory:// counter-example (each replica its own bucket).

Goal: Redis within ±5 % of the configured 80 msg/s; memory:// shows ≈ 4 × 80,
which is why scale-out needs the shared store. Each run starts four sidecar
processes sending flat out to one in-process simulator (its own throughput
limit off) and measures the accept rate after the first second (the burst).
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, median
from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorSettings, start_simulator
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, SidecarProcess

RATE = 80.0
SIDECARS = 4
IN_FLIGHT = 8  # per sidecar
SECONDS = 6.0
RUNS = 3  # per mode, alternating
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _one_run(quota_url: str) -> tuple[float, float]:
    """(accepted msg/s after the first second, sidecar CPU-µs per message)."""
    sim = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({DEV_TOKEN}),
            app_secret=DEV_APP_SECRET.encode(),
            throughput_enabled=False,
            pair_limit_enabled=False,
        )
    )
    prefix = f"wa-bench-{uuid.uuid4().hex[:8]}:"
    env = {
        "WA_SIDECAR_QUOTA_URL": quota_url,
        "WA_SIDECAR_QUOTA_KEY_PREFIX": prefix,
        "WA_SIDECAR_SEND_RATE": str(RATE),
        "WA_SIDECAR_LOG_LEVEL": "WARNING",
    }
    numbers = (f"+1650555{n % 10_000:04d}" for n in itertools.count())
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for i in range(SIDECARS):
            (Path(tmp) / f"s{i}").mkdir()
            procs.append(SidecarProcess(Path(tmp) / f"s{i}", env, graph_url=sim.url))
        try:
            for proc in procs:
                proc.start()
            await asyncio.gather(*(proc.ready() for proc in procs))
            pids = [proc.proc.pid for proc in procs if proc.proc is not None]
            cpu_before = sum(cpu_seconds(pid) for pid in pids)

            async def flat_out(stub: send_pb2_grpc.SendServiceStub) -> None:
                while True:
                    await stub.Send(
                        send_pb2.SendRequest(
                            to=next(numbers),
                            category=common_pb2.CATEGORY_AUTHENTICATION,
                            template=send_pb2.Template(
                                name="otp", language=send_pb2.TemplateLanguage(code="en")
                            ),
                        )
                    )

            senders = [
                asyncio.create_task(flat_out(send_pb2_grpc.SendServiceStub(proc.channel)))
                for proc in procs
                for _ in range(IN_FLIGHT)
            ]
            await asyncio.wait(senders, timeout=SECONDS)
            stopped = time.monotonic()
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
        finally:
            await asyncio.gather(*(proc.stop() for proc in procs))
            await sim.close()
    accepted = [m.accepted_monotonic for m in sim.state.messages]
    start = min(accepted) + 1.0
    inside = sum(start <= t < stopped for t in accepted)
    return inside / (stopped - start), cpu * 1e6 / max(len(accepted), 1)


async def run() -> dict[str, Any]:
    redis_rates: list[float] = []
    memory_rates: list[float] = []
    redis_cpu: list[float] = []
    memory_cpu: list[float] = []
    for _ in range(RUNS):
        rate, cpu = await _one_run(REDIS_URL)
        redis_rates.append(rate)
        redis_cpu.append(cpu)
        rate, cpu = await _one_run("memory://")
        memory_rates.append(rate)
        memory_cpu.append(cpu)
    redis_rate = median(redis_rates)
    return {
        "configured_rate": RATE,
        "replicas": SIDECARS,
        "redis_rate_median": redis_rate,
        "redis_error_pct_worst": round(max(abs(r - RATE) / RATE * 100 for r in redis_rates), 2),
        "redis_rates": [round(r, 2) for r in redis_rates],
        "redis_cpu_us_per_msg_median": median(redis_cpu),
        "memory_rate_median": median(memory_rates),
        "memory_rates": [round(r, 2) for r in memory_rates],
        "memory_cpu_us_per_msg_median": median(memory_cpu),
        "goal": "redis within ±5 % of the configured rate; memory:// ≈ replicas × rate",
        "runs": RUNS,
    }
