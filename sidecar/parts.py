"""The parts ``app.py`` builds from settings, one builder each: the Graph client
and its token custody, the webhook handler with its inbound rules, the
capacity tracker, the optional pull of Meta's analytics and number validator,
and the embedded Graph API simulator.

They hold no state of their own; ``app.py`` (the composition root) calls them
in its wiring order and keeps what they return.

    tokens, graph = graph_client(settings, session)
    webhooks = webhook_handler(settings, stores, keyring, directory, consent, metrics)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable

import aiohttp

from sidecar.config import Settings
from sidecar.crypto.keys import Keyring
from sidecar.policy.signature import SignatureVerifier
from sidecar.policy.source import SourcePolicy
from sidecar.service.account import AccountEvents
from sidecar.service.capacity import CapacityTracker
from sidecar.service.consent import ConsentManager
from sidecar.service.insights import InsightsPuller
from sidecar.service.pacing import QuotaGate
from sidecar.service.subjects import SubjectDirectory
from sidecar.service.validator import NumberValidator
from sidecar.service.webhooks import RateLimiter, WebhookDeps, WebhookHandler
from sidecar.service_settings import (
    capacity_settings,
    inbound_rules,
    insights_settings,
    webhook_rate_limit,
    webhook_settings,
)
from sidecar.stores.base import QuotaStore
from sidecar.stores.factory import Stores
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.whatsapp.account import NumberCapacity, read_capacity
from sidecar.whatsapp.client import GraphClient
from sidecar.whatsapp.insights import GraphInsights
from sidecar.whatsapp.tokens import TokenManager

log = logging.getLogger(__name__)

EVENT_KEY_LABEL = b"wa-sidecar/v1/webhook-event-keys"


def graph_client(
    settings: Settings, session: aiohttp.ClientSession
) -> tuple[TokenManager, GraphClient]:
    """Token custody and the Graph client over ``session``, bound to each other."""
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
    return tokens, graph


def webhook_handler(
    settings: Settings,
    stores: Stores,
    keyring: Keyring,
    directory: SubjectDirectory,
    consent: ConsentManager,
    metrics: Metrics,
    *,
    on_capacity_change: Callable[[], None] | None = None,
) -> WebhookHandler:
    """VerifyWebhook's handler: signature, source, limit, inbound rules, account events."""
    window = webhook_rate_limit(settings)
    return WebhookHandler(
        WebhookDeps(
            state=stores.state,
            dedup=stores.dedup,
            directory=directory,
            consent=consent,
            verifier=SignatureVerifier(settings.app_secrets),
            source=SourcePolicy(settings.webhook_allow_cidrs, settings.webhook_trusted_proxies),
            rules=inbound_rules(settings),
            metrics=metrics,
            event_key_secret=keyring.index_subkey(EVENT_KEY_LABEL),
            # Kept in the quota store: shared by the replicas when it is.
            limiter=RateLimiter(stores.quota, *window) if window else None,
            account=AccountEvents(
                metrics, templates=stores.state, on_capacity_change=on_capacity_change
            ),
        ),
        webhook_settings(settings),
    )


def capacity_tracker(
    settings: Settings,
    gate: QuotaGate,
    graph: GraphClient,
    quota_store: QuotaStore,
    metrics: Metrics,
) -> CapacityTracker:
    """The send rate and tier cap following what Graph says of each number."""

    async def read(phone_number_id: str) -> NumberCapacity:
        return await read_capacity(graph, phone_number_id)

    return CapacityTracker(gate, read, quota_store, metrics, capacity_settings(settings))


def insights_puller(
    settings: Settings, graph: GraphClient, quota_store: QuotaStore, metrics: Metrics
) -> InsightsPuller | None:
    """Meta's analytics into metrics, when a WABA id is configured."""
    pulling = insights_settings(settings)
    if pulling is None:
        return None
    return InsightsPuller(GraphInsights(graph), quota_store, metrics, pulling)


def number_validator(settings: Settings, session: aiohttp.ClientSession) -> NumberValidator | None:
    """The optional external number validator (None when no URL is configured)."""
    if not settings.number_validator_url:
        return None
    return NumberValidator(
        session,
        settings.number_validator_url,
        MemoryQuotaStore(),  # its qps is this process's
        qps=settings.number_validator_qps,
        cache_ttl=settings.number_validator_cache_ttl,
        timeout=settings.number_validator_timeout,
    )


async def start_simulator(settings: Settings, stack: contextlib.AsyncExitStack) -> Settings:
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
