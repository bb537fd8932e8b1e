"""Acceptance (issue "Scale-out"): replicas sharing one Redis share one send rate.

Four real sidecar processes, each configured for 80 msg/s and each sending
flat out to one simulator, together deliver 80 msg/s, not 4 × 80. The
counter-example (memory://, ≈ 4 × 80) is measured in ``bench/global_rate.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import aiohttp
import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = [pytest.mark.integration, pytest.mark.redis]

RATE = 80.0
SIDECARS = 4
IN_FLIGHT = 6  # per sidecar; enough to offer well over 80 msg/s in total
RUN_SECONDS = 5.0


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def quota_waits(proc: SidecarProcess) -> float:
    """How many sends this sidecar held back for a token (its own metric)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(proc.admin_url + "/metrics") as reply,
    ):
        text = await reply.text()
    for line in text.splitlines():
        if line.startswith("wa_sidecar_quota_wait_seconds_count"):
            return float(line.split()[-1])
    return 0.0


async def test_four_sidecars_on_one_redis_send_at_the_rate_of_one(
    tmp_path: Path, simulator: SimulatorHandle, redis_url: str, redis_prefix: str
) -> None:
    simulator.state.configure({"throughput_enabled": False})  # only our limiter may pace
    env = {
        "WA_SIDECAR_QUOTA_URL": redis_url,
        "WA_SIDECAR_QUOTA_KEY_PREFIX": redis_prefix,
        "WA_SIDECAR_SEND_RATE": str(RATE),
    }
    procs = []
    for i in range(SIDECARS):
        (tmp_path / f"s{i}").mkdir()
        procs.append(SidecarProcess(tmp_path / f"s{i}", env, graph_url=simulator.url))
    numbers = (f"+1650555{n:04d}" for n in itertools.count())
    outcomes: list[int] = []
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(proc.ready() for proc in procs))

        async def flat_out(stub: send_pb2_grpc.SendServiceStub) -> None:
            while True:
                outcomes.append((await stub.Send(otp(next(numbers)))).outcome)

        senders = [
            asyncio.create_task(flat_out(send_pb2_grpc.SendServiceStub(proc.channel)))
            for proc in procs
            for _ in range(IN_FLIGHT)
        ]
        started = time.monotonic()
        done, _ = await asyncio.wait(senders, timeout=RUN_SECONDS)
        stopped = time.monotonic()
        for task in senders:
            task.cancel()
        results = await asyncio.gather(*senders, return_exceptions=True)
        failures = [r for r in results if not isinstance(r, asyncio.CancelledError | grpc.RpcError)]
        assert not done, failures  # every sender was still sending when time ran out
        waits = await asyncio.gather(*(quota_waits(proc) for proc in procs))
    finally:
        await asyncio.gather(*(proc.stop() for proc in procs))

    assert all(w > 0 for w in waits), waits  # each replica was held back by the shared bucket
    accepted = [m.accepted_monotonic for m in simulator.state.messages]
    first = min(accepted)
    assert first < started + 1.0
    window = (first + 1.0, stopped)  # the first second spends the burst
    inside = sum(window[0] <= t < window[1] for t in accepted)
    rate = inside / (window[1] - window[0])
    assert abs(rate - RATE) <= 0.05 * RATE, (rate, len(accepted))
    assert outcomes.count(send_pb2.OUTCOME_SENT) > RATE * (RUN_SECONDS - 1)
