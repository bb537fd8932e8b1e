"""The state store (PostgreSQL) goes away mid-traffic and comes back.

A PRIVATE PostgreSQL cluster (``initdb`` into a temporary directory, its own
port; never the machine's shared server) backs one real sidecar process.
Stopped (``pg_ctl -m immediate``, as a crash) while MARKETING sends run:
sends and Checks fail closed — REJECTED / STORE_UNAVAILABLE, nothing reaches
Graph — VerifyWebhook answers UNAVAILABLE so Meta retries, and the
``wa_sidecar_store_up{store="state"}`` gauge drops to 0. Restarted on the same
port, the same process serves again without a restart, the opt-out it
acknowledged before the outage still holds, and the webhook refused during
the outage is applied when redelivered.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess, free_port, inbound_text, signature

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

USER, USER_WA_ID = "+16505551234", "16505551234"
QUITTER, QUITTER_WA_ID = "+16505554321", "16505554321"  # opts out before the outage
WAIT = 20.0  # seconds any one condition may take


def _bindir() -> Path | None:
    """The PostgreSQL server binaries (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PrivatePostgres:
    """A throwaway cluster: trust auth, loopback only, its own port.

    PostgreSQL refuses to run as root, so under root the data directory
    belongs to, and the server runs as, the ``postgres`` user. The directory
    is made with ``mkdtemp`` (pytest's ``tmp_path`` is private to root) and
    is short enough for the Unix socket path.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="wa-pg-"))
        self.data = self.dir / "data"
        # Not ``subprocess``'s ``user=``: that forces a plain fork, which
        # crashes once this process runs gRPC's threads.
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None
        done = await asyncio.to_thread(
            subprocess.run,
            [*self._as, str(self.bindir / tool), *args],
            capture_output=True,
            timeout=WAIT,
            check=False,
            cwd=self.dir,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
            raise RuntimeError(f"{tool} failed ({done.returncode}): {output}")

    async def init(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-locale",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        await self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
            "start",
        )  # fmt: skip

    async def stop(self, mode: str = "immediate") -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        if server.bindir is None:
            message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + " and CI=true")
            pytest.skip(message)
        await server.init()
        await server.start()
        yield server
    finally:
        if server.running():
            await server.stop("fast")
        server.remove()


Reply = send_pb2.SendResponse | grpc.StatusCode


@dataclass
class Traffic:
    """MARKETING sends to USER one after another; each reply (or status code)
    is tagged with the phase its request started in, beside the number of
    messages the simulator had received when it started."""

    stub: send_pb2_grpc.SendServiceStub
    simulator: SimulatorHandle
    phase: str = "up"
    replies: list[tuple[str, int, Reply]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        for _ in itertools.count():
            phase, received = self.phase, self.simulator.state.stats.received
            reply: Reply
            try:
                reply = await self.stub.Send(marketing(USER))
            except grpc.aio.AioRpcError as exc:
                reply = exc.code()
            self.replies.append((phase, received, reply))
            self.changed.set()

    def of(self, phase: str) -> list[Reply]:
        return [reply for p, _, reply in self.replies if p == phase]

    def received_before(self, phase: str) -> int:
        return next(received for p, received, _ in self.replies if p == phase)

    async def until(self, phase: str, count: int, outcome: int | None = None) -> None:
        def enough() -> bool:
            found = [
                r
                for r in self.of(phase)
                if outcome is None
                or (isinstance(r, send_pb2.SendResponse) and r.outcome == outcome)
            ]
            return len(found) >= count

        while not enough():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), WAIT)


def marketing(number: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=number,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


async def store_up(proc: SidecarProcess) -> float | None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(proc.admin_url + "/metrics") as reply,
    ):
        text = await reply.text()
    for line in text.splitlines():
        if line.startswith('wa_sidecar_store_up{store="state"}'):
            return float(line.split()[-1])
    return None


async def gauge_becomes(proc: SidecarProcess, value: float) -> None:
    """The health pings run every 5 s: wait (on the metric) for the next one."""
    async with asyncio.timeout(WAIT):
        while await store_up(proc) != value:
            await asyncio.sleep(0.2)


async def test_sends_fail_closed_while_postgres_is_down_and_recover_after(
    tmp_path: Path, simulator: SimulatorHandle, private_postgres: PrivatePostgres
) -> None:
    env = {
        "WA_SIDECAR_STATE_URL": private_postgres.url,
        "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate(),
        "WA_SIDECAR_PAIR_BURST": "100000",  # one recipient, flat out: only the store may refuse
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
        verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)

        async def webhook(body: bytes) -> verify_pb2.WebhookResult:
            request = verify_pb2.WebhookRequest(
                body=body, signature=signature(body), remote_ip="127.0.0.1"
            )
            return await verify.VerifyWebhook(request)

        for number in (USER, QUITTER):
            await consent.Grant(
                consent_pb2.GrantRequest(
                    phone_number=number,
                    categories=[common_pb2.CATEGORY_MARKETING],
                    source="web-form",
                    notice_version="v1",
                    jurisdiction=consent_pb2.JURISDICTION_GDPR,
                    evidence="form-1",
                )
            )
        acknowledged = await webhook(inbound_text(QUITTER_WA_ID, "STOP"))
        assert acknowledged.valid and acknowledged.events[0].message.opt_out
        assert await store_up(proc) == 1.0

        traffic = Traffic(send, simulator)
        sender = asyncio.create_task(traffic.run())
        try:
            await traffic.until("up", 3, send_pb2.OUTCOME_SENT)

            await private_postgres.stop()  # a crash: no shutdown checkpoint, connections cut
            traffic.phase = "down"
            await traffic.until("down", 20)
            down = [r for r in traffic.of("down") if isinstance(r, send_pb2.SendResponse)]
            assert len(down) == len(traffic.of("down")), traffic.of("down")  # answers, no errors
            assert {(r.outcome, r.decision.reason) for r in down} == {
                (send_pb2.OUTCOME_REJECTED, common_pb2.REASON_STORE_UNAVAILABLE)
            }
            assert all(r.decision.retry_after.ToTimedelta().total_seconds() > 0 for r in down)
            for number in (USER, QUITTER):
                decision = await send.Check(marketing(number))
                assert (decision.allowed, decision.reason) == (
                    False,
                    common_pb2.REASON_STORE_UNAVAILABLE,
                )
            stop_during_outage = inbound_text(USER_WA_ID, "STOP")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await webhook(stop_during_outage)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # Meta will redeliver
            await gauge_becomes(proc, 0.0)
            # Nothing reached Graph while the consent store was down.
            assert simulator.state.stats.received == traffic.received_before("down")

            await private_postgres.start()  # same port, same data
            traffic.phase = "back"
            await traffic.until("back", 3, send_pb2.OUTCOME_SENT)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        codes = [(p, r) for p, _, r in traffic.replies if isinstance(r, grpc.StatusCode)]
        assert all(code != grpc.StatusCode.INTERNAL for _, code in codes), (
            codes,
            proc.log_text()[-6000:],
        )

        quitter = await send.Check(marketing(QUITTER))
        assert (quitter.allowed, quitter.reason) == (False, common_pb2.REASON_OPTED_OUT)
        assert (await send.Check(marketing(USER))).allowed
        redelivered = await webhook(stop_during_outage)
        assert redelivered.valid and redelivered.events[0].message.opt_out
        user = await send.Check(marketing(USER))
        assert (user.allowed, user.reason) == (False, common_pb2.REASON_OPTED_OUT)
        await gauge_becomes(proc, 1.0)

    assert proc.proc is not None and proc.proc.returncode == 0, proc.log_text()[-4000:]
