"""Quota pacing for sends: messaging tier, pair limit, token bucket (SPEC §4.7).

``QuotaGate`` asks the (possibly shared) ``QuotaStore`` with the adaptive
per-number rate, applies the quota fail mode (closed: refuse; open: a local
fallback bucket at a fraction of the rate), and shadow mode (count refusals,
enforce nothing). Waiters of one bucket queue behind a local lock so a
process polls the store once per token, not once per waiter.

    gate = QuotaGate(quota_store, metrics, send_settings)
    decision = await gate.decide(cmd, indexes, consume=True, max_wait=2.0)
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from sidecar.errors import StoreUnavailable
from sidecar.policy.retry import AdaptiveRate
from sidecar.policy.types import ALLOW, Decision, Reason
from sidecar.service.models import SendCommand
from sidecar.service.subjects import Indexes
from sidecar.stores.base import QuotaStore
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import child_span, tracer

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)
T = TypeVar("T")


class PacingSettings(Protocol):
    """The knobs ``QuotaGate`` reads; ``service.send.SendSettings`` has them all."""

    @property
    def rate(self) -> float: ...
    @property
    def burst(self) -> float: ...
    @property
    def max_wait(self) -> float: ...
    @property
    def pair_rate(self) -> float: ...
    @property
    def pair_burst(self) -> float: ...
    @property
    def messaging_limit(self) -> int: ...
    @property
    def quota_fail_open(self) -> bool: ...
    @property
    def fail_open_fraction(self) -> float: ...
    @property
    def quota_shadow(self) -> bool: ...


class QuotaGate:
    """The quota decisions of one process (state: adaptive rates, fallback)."""

    def __init__(
        self,
        store: QuotaStore,
        metrics: Metrics,
        settings: PacingSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._s = settings
        self._clock = clock
        self._sleep = sleep
        self._bucket_queues: dict[str, asyncio.Lock] = {}
        self._rates: dict[str, AdaptiveRate] = {}
        self._fallback = MemoryQuotaStore()  # fail mode open: used while the store is down
        self._quota_down = False
        self._shadow_logged = -math.inf  # when shadow mode last logged a refusal

    def rate_for(self, phone_number_id: str) -> AdaptiveRate:
        rate = self._rates.get(phone_number_id)
        if rate is None:
            rate = self._rates[phone_number_id] = AdaptiveRate(
                configured=self._s.rate, floor=min(self._s.rate, max(self._s.rate / 80.0, 0.1))
            )
        return rate

    def current_rates(self) -> dict[str, float]:
        """The adaptive send rate of every number seen so far (for /metrics)."""
        now = self._clock()
        return {pnid: rate.current(now) for pnid, rate in self._rates.items()}

    async def decide(
        self, cmd: SendCommand, idx: Indexes, *, consume: bool, max_wait: float | None
    ) -> Decision:
        try:
            with child_span(_TRACER, "quota.acquire" if consume else "quota.peek") as span:
                decision = await self._decision(cmd, idx, consume=consume, max_wait=max_wait)
                span.set_attribute("sidecar.decision.reason", decision.reason.value)
                return decision
        except StoreUnavailable:  # fail mode closed (open falls back inside)
            return _QUOTA_DOWN

    async def _decision(
        self, cmd: SendCommand, idx: Indexes, *, consume: bool, max_wait: float | None
    ) -> Decision:
        if consume and self._s.messaging_limit and not cmd.free_form:
            # Messaging tier: unique users reached by templates in a rolling 24 h.
            # Check does not evaluate it: recording a recipient is the side effect.
            tier, member, cap = (
                f"tier:{cmd.phone_number_id}",
                idx.full[:32],
                self._s.messaging_limit,
            )
            within = await self._guarded(
                self._store.add_unique(tier, member, 86400.0, cap),
                lambda f: self._fallback.add_unique(tier, member, 86400.0, max(1, int(cap * f))),
            )
            if not within:
                refused = self._refuse(
                    "messaging_tier",
                    Decision(
                        False,
                        Reason.MESSAGING_LIMIT_REACHED,
                        "unique-recipient limit of the messaging tier reached for 24 h",
                        3600.0,
                    ),
                    consume,
                )
                if refused is not None:
                    return refused
        pair_key = f"pair:{cmd.phone_number_id}:{idx.full[:32]}"
        wait = await self._bucket(pair_key, self._s.pair_rate, self._s.pair_burst, consume=consume)
        if wait > 0:
            refused = self._refuse(
                "pair_limit",
                Decision(
                    False, Reason.PAIR_RATE_LIMITED, "too many messages to this recipient", wait
                ),
                consume,
            )
            if refused is not None:
                return refused
        rate = self.rate_for(cmd.phone_number_id).current(self._clock())
        limit = self._s.max_wait if max_wait is None else max_wait
        if not consume:
            wait = await self._bucket(
                f"rate:{cmd.phone_number_id}", rate, self._s.burst, consume=False
            )
            if wait > limit:
                refused = self._refuse("send_rate", _rate_refusal(wait), consume)
                return ALLOW if refused is None else refused
            return ALLOW
        waited = await self.take_send_token(cmd.phone_number_id, limit)
        if waited < 0:
            refused = self._refuse("send_rate", _rate_refusal(-waited), consume)
            return ALLOW if refused is None else refused
        return ALLOW

    def _refuse(self, rule: str, decision: Decision, consume: bool) -> Decision | None:
        """``decision``, a quota rule's refusal; or None in shadow mode, where
        the send goes ahead and — for a real send, not a Check — the refusal
        is counted per rule and logged at most once a second."""
        if not self._s.quota_shadow:
            return decision
        if consume:
            self._metrics.quota_shadow_refusals.labels(rule).inc()
            now = self._clock()
            if now - self._shadow_logged >= 1.0:
                self._shadow_logged = now
                log.info(
                    "quota rule would have refused a send (shadow mode: sent anyway)",
                    extra={"event": "quota_shadow_refusal", "rule": rule},
                )
        return None

    async def take_send_token(self, phone_number_id: str, max_wait: float) -> float:
        """Wait for a token of the number's bucket; returns seconds waited, or
        minus the wait that would have been needed when it exceeds ``max_wait``.
        Raises ``StoreUnavailable`` when the quota store is down and the fail
        mode is closed.

        Waiters of one bucket queue behind a local lock, so a process polls the
        (possibly shared) store once per token instead of once per waiter.
        """
        key = f"rate:{phone_number_id}"
        wait = await self._bucket(
            key, self._current_rate(phone_number_id), self._s.burst, consume=True
        )
        if wait <= 0:
            return 0.0
        if wait > max_wait:
            return -wait
        started = self._clock()
        lock = self._bucket_queues.get(key)
        if lock is None:
            lock = self._bucket_queues[key] = asyncio.Lock()
        try:
            await asyncio.wait_for(lock.acquire(), None if math.isinf(max_wait) else max_wait)
        except TimeoutError:
            return -wait
        try:
            while True:
                rate = self._current_rate(phone_number_id)
                wait = await self._bucket(key, rate, self._s.burst, consume=True)
                waited = self._clock() - started
                if wait <= 0:
                    self._metrics.quota_wait.observe(waited)
                    return max(waited, 1e-9)
                if waited + wait > max_wait:
                    return -wait
                await self._sleep(wait)
        finally:
            lock.release()

    def _current_rate(self, phone_number_id: str) -> float:
        return self.rate_for(phone_number_id).current(self._clock())

    def _bucket(self, key: str, rate: float, burst: float, *, consume: bool) -> Awaitable[float]:
        """GCRA on the shared quota store (``acquire`` or ``peek``), with the fail mode."""
        shared = self._store.acquire if consume else self._store.peek
        local = self._fallback.acquire if consume else self._fallback.peek
        return self._guarded(
            shared(key, rate, burst), lambda f: local(key, rate * f, max(burst * f, 1.0))
        )

    async def _guarded(self, shared: Awaitable[T], fallback: Callable[[float], Awaitable[T]]) -> T:
        """Await a quota-store call. If the store is down: fail mode open asks
        this process's fallback bucket, scaled by ``fail_open_fraction`` (the
        replica count is unknown), and counts it; closed re-raises."""
        try:
            result = await shared
        except StoreUnavailable:
            if not self._s.quota_fail_open:
                raise
            if not self._quota_down:
                self._quota_down = True
                log.warning(
                    "quota store unavailable; pacing on a local fallback bucket",
                    extra={"event": "quota_fallback", "fraction": self._s.fail_open_fraction},
                )
            self._metrics.quota_fallbacks.inc()
            return await fallback(self._s.fail_open_fraction)
        if self._quota_down:
            self._quota_down = False
            log.warning("quota store reachable again", extra={"event": "quota_recovered"})
        return result


_QUOTA_DOWN = Decision(
    False, Reason.STORE_UNAVAILABLE, "quota store unavailable; failing closed", 1.0
)


def _rate_refusal(wait: float) -> Decision:
    return Decision(False, Reason.QUOTA_EXHAUSTED, "send rate reached", wait)
