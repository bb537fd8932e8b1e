"""Capacity that follows the account: the send rate and the messaging-tier cap
set from what Graph says of each business number, unless the operator pinned
them (FACTS §5, ``policy/capacity.py`` for the mapping).

At start, every ``interval`` seconds and at once when an account webhook says
something changed (``poke``: THROUGHPUT_UPGRADE, a new messaging limit), the
tracker reads each known number's throughput level, quality rating and the
portfolio's messaging limit, and hands them to ``QuotaGate``. Replicas share
what one of them read through the quota store (``QuotaStore.share``): a
replica whose turn comes takes a reading younger than ``interval`` from there
instead of asking Graph again, so Graph sees about one read per interval per
number whatever the replica count; a poke always asks Graph. Every change is
logged, counted in ``wa_sidecar_capacity_changes_total{what,direction}``,
shown by the gauges, and recorded as a ``capacity.changed`` span event. A
failed read keeps what is in force.

    tracker = CapacityTracker(gate, reader, quota_store, metrics, capacity_settings)
    task = asyncio.create_task(tracker.run(stop))
    tracker.poke()          # an account webhook: read again now
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from opentelemetry.trace import Span

from sidecar.errors import StoreUnavailable
from sidecar.policy.capacity import QUALITY_RANKS, account_capacity, direction
from sidecar.service.pacing import QuotaGate
from sidecar.stores.base import QuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import tracer
from sidecar.whatsapp.account import NumberCapacity
from sidecar.whatsapp.errors import GraphError

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)

Reader = Callable[[str], Awaitable[NumberCapacity]]
"""Reads one number's capacity from Graph (``whatsapp.account.read_capacity``)."""


@dataclass(frozen=True, slots=True)
class CapacitySettings:
    interval: float  # seconds between reads; 0: never read
    rate_pinned: bool  # WA_SIDECAR_SEND_RATE was given: the account does not move it
    limit_pinned: bool  # WA_SIDECAR_MESSAGING_LIMIT was given
    phone_number_id: str = ""  # the default number: known before its first send


@dataclass(slots=True)
class _InForce:
    rate: float | None = None
    quality: str = ""


class CapacityTracker:
    """Reads the account's capacity and applies it to the gate (see module doc)."""

    def __init__(
        self,
        gate: QuotaGate,
        reader: Reader,
        store: QuotaStore,
        metrics: Metrics,
        settings: CapacitySettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._gate = gate
        self._read = reader
        self._store = store
        self._metrics = metrics
        self._s = settings
        self._clock = clock
        self._numbers: dict[str, _InForce] = {}
        self._limit: int | None = None
        self._poked = asyncio.Event()

    def poke(self) -> None:
        """Read Graph again at once (an account webhook said something changed)."""
        self._poked.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh at start, then every ``interval`` or at a poke, until ``stop``
        (which also cuts a refresh short: a slow Graph never holds the drain)."""
        if self._s.interval <= 0:
            return
        force = False
        while not stop.is_set():
            if not await _unless_stopped(self.refresh(force=force), stop):
                return
            await _unless_stopped(self._poked.wait(), stop, within=self._s.interval)
            force = self._poked.is_set()
            self._poked.clear()

    def numbers(self) -> list[str]:
        """The default number and every number the gate has paced."""
        known = [self._s.phone_number_id] if self._s.phone_number_id else []
        return list(dict.fromkeys([*known, *self._gate.numbers()]))

    async def refresh(self, *, force: bool = False) -> None:
        """One round over the known numbers; ``force`` skips shared readings."""
        with _TRACER.start_as_current_span("capacity.refresh") as span:
            for pnid in self.numbers():
                reading = await self._reading(pnid, force)
                if reading is not None:
                    self._apply(pnid, reading, span)

    async def _reading(self, pnid: str, force: bool) -> NumberCapacity | None:
        """A shared reading younger than ``interval``, else Graph's (then shared)."""
        key = f"capacity:{pnid}"
        now = self._clock()
        if not force:
            with contextlib.suppress(StoreUnavailable, ValueError, TypeError, KeyError):
                raw = await self._store.shared(key)
                if raw is not None:
                    doc = json.loads(raw)
                    if now - float(doc["read_at"]) < self._s.interval:
                        self._metrics.capacity_read("shared")
                        return NumberCapacity(**doc["capacity"])
        try:
            reading = await self._read(pnid)
        except GraphError as err:
            self._metrics.capacity_read("failed")
            log.warning(
                "capacity not read from Graph; keeping what is in force",
                extra={"event": "capacity_read_failed", "code": err.code, "phone_number_id": pnid},
            )
            return None
        self._metrics.capacity_read("graph")
        note = json.dumps({"read_at": now, "capacity": asdict(reading)})
        with contextlib.suppress(StoreUnavailable):
            await self._store.share(key, note, max(3 * self._s.interval, 60.0))
        return reading

    def _apply(self, pnid: str, reading: NumberCapacity, span: Span) -> None:
        capacity = account_capacity(
            reading.throughput,
            reading.messaging_limit,
            reading.quality,
            on_business_app=reading.on_business_app,
        )
        held = self._numbers.setdefault(pnid, _InForce())
        if capacity.rate is not None and not self._s.rate_pinned and capacity.rate != held.rate:
            self._gate.set_rate(pnid, capacity.rate)
            self._changed(span, pnid, "throughput", held.rate, capacity.rate)
            held.rate = capacity.rate
        if capacity.quality != held.quality:
            self._gate.set_quality(pnid, capacity.red)
            before = QUALITY_RANKS.get(held.quality, 0) if held.quality else None
            self._changed(span, pnid, "quality", before, QUALITY_RANKS.get(capacity.quality, 0))
            held.quality = capacity.quality
        self._metrics.capacity(pnid, capacity.rate, held.quality)
        limit = capacity.messaging_limit
        if limit is not None and not self._s.limit_pinned and limit != self._limit:
            self._gate.set_messaging_limit(limit)
            self._metrics.messaging_limit(limit)
            self._changed(span, pnid, "messaging_limit", self._limit, limit)
            self._limit = limit

    def _changed(self, span: Span, pnid: str, what: str, old: float | None, new: float) -> None:
        """Log (and, after the first reading, count) a change of what is in force."""
        if old is None:  # the first reading: what the account allows, not a change
            log.info(
                "capacity read: %s",
                what,
                extra={"event": "capacity_read", "phone_number_id": pnid, "what": what, "new": new},
            )
            return
        way = direction(old, new, unlimited_is_zero=what == "messaging_limit")
        self._metrics.capacity_change(what, way)
        fields: dict[str, str | float] = {"what": what, "old": old, "new": new, "direction": way}
        log.log(
            logging.WARNING if way == "down" else logging.INFO,
            "capacity changed: %s %s",
            what,
            way,
            extra={"event": "capacity_changed", "phone_number_id": pnid, **fields},
        )
        span.add_event("capacity.changed", {"sidecar.phone_number_id": pnid, **fields})


async def _unless_stopped(
    work: Awaitable[object], stop: asyncio.Event, within: float | None = None
) -> bool:
    """Await ``work`` until it ends, ``stop`` is set or ``within`` seconds pass (then it
    is cancelled); True unless ``stop`` ended it."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, timeout=within, return_when="FIRST_COMPLETED")
    finally:
        for waiter in (task, stopping):
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
    return not stop.is_set()
