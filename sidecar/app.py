"""The composition root: settings → telemetry → stores → Graph client →
services → servicers → servers; signals and graceful drain.

Everything concrete is chosen here (and URL schemes only in
``stores/factory.py``); every other module receives its dependencies.

    exit_code = asyncio.run(serve(load_settings()))
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sidecar import __version__
from sidecar.api._gen.wasidecar.v1 import (
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.api.access import AccessControl, CallerAccess
from sidecar.api.consent import ConsentServicer
from sidecar.api.health import HealthService
from sidecar.api.ingress import add_ingress_routes
from sidecar.api.interceptors import ServerTelemetry
from sidecar.api.send import SendServicer
from sidecar.api.verify import VerifyServicer
from sidecar.config import Settings
from sidecar.crypto.blind_index import BlindIndexer
from sidecar.crypto.fields import FieldCipher
from sidecar.crypto.keys import Keyring
from sidecar.crypto.subjects import SubjectKeys
from sidecar.errors import ConfigError
from sidecar.policy.access import Principal, Role
from sidecar.policy.buttons import ButtonRules
from sidecar.policy.inbound import InboundRules
from sidecar.policy.optout import OptOutMatcher
from sidecar.policy.signature import SignatureVerifier
from sidecar.policy.source import SourcePolicy
from sidecar.policy.types import Category
from sidecar.service.campaign import Campaign, CampaignSettings
from sidecar.service.consent import ConsentManager
from sidecar.service.events import EventHub
from sidecar.service.leases import OwnerLease
from sidecar.service.maintenance import Retention
from sidecar.service.operations import Operations
from sidecar.service.outbox import Dispatcher, Outbox
from sidecar.service.resend import Resender
from sidecar.service.review import Review
from sidecar.service.send import SendDeps, Sender, SendSettings
from sidecar.service.subjects import SubjectDirectory
from sidecar.service.validator import NumberValidator
from sidecar.service.webhooks import (
    RateLimiter,
    WebhookDeps,
    WebhookHandler,
    WebhookSettings,
)
from sidecar.stores.factory import Stores, open_stores, webhook_limit_storage
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.probes import watch_stores
from sidecar.telemetry.setup import Tracing, setup_tracing
from sidecar.whatsapp.client import GraphClient, session_timeout
from sidecar.whatsapp.tokens import TokenManager

log = logging.getLogger(__name__)

STORE_COMPONENTS = ("wasidecar.store.state", "wasidecar.store.quota")
SERVICE_NAMES = (
    send_pb2.DESCRIPTOR.services_by_name["SendService"].full_name,
    verify_pb2.DESCRIPTOR.services_by_name["VerifyService"].full_name,
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name,
)
_FINGERPRINT_LABEL = b"wa-sidecar/v1/idempotency-fingerprint"
_EVENT_KEY_LABEL = b"wa-sidecar/v1/webhook-event-keys"


def load_keyring(settings: Settings, *, generate: bool = True) -> Keyring:
    """The configured key, or in dev a key kept beside the SQLite file
    (generated on first start; offline tools pass ``generate=False``)."""
    if settings.encryption_key:
        return Keyring.parse(settings.encryption_key.reveal())
    if not settings.state_url.startswith("sqlite:///"):
        raise ConfigError(
            "WA_SIDECAR_ENCRYPTION_KEY", "required unless the state is a local SQLite file"
        )
    path = Path(settings.state_url.removeprefix("sqlite:///") + ".key")
    if not path.exists() and not generate:
        raise ConfigError(
            "WA_SIDECAR_ENCRYPTION_KEY", f"not set, and no development key file at {path}"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            f.write(Keyring.generate())
        log.warning(
            "generated a development encryption key beside the SQLite state",
            extra={"event": "dev_key_generated", "path": str(path)},
        )
    return Keyring.parse(path.read_text().strip())


@dataclass
class Runtime:
    """Everything one running sidecar holds, for the servers and for tests."""

    settings: Settings
    stores: Stores
    session: aiohttp.ClientSession
    metrics: Metrics
    tokens: TokenManager
    sender: Sender
    webhooks: WebhookHandler
    consent: ConsentManager
    events: EventHub
    servicers: tuple[Any, ...]
    outbox: Outbox
    dispatcher: Dispatcher | None  # None: this replica leaves dispatch to others
    retention: Retention
    access: AccessControl | None = None  # None: no caller auth (WA_SIDECAR_AUTH_FILE unset)
    resender: Resender | None = None  # None: held sends are never resent (the default)
    lease: OwnerLease | None = None  # the sender's owner lease (heartbeat)

    async def close(self) -> None:
        await self.session.close()
        await self.webhooks.close()
        await self.stores.close()


async def build_runtime(settings: Settings) -> Runtime:
    """Wire stores, crypto, Graph client and services from settings."""
    keyring = load_keyring(settings)
    metrics = Metrics()
    # Read before anything opens: a bad auth file stops the start-up.
    access = AccessControl.load(settings.auth_file, metrics) if settings.auth_file else None
    stores = await open_stores(
        settings.state_url, settings.quota_url, quota_prefix=settings.quota_key_prefix
    )
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.graph_pool_size, ttl_dns_cache=300),
        timeout=session_timeout(settings.graph_timeout),
        skip_auto_headers=("User-Agent",),
    )
    secrets = settings.app_secrets
    tokens = TokenManager(
        settings.access_token.reveal(),
        app_secret=secrets[0] if secrets else None,
        app_id=settings.app_id,
        refresh_before=settings.token_refresh_before,
    )
    graph = GraphClient(
        session,
        base_url=settings.graph_base_url,
        api_version=settings.graph_api_version,
        tokens=tokens,
    )
    tokens.bind(graph)
    directory = SubjectDirectory(
        stores.state, BlindIndexer(keyring, bits=settings.blind_index_bits), SubjectKeys(keyring)
    )
    consent = ConsentManager(stores.state, directory, metrics)
    limiter = None
    if settings.webhook_rate_limit:
        limiter = RateLimiter(
            webhook_limit_storage(settings.quota_url, settings.quota_key_prefix),
            settings.webhook_rate_limit,
        )
    webhooks = WebhookHandler(
        WebhookDeps(
            state=stores.state,
            dedup=stores.dedup,
            directory=directory,
            consent=consent,
            verifier=SignatureVerifier(secrets),
            source=SourcePolicy(settings.webhook_allow_cidrs, settings.webhook_trusted_proxies),
            rules=_inbound_rules(settings),
            metrics=metrics,
            event_key_secret=keyring.index_subkey(_EVENT_KEY_LABEL),
            limiter=limiter,
        ),
        WebhookSettings.from_settings(settings),
    )
    cipher = FieldCipher(keyring)
    sender = Sender(
        SendDeps(
            state=stores.state,
            quota=stores.quota,
            directory=directory,
            graph=graph,
            tokens=tokens,
            cipher=cipher,
            metrics=metrics,
            fingerprint_key=keyring.index_subkey(_FINGERPRINT_LABEL),
            validator=_validator(settings, session),
        ),
        SendSettings.from_settings(settings),
        on_opt_out=webhooks.opt_out_from_graph,
    )
    pacing = CampaignSettings(
        settings.batch_chunk_size, settings.batch_chunk_interval, settings.batch_max_in_flight
    )
    campaign = Campaign(sender, pacing)
    outbox = Outbox(sender, stores.state, directory, cipher)
    dispatcher = Dispatcher(outbox, pacing) if settings.outbox_dispatch else None
    resender = (
        Resender(sender, stores.state, cipher, after=settings.ambiguous_resend_after)
        if settings.ambiguous_resend_after > 0
        else None
    )
    retention = Retention(
        stores.state,
        stores.dedup,
        retention_days=settings.retention_days,
        interval=settings.retention_interval,
    )
    events = EventHub()
    servicers = (
        SendServicer(
            sender, campaign, outbox, Review(sender, stores.state, cipher), settings.phone_number_id
        ),
        VerifyServicer(
            webhooks, settings.verify_token.reveal(), events if settings.webhook_ingress else None
        ),
        ConsentServicer(
            consent,
            Operations(stores.state, consent, cipher, ttl=settings.approval_ttl)
            if access is not None
            else None,
        ),
    )
    return Runtime(
        settings,
        stores,
        session,
        metrics,
        tokens,
        sender,
        webhooks,
        consent,
        events,
        servicers,
        outbox,
        dispatcher,
        retention,
        access,
        resender,
        OwnerLease(
            stores.state,
            sender.owner,
            ttl=settings.owner_lease_ttl,
            interval=settings.owner_heartbeat_interval,
        ),
    )


def _inbound_rules(settings: Settings) -> InboundRules:
    """Keyword packs, button payloads and button categories, as configured."""
    categories = (Category[name.upper()] for name in settings.opt_out_button_categories)
    return InboundRules(
        OptOutMatcher(locales=settings.opt_out_locales, extra_opt_out=settings.opt_out_keywords),
        ButtonRules(settings.opt_out_button_payloads),
        tuple(dict.fromkeys(categories)),
    )


def _validator(settings: Settings, session: aiohttp.ClientSession) -> NumberValidator | None:
    if not settings.number_validator_url:
        return None
    return NumberValidator(
        session,
        settings.number_validator_url,
        qps=settings.number_validator_qps,
        cache_ttl=settings.number_validator_cache_ttl,
        timeout=settings.number_validator_timeout,
    )


def _grpc_options(settings: Settings) -> list[tuple[str, int]]:
    # The webhook size cap must decide (REJECTION_TOO_LARGE), not the transport.
    receive = max(2 * settings.webhook_max_body, 8 * 1024 * 1024)
    return [
        ("grpc.max_receive_message_length", receive),
        ("grpc.so_reuseport", 0),  # a port clash must fail, not share silently
    ]


def _bind(server: grpc.aio.Server, addr: str, setting: str) -> int:
    try:
        port: int = server.add_insecure_port(addr)
    except RuntimeError:
        port = 0
    if port == 0 and not addr.endswith(":0"):
        raise ConfigError(setting, f"cannot listen on {addr} (in use or not a local address)")
    return port


@contextlib.asynccontextmanager
async def _admin_server(runtime: Runtime, ready: asyncio.Event) -> AsyncIterator[web.AppRunner]:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if not ready.is_set():
            return web.Response(status=503, text="starting or draining\n")
        return web.Response(text="ready\n")

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(runtime.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=runtime.settings.webhook_max_body + 1)
    app.add_routes(
        [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
    )
    if runtime.settings.webhook_ingress:
        add_ingress_routes(
            app,
            runtime.webhooks,
            runtime.events,
            verify_token=runtime.settings.verify_token.reveal(),
            max_body=runtime.settings.webhook_max_body,
        )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = runtime.settings.admin_addr.rpartition(":")
    site = web.TCPSite(runner, host.strip("[]"), int(port))
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            "WA_SIDECAR_ADMIN_ADDR",
            f"cannot listen on {runtime.settings.admin_addr}: {exc.strerror}",
        ) from None
    try:
        yield runner
    finally:
        await runner.cleanup()


def _status(serving: bool) -> Any:
    return (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )


@contextlib.asynccontextmanager
async def _admin_server_and_lease(runtime: Runtime, ready: asyncio.Event) -> AsyncIterator[None]:
    """The admin HTTP server, then the owner lease (released before the server stops)."""
    async with _admin_server(runtime, ready), _owner_lease(runtime):
        yield


@contextlib.asynccontextmanager
async def _owner_lease(runtime: Runtime) -> AsyncIterator[None]:
    """The sender's owner lease: taken before serving, renewed throughout,
    released after the drain (and the store work of cut-off sends)."""
    lease = runtime.lease
    if lease is None:
        yield
        return
    await lease.take()
    stop = asyncio.Event()
    heartbeat = asyncio.create_task(lease.run(stop))
    try:
        yield
    finally:
        await runtime.sender.settle()
        stop.set()
        await heartbeat
        await lease.release()


async def _set_health(servicer: HealthService, serving: bool) -> None:
    for name in ("", *SERVICE_NAMES, *STORE_COMPONENTS):
        await servicer.set(name, _status(serving))


def _start_workers(
    runtime: Runtime, stop: asyncio.Event, health_servicer: HealthService
) -> list[asyncio.Task[None]]:
    """Background work beside the RPCs: retention, store probes (gauge and
    the ``wasidecar.store.*`` health components), and outbox dispatch unless
    another replica does it. Each ends on its own once ``stop`` is set."""

    async def store_health(name: str, up: bool) -> None:
        await health_servicer.set(f"wasidecar.store.{name}", _status(up))

    workers = [asyncio.create_task(runtime.retention.run(stop))]
    if runtime.access is not None:
        workers.append(asyncio.create_task(runtime.access.watch(stop)))
    pings = {"state": runtime.stores.state.ping, "quota": runtime.stores.quota.ping}
    workers.append(
        asyncio.create_task(watch_stores(pings, runtime.metrics, stop, on_change=store_health))
    )
    if runtime.resender is not None:
        workers.append(asyncio.create_task(runtime.resender.run(stop)))
    if runtime.dispatcher is not None:
        # Stops claiming at once; what it claimed gets the shutdown grace.
        grace = runtime.settings.shutdown_grace
        workers.append(asyncio.create_task(runtime.dispatcher.run(stop, grace)))
    return workers


@contextlib.asynccontextmanager
async def _tracing(settings: Settings) -> AsyncIterator[Tracing]:
    """Tracing from the OTEL_* variables; flushed and shut down on exit."""
    tracing = setup_tracing(settings)
    try:
        yield tracing
    finally:
        await asyncio.to_thread(tracing.shutdown, 5.0)


def _instrument(runtime: Runtime, tracing: Tracing) -> ServerTelemetry:
    """Scrape-time gauges, and the interceptor giving every RPC a span and a duration."""
    runtime.metrics.watch_send_rates(runtime.sender.quota.current_rates)
    host, _, port = runtime.settings.grpc_addr.rpartition(":")
    return ServerTelemetry(
        runtime.metrics,
        tracing=tracing.enabled,
        server_address=host.strip("[]"),
        server_port=int(port) if port.isdigit() else 0,
        request_log_sample=runtime.settings.request_log_sample,
    )


def _interceptors(runtime: Runtime, tracing: Tracing) -> list[Any]:
    """Telemetry outermost (refused calls are traced, measured and logged
    too), then caller access when an auth file is configured."""
    interceptors: list[Any] = [_instrument(runtime, tracing)]
    if runtime.access is not None:
        consent = runtime.consent

        async def audit_denial(principal: Principal, method: str, role: Role | None) -> None:
            await consent.audit_denial(principal.name, method, role.value if role else "")

        interceptors.append(CallerAccess(runtime.access, runtime.metrics, audit_denial))
    return interceptors


def _stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM and SIGINT set (the process's own stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(
    settings: Settings,
    *,
    with_simulator: bool = False,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Runtime], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``), drain, and return the exit code.

    With ``stop`` given (tests embedding the sidecar) no signal handlers are
    installed; ``on_ready`` receives the runtime once health is SERVING.
    """
    own_process = stop is None
    if stop is None:
        stop = _stop_on_signals()
    async with contextlib.AsyncExitStack() as stack:
        if with_simulator:
            settings = await _start_simulator(settings, stack)
        # Entered first, so it exits last: spans of the drain are exported too.
        tracing = await stack.enter_async_context(_tracing(settings))
        runtime = await build_runtime(settings)
        stack.push_async_callback(runtime.close)
        ready = asyncio.Event()
        health_servicer = HealthService()
        await _set_health(health_servicer, False)
        server = grpc.aio.server(
            options=_grpc_options(settings), interceptors=_interceptors(runtime, tracing)
        )
        send_pb2_grpc.add_SendServiceServicer_to_server(runtime.servicers[0], server)
        verify_pb2_grpc.add_VerifyServiceServicer_to_server(runtime.servicers[1], server)
        consent_pb2_grpc.add_ConsentServiceServicer_to_server(runtime.servicers[2], server)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        grpc_port = _bind(server, settings.grpc_addr, "WA_SIDECAR_GRPC_ADDR")
        health_server = None
        if settings.health_addr:
            health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
            _bind(health_server, settings.health_addr, "WA_SIDECAR_HEALTH_ADDR")
        await stack.enter_async_context(_admin_server_and_lease(runtime, ready))
        await server.start()
        if health_server is not None:
            await health_server.start()
        refresher = asyncio.create_task(runtime.tokens.run(stop))
        workers = _start_workers(runtime, stop, health_servicer)
        await _set_health(health_servicer, True)
        ready.set()
        if own_process:
            # Start-up objects (modules, stubs, settings, pools) live as long
            # as the process: out of the collector's sight, a full collection
            # (which pauses every call in flight) scans request-time objects only.
            gc.freeze()
        if on_ready is not None:
            on_ready(runtime)
        log.info(
            "wa-policy-sidecar serving",
            extra={
                "event": "serving",
                "version": __version__,
                "grpc_port": grpc_port,
                "env": settings.env,
                "state": settings.state_url.split(":", 1)[0],
                "quota": settings.quota_url.split(":", 1)[0],
            },
        )
        await stop.wait()
        log.info("draining", extra={"event": "draining", "grace_s": settings.shutdown_grace})
        ready.clear()
        # NOT_SERVING everywhere, and Watch streams end (they would hold the
        # drain to its full grace); in-flight calls get the grace period.
        await health_servicer.drain()
        await server.stop(settings.shutdown_grace)
        if health_server is not None:
            await health_server.stop(0)
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await asyncio.gather(*workers)
    log.info("stopped", extra={"event": "stopped"})
    return 0


async def _start_simulator(settings: Settings, stack: contextlib.AsyncExitStack) -> Settings:
    """Embed the Graph API simulator (``make run``) and point the sidecar at it."""
    from sidecar.simulator import SimulatorSettings, start_simulator

    secrets = settings.app_secrets
    token = settings.access_token.reveal() or "dev-token"
    handle = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({token}),
            app_secret=secrets[0] if secrets else None,
        )
    )
    stack.push_async_callback(handle.close)
    log.info("graph simulator started", extra={"event": "simulator", "url": handle.url})
    return dataclasses.replace(settings, graph_base_url=handle.url)
