"""Run a real sidecar process for tests and benchmarks.

    async with SidecarProcess(tmp_path, env={"WA_SIDECAR_GRAPH_BASE_URL": sim.url}) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        await stub.Send(...)

The process is ``python -m sidecar serve`` on free loopback ports, with its
own SQLite state under ``tmp_path``; ``ready()`` waits on the gRPC health
``Watch`` stream (no polling) until the server reports SERVING.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2_grpc,
)

if TYPE_CHECKING:
    from sidecar.config import Settings
    from sidecar.runtime import Runtime
    from sidecar.simulator.webhooks import UpdateKind

DEV_TOKEN = "dev-token"
DEV_APP_SECRET = "dev-app-secret-for-tests-0123456789"
DEV_VERIFY_TOKEN = "dev-verify-token"
PHONE_NUMBER_ID = "106540352242922"
APP_ID = "1000000000000001"
# Reconnect quickly while the process starts (gRPC's default first backoff is 1 s).
_FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 20),
    ("grpc.min_reconnect_backoff_ms", 20),
    ("grpc.max_reconnect_backoff_ms", 100),
]


# Below Linux's ephemeral range (32768-60999), so a port picked here is not
# also handed out for some outgoing connection before the sidecar binds it.
_PORTS = range(20000, 32000)


def free_port() -> int:
    """A loopback port that was free a moment ago (random, below the ephemeral range)."""
    for _ in range(100):
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port found")


def base_env(tmp: Path, graph_url: str = "") -> dict[str, str]:
    """Environment for a sidecar under test: free ports, private state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_SIDECAR_")}
    env.update(
        {
            "WA_SIDECAR_GRPC_ADDR": f"127.0.0.1:{free_port()}",
            "WA_SIDECAR_ADMIN_ADDR": f"127.0.0.1:{free_port()}",
            "WA_SIDECAR_STATE_URL": f"sqlite:///{tmp / 'state.db'}",
            "WA_SIDECAR_ACCESS_TOKEN": DEV_TOKEN,
            "WA_SIDECAR_APP_SECRET": DEV_APP_SECRET,
            "WA_SIDECAR_VERIFY_TOKEN": DEV_VERIFY_TOKEN,
            "WA_SIDECAR_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WA_SIDECAR_APP_ID": APP_ID,
            "WA_SIDECAR_RETRY_BASE_DELAY": "0.01",
            "WA_SIDECAR_RETRY_MAX_DELAY": "0.05",
            "WA_SIDECAR_SHUTDOWN_GRACE": "10",
        }
    )
    if graph_url:
        env["WA_SIDECAR_GRAPH_BASE_URL"] = graph_url
    return env


class SidecarProcess:
    """A ``wa-sidecar serve`` child process with a gRPC channel to it."""

    def __init__(
        self,
        tmp: Path,
        env: Mapping[str, str] | None = None,
        *,
        graph_url: str = "",
        args: tuple[str, ...] = (),
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.tmp = tmp
        self.credentials = credentials  # TLS to the API; None: plaintext
        self.env = base_env(tmp, graph_url)
        self.env.update(env or {})
        self._given = frozenset(env or {})
        self.args = args
        self.log_path = tmp / f"sidecar-{os.getpid()}-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.aio.Channel | None = None
        self.started_at = 0.0

    @property
    def grpc_addr(self) -> str:
        return self.env["WA_SIDECAR_GRPC_ADDR"]

    @property
    def admin_url(self) -> str:
        return "http://" + self.env["WA_SIDECAR_ADMIN_ADDR"]

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = (
                grpc.aio.secure_channel(self.grpc_addr, self.credentials, options=_FAST_RECONNECT)
                if self.credentials is not None
                else grpc.aio.insecure_channel(self.grpc_addr, options=_FAST_RECONNECT)
            )
        return self._channel

    def start(self) -> None:
        self.started_at = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sidecar", "serve", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )

    async def ready(self, timeout: float = 20.0) -> float:
        """Wait until health is SERVING; returns seconds since ``start``."""
        assert self.proc is not None
        stub = health_pb2_grpc.HealthStub(self.channel)

        async def watch() -> None:
            while True:
                await self.channel.channel_ready()
                try:
                    async for reply in stub.Watch(health_pb2.HealthCheckRequest(service="")):
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            return
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise

        task = asyncio.ensure_future(watch())
        exited = asyncio.ensure_future(asyncio.to_thread(self.proc.wait))
        done, _ = await asyncio.wait({task, exited}, timeout=timeout, return_when="FIRST_COMPLETED")
        if task in done:
            exited.cancel()
            task.result()
            return time.monotonic() - self.started_at
        task.cancel()
        raise RuntimeError(
            f"sidecar not ready (exit={self.proc.poll()}); log:\n{self.log_text()[-4000:]}"
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(asyncio.to_thread(self.proc.wait), timeout)

    async def stop(self) -> int | None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await self.wait(30)
        except TimeoutError:
            self.proc.kill()
            return await self.wait(10)

    def kill(self) -> None:
        """kill -9: no drain, no cleanup."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    async def __aenter__(self) -> SidecarProcess:
        for attempt in range(3):
            self.start()
            try:
                await self.ready()
            except RuntimeError:
                # Another process took a picked port between pick and bind: new ports.
                if attempt == 2 or "cannot listen" not in self.log_text():
                    raise
                await self.stop()
                for var in ("WA_SIDECAR_GRPC_ADDR", "WA_SIDECAR_ADMIN_ADDR"):
                    if var not in self._given:
                        self.env[var] = f"127.0.0.1:{free_port()}"
                continue
            return self
        raise AssertionError("unreachable")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(ProcessLookupError):
            await self.stop()


RATE_CAMPAIGN_SIZE = 10_000
RATE_CAMPAIGN_RATE = 1_000
RATE_CAMPAIGN_ENV: Mapping[str, str] = {
    "WA_SIDECAR_SEND_RATE": str(RATE_CAMPAIGN_RATE),
    # A small bucket, so each second shows the pacing rather than a catch-up burst.
    "WA_SIDECAR_SEND_BURST": "50",
    "WA_SIDECAR_BATCH_CHUNK_SIZE": "2000",
}
"""The sidecar settings of the pacing acceptance test and ``python -m bench send_rate``."""


async def rate_campaign(size: int = RATE_CAMPAIGN_SIZE) -> AsyncIterator[send_pb2.SendRequest]:
    """``size`` (≤ 12,000) OTP template sends for ``SendBatch``, each to its own number."""
    for i in range(size):
        area = ("650", "415", "212")[i // 4000]
        yield send_pb2.SendRequest(
            idempotency_key=f"rate-{i}",
            to=f"+1{area}555{i % 4000 + 1000:04d}",
            category=common_pb2.CATEGORY_AUTHENTICATION,
            template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
        )


def webhook_body(
    *items: dict[str, object],
    kind: UpdateKind = "messages",
    phone_number_id: str = PHONE_NUMBER_ID,
    sender: str = "",
) -> bytes:
    """A Meta-shaped delivery holding ``items`` (``messages`` or ``statuses``)."""
    import json

    from sidecar.simulator.webhooks import WebhookUpdate, build_payload

    contact = {"profile": {"name": "Test User"}, "wa_id": sender} if sender else None
    updates = [WebhookUpdate(phone_number_id, kind, dict(item), contact) for item in items]
    payload = build_payload(updates, waba_id="102290129340398", display_phone_number="15550783881")
    return json.dumps(payload).encode()


def inbound_text(sender_wa_id: str, text: str, wamid: str = "", timestamp: int = 0) -> bytes:
    """One inbound text message from ``sender_wa_id`` (digits, no ``+``)."""
    from sidecar.simulator.webhooks import inbound_message_item

    wamid = wamid or f"wamid.test{time.monotonic_ns()}"
    item = inbound_message_item(wamid, sender_wa_id, timestamp or int(time.time()), text=text)
    return webhook_body(item, sender=sender_wa_id)


def signature(body: bytes, secret: str = DEV_APP_SECRET) -> str:
    from sidecar.policy.signature import sign

    return sign(body, secret.encode())


@dataclass
class Embedded:
    """A sidecar running in the test's event loop, reached over real gRPC."""

    settings: Settings
    runtime: Runtime
    channel: grpc.aio.Channel

    @property
    def send(self) -> send_pb2_grpc.SendServiceStub:
        return send_pb2_grpc.SendServiceStub(self.channel)

    @property
    def verify(self) -> verify_pb2_grpc.VerifyServiceStub:
        return verify_pb2_grpc.VerifyServiceStub(self.channel)

    @property
    def consent(self) -> consent_pb2_grpc.ConsentServiceStub:
        return consent_pb2_grpc.ConsentServiceStub(self.channel)


async def start_embedded(
    tmp: Path, graph_url: str, **env: str
) -> tuple[Embedded, asyncio.Event, asyncio.Task[int]]:
    """Start ``serve()`` in this event loop on free ports; retried on a port race."""
    from sidecar.app import serve
    from sidecar.config import load_settings
    from sidecar.errors import ConfigError

    for attempt in range(3):
        settings = load_settings(environ={**base_env(tmp, graph_url), **env})
        stop = asyncio.Event()
        started: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(settings, stop=stop, on_ready=started.set_result))
        waiters: set[asyncio.Future[Any]] = {task, started}
        done, _ = await asyncio.wait(waiters, timeout=20, return_when="FIRST_COMPLETED")
        if started in done:
            break
        stop.set()
        error = task.exception() if task.done() else None
        port_race = isinstance(error, ConfigError) and "cannot listen" in str(error)
        if not port_race or attempt == 2:
            raise RuntimeError(f"embedded sidecar did not start: {error or 'timeout'}")
    channel = grpc.aio.insecure_channel(settings.grpc_addr)
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    return Embedded(settings, started.result(), channel), stop, task
