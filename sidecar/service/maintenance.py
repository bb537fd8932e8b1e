"""Retention: a background task that forgets what the sidecar may no longer keep.

Every ``interval`` seconds (and once at start) it deletes finished message
records older than ``retention_days`` (queued and in-doubt sends stay: they
are work or evidence), sessions and template events older than that too,
webhook dedup keys past their TTL, and four-eyes
operations past their approval window (a pending one's encrypted number is
of no use once it can no longer be approved; an approved one that never
completed stays as evidence of the crash). A store outage
costs one round, never the process.

    retention = Retention(
        stores.state, stores.state, stores.dedup, retention_days=30, interval=3600
    )
    task = asyncio.create_task(retention.run(stop))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sidecar.errors import StoreUnavailable
from sidecar.stores.base import DedupStore, EngagementStore, OperationStore, SendStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    sends: int
    dedup_keys: int
    operations: int = 0
    engagement: int = 0


class Retention:
    """Runs the retention purge now (``purge``) or periodically (``run``)."""

    def __init__(
        self,
        sends: SendStore,
        operations: OperationStore,
        dedup: DedupStore,
        *,
        retention_days: float,
        interval: float,
        engagement: EngagementStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sends = sends
        self._engagement = engagement
        self._operations = operations
        self._dedup = dedup
        self._keep = retention_days * 86400.0
        self._interval = interval
        self._clock = clock

    async def purge(self) -> Purged:
        """One round; raises ``StoreUnavailable`` when a store is down."""
        now = self._clock()
        sends = await self._sends.purge_sends(now - self._keep)
        dedup_keys = await self._dedup.purge_expired(now)
        operations = await self._operations.purge_operations(now)
        engagement = 0
        if self._engagement is not None:
            engagement = await self._engagement.purge_engagement(now - self._keep)
        log.info(
            "retention purge done",
            extra={
                "event": "retention_purged",
                "sends": sends,
                "dedup_keys": dedup_keys,
                "operations": operations,
                "engagement": engagement,
            },
        )
        return Purged(sends, dedup_keys, operations, engagement)

    async def run(self, stop: asyncio.Event) -> None:
        """Purge at start and every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.purge()
            except StoreUnavailable as exc:
                log.warning(
                    "retention purge failed; retrying next round: %s",
                    exc,
                    extra={"event": "retention_store_down"},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)
