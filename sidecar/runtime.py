"""Runtime: everything one running sidecar holds, as ``app.build_runtime``
wires it, for the servers, the background workers and tests.

    runtime = await build_runtime(settings)
    try:
        ...                                  # serve with runtime.servicers
    finally:
        await runtime.close()                # Graph session, stores, secret sources
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from sidecar.api.access import AccessControl
from sidecar.api.server import Servicers
from sidecar.config import Settings
from sidecar.secrets.keeper import SecretKeeper
from sidecar.service.capacity import CapacityTracker
from sidecar.service.consent import ConsentManager
from sidecar.service.custody import Custody
from sidecar.service.events import EventHub
from sidecar.service.insights import InsightsPuller
from sidecar.service.leases import OwnerLease
from sidecar.service.maintenance import Retention
from sidecar.service.outbox import Dispatcher, Outbox
from sidecar.service.resend import Resender
from sidecar.service.send import Sender
from sidecar.service.webhooks import WebhookHandler
from sidecar.stores.factory import Stores
from sidecar.telemetry.metrics import Metrics
from sidecar.whatsapp.tokens import TokenManager


@dataclass
class Runtime:
    """The parts of one running sidecar; ``close`` releases what they hold open."""

    settings: Settings
    stores: Stores
    session: aiohttp.ClientSession
    metrics: Metrics
    tokens: TokenManager
    sender: Sender
    capacity: CapacityTracker  # the number's throughput and tier, read from Graph
    webhooks: WebhookHandler
    consent: ConsentManager
    events: EventHub
    servicers: Servicers
    outbox: Outbox
    dispatcher: Dispatcher | None  # None: this replica leaves dispatch to others
    retention: Retention
    lease: OwnerLease  # the sender's owner lease (heartbeat)
    secrets: SecretKeeper
    custody: Custody
    access: AccessControl | None = None  # None: no caller auth (WA_SIDECAR_AUTH_FILE unset)
    resender: Resender | None = None  # None: held sends are never resent (the default)
    insights: InsightsPuller | None = None  # None: no WA_SIDECAR_WABA_ID

    async def close(self) -> None:
        await self.session.close()
        await self.stores.close()
        await self.secrets.close()
