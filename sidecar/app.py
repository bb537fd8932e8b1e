"""The composition root: settings → telemetry → secrets → keys → stores → Graph client →
services → servicers → servers; signals and graceful drain.

Everything concrete is chosen here (store URL schemes only in ``stores/factory.py``, secret
sources only in ``secrets/factory.py``); every other module receives its dependencies.

    exit_code = asyncio.run(serve(load_settings()))
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from sidecar import __version__, parts
from sidecar.api.access import AccessControl, CallerAccess
from sidecar.api.admin import Ingress, admin_server
from sidecar.api.consent import ConsentServicer
from sidecar.api.interceptors import ServerTelemetry
from sidecar.api.send import SendServicer
from sidecar.api.server import GrpcServers, Servicers
from sidecar.api.transport import listener_tls
from sidecar.api.verify import VerifyServicer
from sidecar.config import Settings
from sidecar.crypto.blind_index import BlindIndexer
from sidecar.crypto.fields import FieldCipher
from sidecar.crypto.subjects import SubjectKeys
from sidecar.devkey import load_keyring
from sidecar.policy.access import Principal, Role
from sidecar.runtime import Runtime
from sidecar.secrets.factory import in_force, secret_sources
from sidecar.secrets.keeper import SecretKeeper
from sidecar.service.campaign import Campaign
from sidecar.service.consent import ConsentManager
from sidecar.service.custody import Custody, rekeyer
from sidecar.service.events import EventHub
from sidecar.service.leases import OwnerLease
from sidecar.service.maintenance import Retention
from sidecar.service.operations import Operations
from sidecar.service.outbox import Dispatcher, Outbox
from sidecar.service.pacing import QuotaGate
from sidecar.service.resend import Resender
from sidecar.service.review import Review
from sidecar.service.send import SendDeps, Sender
from sidecar.service.subjects import SubjectDirectory
from sidecar.service_settings import (
    campaign_settings,
    send_settings,
)
from sidecar.stores.factory import open_stores
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.probes import watch_stores
from sidecar.telemetry.setup import Tracing, setup_tracing
from sidecar.whatsapp.client import session_timeout

log = logging.getLogger(__name__)

_FINGERPRINT_LABEL = b"wa-sidecar/v1/idempotency-fingerprint"


async def build_runtime(settings: Settings) -> Runtime:
    """Wire secrets, stores, crypto, Graph client and services from settings."""
    metrics = Metrics()
    # Secrets first: in prod an unreachable Vault stops the start, naming it.
    secrets = SecretKeeper(
        secret_sources(settings), metrics, interval=settings.secret_reload_interval
    )
    try:
        settings = in_force(settings, await secrets.start(strict=settings.env == "prod"))
        keyring = load_keyring(settings)
        # Read before anything opens: a bad auth file stops the start-up.
        access = AccessControl.load(settings.auth_file, metrics) if settings.auth_file else None
        stores = await open_stores(
            settings.state_url, settings.quota_url, quota_prefix=settings.quota_key_prefix
        )
    except BaseException:
        # Until the Runtime exists, the secret sources (Vault's session) are ours to close.
        await secrets.close()
        raise
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.graph_pool_size, ttl_dns_cache=300),
        timeout=session_timeout(settings.graph_timeout),
        skip_auto_headers=("User-Agent",),
    )
    tokens, graph = parts.graph_client(settings, session)
    state = stores.state
    subject_keys, cipher = SubjectKeys(keyring), FieldCipher(keyring)
    directory = SubjectDirectory(
        state, BlindIndexer(keyring, bits=settings.blind_index_bits), subject_keys
    )
    consent = ConsentManager(state, directory, metrics)
    sending = send_settings(settings)
    # Fail mode open: while the quota store is down, this process's own buckets.
    quota = QuotaGate(stores.quota, metrics, sending, fallback=MemoryQuotaStore())
    metrics.watch_send_rates(quota.current_rates)
    capacity = parts.capacity_tracker(settings, quota, graph, stores.quota, metrics)
    webhooks = parts.webhook_handler(
        settings, stores, keyring, directory, consent, metrics, on_capacity_change=capacity.poke
    )
    custody = Custody(
        tokens,
        webhooks,
        rekeyer(keyring, cipher, subject_keys),
        values=secrets.values,
        overlap=settings.app_secret_overlap,
    )
    secrets.listen(custody.adopt)
    sender = Sender(
        SendDeps(
            state=state,
            quota=quota,
            directory=directory,
            graph=graph,
            tokens=tokens,
            cipher=cipher,
            metrics=metrics,
            fingerprint_key=keyring.index_subkey(_FINGERPRINT_LABEL),
            validator=parts.number_validator(settings, session),
        ),
        sending,
        on_opt_out=webhooks.opt_out_from_graph,
    )
    pacing = campaign_settings(settings)
    outbox = Outbox(sender, state, directory, cipher)
    # Four-eyes operations need principals: without caller auth there are none.
    operations = (
        Operations(state, consent, cipher, ttl=settings.approval_ttl)
        if access is not None
        else None
    )
    events = EventHub()
    servicers = Servicers(
        send=SendServicer(
            sender,
            Campaign(sender, pacing),
            outbox,
            Review(sender, state, cipher),
            settings.phone_number_id,
        ),
        verify=VerifyServicer(
            webhooks, custody.verify_token, events if settings.webhook_ingress else None
        ),
        consent=ConsentServicer(consent, operations),
    )
    return Runtime(
        settings=settings,
        stores=stores,
        session=session,
        metrics=metrics,
        tokens=tokens,
        sender=sender,
        capacity=capacity,
        insights=parts.insights_puller(settings, graph, stores.quota, metrics),
        webhooks=webhooks,
        consent=consent,
        events=events,
        servicers=servicers,
        outbox=outbox,
        dispatcher=Dispatcher(outbox, pacing) if settings.outbox_dispatch else None,
        retention=Retention(
            state,
            state,
            stores.dedup,
            retention_days=settings.retention_days,
            interval=settings.retention_interval,
            engagement=state,
        ),
        secrets=secrets,
        custody=custody,
        access=access,
        resender=(
            Resender(sender, state, cipher, after=settings.ambiguous_resend_after)
            if settings.ambiguous_resend_after > 0
            else None
        ),
        lease=OwnerLease(
            state,
            sender.owner,
            ttl=settings.owner_lease_ttl,
            interval=settings.owner_heartbeat_interval,
        ),
    )


def _start_workers(
    runtime: Runtime, stop: asyncio.Event, servers: GrpcServers, probed: asyncio.Event
) -> list[asyncio.Task[None]]:
    """Background work beside the RPCs: retention, capacity reads, store probes (gauge and
    the ``wasidecar.store.*`` health components), and outbox dispatch unless
    another replica does it. Each ends on its own once ``stop`` is set."""
    workers = [
        asyncio.create_task(runtime.retention.run(stop)),
        asyncio.create_task(runtime.capacity.run(stop)),
    ]
    runtime.secrets.on_health(servers.set_secrets)
    workers.append(asyncio.create_task(runtime.secrets.run(stop)))
    workers.append(asyncio.create_task(runtime.custody.run(stop)))
    if runtime.access is not None:
        workers.append(asyncio.create_task(runtime.access.watch(stop)))
    pings = {"state": runtime.stores.state.ping, "quota": runtime.stores.quota.ping}
    workers.append(
        asyncio.create_task(
            watch_stores(pings, runtime.metrics, stop, on_change=servers.set_store, looked=probed)
        )
    )
    if runtime.insights is not None:
        workers.append(asyncio.create_task(runtime.insights.run(stop)))
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


def _interceptors(runtime: Runtime, tracing: Tracing) -> list[Any]:
    """Telemetry outermost (refused calls are traced, measured and logged
    too): a span and a duration per RPC; then caller access when an auth
    file is configured."""
    host, _, port = runtime.settings.grpc_addr.rpartition(":")
    interceptors: list[Any] = [
        ServerTelemetry(
            runtime.metrics,
            tracing=tracing.enabled,
            server_address=host.strip("[]"),
            server_port=int(port) if port.isdigit() else 0,
            request_log_sample=runtime.settings.request_log_sample,
        )
    ]
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
            settings = await parts.start_simulator(settings, stack)
        # Entered first, so it exits last: spans of the drain are exported too.
        tracing = await stack.enter_async_context(_tracing(settings))
        runtime = await build_runtime(settings)
        stack.push_async_callback(runtime.close)
        ready = asyncio.Event()
        tls, https = listener_tls(settings, runtime.metrics)
        servers = GrpcServers(
            runtime.servicers,
            _interceptors(runtime, tracing),
            grpc_addr=settings.grpc_addr,
            health_addr=settings.health_addr,
            max_body=settings.webhook_max_body,
            credentials=tls.credentials() if tls is not None else None,
        )
        await servers.set_serving(False)
        ingress = Ingress(runtime.webhooks, runtime.events, runtime.custody.verify_token)
        await stack.enter_async_context(
            admin_server(
                settings.admin_addr,
                runtime.metrics,
                ready,
                max_body=settings.webhook_max_body,
                ingress=ingress if settings.webhook_ingress else None,
                ssl_context=https.context if https is not None else None,
            )
        )
        await stack.enter_async_context(runtime.lease.held(runtime.sender.settle))
        await servers.start()
        refresher = asyncio.create_task(runtime.tokens.run(stop))
        probed = asyncio.Event()  # the stores' first probe (at most its 1 s timeout)
        workers = _start_workers(runtime, stop, servers, probed)
        if https is not None:
            workers.append(asyncio.create_task(https.watch(stop)))
        await probed.wait()
        await servers.set_serving(True)
        await servers.set_secrets(runtime.secrets.healthy)
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
                "grpc_port": servers.port,
                "env": settings.env,
                "state": settings.state_url.split(":", 1)[0],
                "quota": settings.quota_url.split(":", 1)[0],
            },
        )
        await stop.wait()
        log.info("draining", extra={"event": "draining", "grace_s": settings.shutdown_grace})
        ready.clear()
        await servers.drain(settings.shutdown_grace)
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await asyncio.gather(*workers)
    log.info("stopped", extra={"event": "stopped"})
    return 0
