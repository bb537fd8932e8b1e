"""Campaign sending for ``SendBatch``: chunked, paced, bounded in flight.

Requests are read from the client stream only while fewer than
``max_in_flight`` sends are in progress (back-pressure reaches the client
through gRPC flow control). Every ``chunk_size`` requests, the next chunk
starts no earlier than ``chunk_interval`` after the previous one started, so
a stream is capped at ``chunk_size / chunk_interval`` msg/s; within that, the
per-number token bucket paces. Results come back in completion order, one per
request. Closing the generator (client cancel) stops dispatch and cancels
the sends that have not reached Graph yet.

    campaign = Campaign(sender, CampaignSettings(500, 1.0, 256))
    async for result in campaign.run(commands):
        ...
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sidecar.errors import IdempotencyConflict, InvalidRequest, StoreUnavailable
from sidecar.policy.access import Principal
from sidecar.policy.types import Decision, Reason
from sidecar.service.models import SendCommand, SendResult, rejected
from sidecar.service.send import Sender

BatchItem = SendCommand | tuple[str, InvalidRequest]
"""A valid command, or the key and validation error of an invalid request."""


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    chunk_size: int
    chunk_interval: float
    max_in_flight: int


class Campaign:
    """Runs one SendBatch stream."""

    def __init__(
        self,
        sender: Sender,
        settings: CampaignSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sender = sender
        self._s = settings
        self._clock = clock

    async def _one(self, item: BatchItem, principal: Principal | None) -> SendResult:
        if isinstance(item, tuple):
            key, error = item
            reason = Reason.INVALID_NUMBER if error.field == "to" else Reason.INVALID_REQUEST
            return rejected(key, Decision(False, reason, str(error)))
        try:
            return await self._sender.send(item, max_wait=math.inf, principal=principal)
        except IdempotencyConflict as exc:
            return rejected(item.key, Decision(False, Reason.INVALID_REQUEST, str(exc)))
        except StoreUnavailable as exc:
            return rejected(item.key, Decision(False, Reason.STORE_UNAVAILABLE, str(exc), 1.0))

    async def run(
        self, items: AsyncIterator[BatchItem], principal: Principal | None = None
    ) -> AsyncIterator[SendResult]:
        """One result per item, in completion order; ``principal`` (the
        authenticated caller) sends only its categories."""
        results: asyncio.Queue[SendResult | None] = asyncio.Queue()
        slots = asyncio.Semaphore(self._s.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()

        async def send_one(item: BatchItem) -> None:
            try:
                results.put_nowait(await self._one(item, principal))
            finally:
                slots.release()

        async def feed() -> None:
            count = 0
            chunk_started = self._clock()
            try:
                async for item in items:
                    if count and count % self._s.chunk_size == 0:
                        delay = chunk_started + self._s.chunk_interval - self._clock()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        chunk_started = self._clock()
                    await slots.acquire()
                    task = asyncio.create_task(send_one(item))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    count += 1
                for _ in range(self._s.max_in_flight):
                    await slots.acquire()  # wait for every send to finish
            finally:
                results.put_nowait(None)

        feeder = asyncio.create_task(feed())
        try:
            while True:
                result = await results.get()
                if result is None:
                    break
                yield result
            await feeder  # re-raise a failure of the request stream
        finally:
            feeder.cancel()
            for task in list(tasks):
                task.cancel()
