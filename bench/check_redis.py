"""Check latency at a paced 1,000 requests/s with the quota store on Redis.

The same open-loop driver and requests as ``bench.check``, against two sidecar
processes started side by side: one with ``WA_SIDECAR_QUOTA_URL=memory://``
(in-process buckets) and one on the local Redis (under a key prefix of its
own, deleted afterwards). A Check peeks the recipient's pair bucket and the
number's send bucket, so on Redis it pays those round trips; the memory://
figure next to it shows what they cost. Phases alternate run by run:

- ``memory_authentication``: AUTHENTICATION to a new number, memory:// quota.
- ``redis_authentication``: the same on Redis.
- ``redis_marketing_consented``: MARKETING to a consented number, on Redis.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import grpc

from bench.check import CONSENTED, RATE, SECONDS, STRANGER, _grant, _phase, _request
from bench.load import (
    RUNS,
    alternate,
    channels,
    close_channels,
    errors_of,
    goal,
    latency_figures,
    machine,
    scratch,
    start_sidecar,
    start_simulator_process,
)
from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2_grpc, send_pb2_grpc
from sidecar.testing import SidecarProcess

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _delete_keys(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def run() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    prefix = f"wa-bench-{uuid.uuid4().hex[:12]}:"
    async with scratch() as tmp:
        (tmp / "memory").mkdir()
        (tmp / "redis").mkdir()
        sim = await start_simulator_process(tmp)
        started: list[SidecarProcess] = []
        chans: list[grpc.aio.Channel] = []
        try:
            memory = await start_sidecar(
                tmp / "memory", sim.url, {"WA_SIDECAR_QUOTA_URL": "memory://"}
            )
            started.append(memory)
            redis = await start_sidecar(
                tmp / "redis",
                sim.url,
                {"WA_SIDECAR_QUOTA_URL": REDIS_URL, "WA_SIDECAR_QUOTA_KEY_PREFIX": prefix},
            )
            started.append(redis)
            mem_chans, redis_chans = channels(memory.grpc_addr, 2), channels(redis.grpc_addr, 2)
            chans = mem_chans + redis_chans
            assert memory.proc is not None and redis.proc is not None
            await _grant(consent_pb2_grpc.ConsentServiceStub(redis_chans[0]))
            on_memory = [send_pb2_grpc.SendServiceStub(c) for c in mem_chans]
            on_redis = [send_pb2_grpc.SendServiceStub(c) for c in redis_chans]
            auth = _request(STRANGER, common_pb2.CATEGORY_AUTHENTICATION)
            marketing = _request(CONSENTED, common_pb2.CATEGORY_MARKETING)
            runs = await alternate(
                [
                    ("memory_authentication", _phase(on_memory, memory.proc.pid, auth)),
                    ("redis_authentication", _phase(on_redis, redis.proc.pid, auth)),
                    ("redis_marketing_consented", _phase(on_redis, redis.proc.pid, marketing)),
                ],
                seconds=SECONDS,
            )
        finally:
            await close_channels(chans)
            for proc in started:
                await proc.stop()
            sim.stop()
            await _delete_keys(prefix)
    mem_fig = latency_figures(runs["memory_authentication"])
    auth_fig = latency_figures(runs["redis_authentication"])
    mkt_fig = latency_figures(runs["redis_marketing_consented"])
    return {
        "machine": machine(load_before),
        "rate_rps": RATE,
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "memory_authentication": mem_fig,
        "redis_authentication": auth_fig,
        "redis_marketing_consented": mkt_fig,
        "redis_minus_memory_p99_ms": (
            round(auth_fig["p99_ms_median"] - mem_fig["p99_ms_median"], 3)
            if auth_fig["p99_ms_median"] is not None and mem_fig["p99_ms_median"] is not None
            else None
        ),
        "goals": [
            goal(
                "Check p99 on Redis (AUTHENTICATION, median of runs)",
                auth_fig["p99_ms_median"],
                "<",
                2,
                " ms",
            ),
            goal(
                "Check p99 on Redis (MARKETING with consent, median of runs)",
                mkt_fig["p99_ms_median"],
                "<",
                2,
                " ms",
            ),
            goal("failed checks", errors_of(mem_fig, auth_fig, mkt_fig), "<=", 0),
        ],
        "note": "latency from scheduled start; cpu_us_per_op is the sidecar process's CPU",
    }
