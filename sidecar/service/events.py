"""Fan-out of verified webhook events to ``VerifyService.StreamEvents`` subscribers.

Used by the optional webhook ingress: the admin server verifies Meta's POST
and, after durable processing, publishes the new events here. The ingress
refuses a delivery (503, so Meta retries) when no subscriber is connected or a
subscriber's buffer is full, so events are never dropped silently.

    hub = EventHub(capacity=10_000)
    async with hub.subscribe() as events:
        async for applied in events:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from sidecar.service.webhooks import Applied
from sidecar.whatsapp.webhooks import (
    AccountAlert,
    CapabilityUpdate,
    InboundMessage,
    PhoneQualityUpdate,
    PreferenceUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
)

__all__ = [
    "AccountAlert",
    "Applied",
    "CapabilityUpdate",
    "EventHub",
    "InboundMessage",
    "PhoneQualityUpdate",
    "PreferenceUpdate",
    "StatusUpdate",
    "TemplateCategoryUpdate",
    "TemplateStatusUpdate",
]
"""What ``Applied.event`` can be, besides an error report: the service reports
the WhatsApp edge's typed events as they are, and ``api/`` reads them from here."""


class EventHub:
    """Bounded per-subscriber queues; ``publish`` never blocks."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._queues: set[asyncio.Queue[Applied]] = set()
        self._subscribed = asyncio.Event()

    async def wait_for_subscriber(self) -> None:
        """Return once at least one subscriber is connected."""
        await self._subscribed.wait()

    def room_for(self, count: int) -> bool:
        """True when at least one subscriber exists and every one can take ``count``."""
        return bool(self._queues) and all(self._capacity - q.qsize() >= count for q in self._queues)

    def publish(self, events: Sequence[Applied]) -> None:
        for queue in self._queues:
            for event in events:
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Applied]]:
        queue: asyncio.Queue[Applied] = asyncio.Queue(self._capacity)
        self._queues.add(queue)
        self._subscribed.set()

        async def drain() -> AsyncIterator[Applied]:
            while True:
                yield await queue.get()

        try:
            yield drain()
        finally:
            self._queues.discard(queue)
            if not self._queues:
                self._subscribed.clear()
