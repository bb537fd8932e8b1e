"""The admin HTTP listener (``WA_SIDECAR_ADMIN_ADDR``): ``/healthz`` (the
process is up), ``/readyz`` (serving, not starting or draining), ``/metrics``
(Prometheus), and the webhook ingress routes when they are on.

    async with admin_server(addr, metrics, ready, max_body=3 << 20, ingress=None):
        ...  # serving until the block ends
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sidecar.api.ingress import add_ingress_routes
from sidecar.errors import ConfigError
from sidecar.service.events import EventHub
from sidecar.service.webhooks import WebhookHandler
from sidecar.telemetry.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Ingress:
    """What ``POST/GET /webhook`` need (``WA_SIDECAR_WEBHOOK_INGRESS``)."""

    webhooks: WebhookHandler
    events: EventHub
    verify_token: Callable[[], str]  # the token in force (it may be rotated)


@contextlib.asynccontextmanager
async def admin_server(
    addr: str,
    metrics: Metrics,
    ready: asyncio.Event,
    *,
    max_body: int,
    ingress: Ingress | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[web.AppRunner]:
    """Listen on ``addr`` (``host:port``) while the block runs, over HTTPS
    with ``ssl_context``; ``/readyz`` follows ``ready``. A port we cannot take
    is a ``ConfigError``."""

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if not ready.is_set():
            return web.Response(status=503, text="starting or draining\n")
        return web.Response(text="ready\n")

    async def scrape(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=max_body + 1)
    app.add_routes(
        [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", scrape)]
    )
    if ingress is not None:
        add_ingress_routes(
            app,
            ingress.webhooks,
            ingress.events,
            verify_token=ingress.verify_token,
            max_body=max_body,
        )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = addr.rpartition(":")
    site = web.TCPSite(runner, host.strip("[]"), int(port), ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            "WA_SIDECAR_ADMIN_ADDR", f"cannot listen on {addr}: {exc.strerror}"
        ) from None
    try:
        yield runner
    finally:
        await runner.cleanup()
