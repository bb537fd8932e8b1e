"""The quota store (Redis) goes away mid-traffic and comes back.

A PRIVATE ``redis-server`` (never the shared one) on a free port is killed
while a real sidecar process sends: ``fail_mode closed`` answers REJECTED /
STORE_UNAVAILABLE with a retry_after, ``open`` keeps sending from a local
bucket at a fraction of the rate and counts it. Restarted on the same port,
Redis serves the same sidecar again without a restart.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.redis]

RATE = 40.0  # burst = rate; fail open allows a quarter of both
FALLBACK_RATE = FALLBACK_BURST = RATE * 0.25


class PrivateRedis:
    """``redis-server`` on its own port with nothing persisted."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + " and CI=true")
            pytest.skip(message)
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [binary, *args, "--dir", str(self.tmp)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        await asyncio.wait_for(asyncio.to_thread(self._until_ready), 20)

    def _until_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if b"Ready to accept connections" in line:
                return
        raise RuntimeError(f"private redis-server exited ({self.proc.wait()})")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


@dataclass
class Traffic:
    """Sends one message after another to fresh recipients; each reply is
    tagged with the phase its request started in."""

    stub: send_pb2_grpc.SendServiceStub
    phase: str = "up"
    replies: list[tuple[str, send_pb2.SendResponse]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        for n in itertools.count():
            phase = self.phase
            request = send_pb2.SendRequest(
                to=f"+1415555{n:04d}",
                category=common_pb2.CATEGORY_AUTHENTICATION,
                template=send_pb2.Template(
                    name="otp", language=send_pb2.TemplateLanguage(code="en")
                ),
            )
            self.replies.append((phase, await self.stub.Send(request)))
            self.changed.set()

    def of(self, phase: str) -> list[send_pb2.SendResponse]:
        return [reply for p, reply in self.replies if p == phase]

    async def until(self, phase: str, count: int, outcome: int | None = None) -> None:
        """Wait for ``count`` replies (with ``outcome``) to requests started in ``phase``."""

        def enough() -> bool:
            found = [r for r in self.of(phase) if outcome is None or r.outcome == outcome]
            return len(found) >= count

        while not enough():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 20)


async def fallbacks(proc: SidecarProcess) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.get(proc.admin_url + "/metrics") as reply,
    ):
        text = await reply.text()
    for line in text.splitlines():
        if line.startswith("wa_sidecar_quota_fallbacks_total"):
            return float(line.split()[-1])
    raise AssertionError("wa_sidecar_quota_fallbacks_total is not exported")


@pytest.mark.parametrize("mode", ["closed", "open"])
async def test_sends_follow_the_fail_mode_while_redis_is_down_and_recover_after(
    tmp_path: Path, simulator: SimulatorHandle, private_redis: PrivateRedis, mode: str
) -> None:
    env = {
        "WA_SIDECAR_QUOTA_URL": private_redis.url,
        "WA_SIDECAR_QUOTA_FAIL_MODE": mode,
        "WA_SIDECAR_SEND_RATE": str(RATE),
        "WA_SIDECAR_SEND_MAX_WAIT": "0",  # a refusal answers at once instead of waiting
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        traffic = Traffic(send_pb2_grpc.SendServiceStub(proc.channel))
        sender = asyncio.create_task(traffic.run())
        try:
            await traffic.until("up", 3, send_pb2.OUTCOME_SENT)

            private_redis.kill()
            traffic.phase = "down"
            killed = time.monotonic()
            await traffic.until("down", 3 * int(FALLBACK_BURST))
            down = traffic.of("down")
            elapsed = time.monotonic() - killed
            if mode == "closed":
                assert all(r.outcome == send_pb2.OUTCOME_REJECTED for r in down)
                assert all(r.decision.reason == common_pb2.REASON_STORE_UNAVAILABLE for r in down)
                assert all(r.decision.retry_after.ToTimedelta().total_seconds() > 0 for r in down)
            else:
                sent = sum(r.outcome == send_pb2.OUTCOME_SENT for r in down)
                # The local bucket: a quarter of the burst and of the rate, not all of it.
                assert 1 <= sent <= FALLBACK_BURST + FALLBACK_RATE * elapsed + 1, (sent, elapsed)
                refused = {r.decision.reason for r in down if r.outcome != send_pb2.OUTCOME_SENT}
                assert refused == {common_pb2.REASON_QUOTA_EXHAUSTED}
                assert await fallbacks(proc) > 0

            await private_redis.start()  # same port, empty
            traffic.phase = "back"
            await traffic.until("back", 1, send_pb2.OUTCOME_SENT)
            before = await fallbacks(proc)
            traffic.phase = "after"
            await traffic.until("after", 5)
            after = traffic.of("after")
            assert [r.outcome for r in after[:5]] == [send_pb2.OUTCOME_SENT] * 5
            assert await fallbacks(proc) == before  # Redis decides again, not the fallback
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
