"""Quota pacing for sends: messaging tier, pair limit, token bucket (SPEC §4.7).

``QuotaGate`` asks the (possibly shared) ``QuotaStore`` with the adaptive
per-number rate, applies the quota fail mode (closed: refuse; open: a local
fallback bucket at a fraction of the rate), and shadow mode (count refusals,
enforce nothing). The limits of a send are asked together and taken all at
once when it goes, so a refusal consumes nothing; a send admitted that then
does not go (the recipient opted out before its Graph call) gives them back
with ``refund``. Waiters of one bucket queue behind a local lock so a process
polls the store once per token, not once per waiter. What the account allows
(``service/capacity.py``) moves a number's rate (``set_rate``), the tier cap
(``set_messaging_limit``) and, at quality RED, slows marketing (``set_quality``).

    gate = QuotaGate(quota_store, metrics, send_settings, fallback=MemoryQuotaStore())
    decision = await gate.decide(cmd, indexes, consume=True, max_wait=2.0)
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, TypeVar

from sidecar.errors import StoreUnavailable
from sidecar.policy.capacity import red_marketing_rate
from sidecar.policy.retry import AdaptiveRate
from sidecar.policy.types import ALLOW, Category, Decision, Reason
from sidecar.service.models import SendCommand
from sidecar.service.subjects import Indexes
from sidecar.stores.admission import Admission, Bucket, UniqueCap
from sidecar.stores.base import QuotaStore
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
    @property
    def burst_follows_rate(self) -> bool: ...
    @property
    def red_marketing_share(self) -> float: ...


class QuotaGate:
    """The quota decisions of one process (state: adaptive rates, fallback)."""

    def __init__(
        self,
        store: QuotaStore,
        metrics: Metrics,
        settings: PacingSettings,
        *,
        fallback: QuotaStore,
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
        # Fail mode open: this process's own buckets (``fallback``, in memory)
        # while the store is down.
        self._fallback = fallback
        self._quota_down = False
        self._shadow_logged = -math.inf  # when shadow mode last logged a refusal
        # Send key -> the tier mark of an admission that added its recipient
        # (what a refund needs); the oldest are dropped past _MAX_TIER_MARKS.
        self._tier_marks: dict[str, float] = {}
        self._tier_limit: int | None = None  # the account's cap; None: the configured one
        self._red: set[str] = set()  # numbers whose quality rating is RED

    def rate_for(self, phone_number_id: str) -> AdaptiveRate:
        rate = self._rates.get(phone_number_id)
        if rate is None:
            rate = self._rates[phone_number_id] = AdaptiveRate(
                configured=self._s.rate, floor=_floor(self._s.rate)
            )
        return rate

    def numbers(self) -> list[str]:
        """The business numbers this process has paced so far."""
        return list(self._rates)

    def set_rate(self, phone_number_id: str, rate: float) -> float:
        """The account allows ``rate`` msg/s on the number (``AdaptiveRate.reconfigure``)."""
        return self.rate_for(phone_number_id).reconfigure(rate, _floor(rate), self._clock())

    @property
    def messaging_limit(self) -> int:
        """Unique recipients per rolling 24 h (0: no cap): the account's, else configured."""
        return self._s.messaging_limit if self._tier_limit is None else self._tier_limit

    def set_messaging_limit(self, limit: int) -> None:
        self._tier_limit = limit

    def set_quality(self, phone_number_id: str, red: bool) -> None:
        """At quality RED, marketing from the number gets ``red_marketing_share`` of its rate."""
        if red:
            self._red.add(phone_number_id)
        else:
            self._red.discard(phone_number_id)

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
        member = idx.full[:32]
        tier = None
        slow = self._slow(cmd)
        if slow and self._s.red_marketing_share <= 0:
            return _QUALITY_RED
        if consume and self.messaging_limit and not cmd.free_form:
            # Messaging tier: unique users reached by templates in a rolling 24 h.
            # Check does not evaluate it: recording a recipient is the side effect.
            tier = self._tier(member)
        pair = self._pair(member)
        limit = self._s.max_wait if max_wait is None else max_wait
        decision, _, added = await self._admit(
            cmd.phone_number_id, pair, tier, consume=consume, max_wait=limit, shadow=True, slow=slow
        )
        if added is not None:
            if len(self._tier_marks) >= _MAX_TIER_MARKS:
                del self._tier_marks[next(iter(self._tier_marks))]
            self._tier_marks[cmd.key] = added
        return decision

    async def refund(self, cmd: SendCommand, idx: Indexes) -> None:
        """Give back what ``decide`` (and a retry's send token) took for a send
        that then did not go — the recipient opted out before the Graph call:
        the pair token, one send-rate token (and one of the RED-quality
        marketing bucket while the number is RED), and the tier slot when this
        send added the recipient. Skipped in shadow mode (a waived rule was not
        taken) and while the store is down (the fallback granted it); a store
        failure is logged, never raised: the refusal stands either way."""
        added = self._tier_marks.pop(cmd.key, None)
        if self._s.quota_shadow or self._quota_down:
            return
        member, pnid = idx.full[:32], cmd.phone_number_id
        buckets = [self._pair(member)]
        self._rate_buckets(pnid, self._slow(cmd), buckets)
        tier = self._tier(member) if added is not None else None
        try:
            await self._store.refund(pnid, buckets, tier, added)
        except StoreUnavailable:
            log.info(
                "quota not given back: store unavailable", extra={"event": "quota_refund_failed"}
            )

    def _slow(self, cmd: SendCommand) -> bool:
        """A marketing send from a number rated RED (its rate has a smaller bucket too)."""
        return cmd.category is Category.MARKETING and cmd.phone_number_id in self._red

    def _rate_buckets(self, pnid: str, slow: bool, into: list[Bucket]) -> None:
        """Add the number's send-rate bucket and, for a ``slow`` send, the RED one."""
        rate, burst = self._current_rate(pnid), self._burst(pnid)
        into.append(Bucket("rate", rate, burst))
        if slow:
            share = self._s.red_marketing_share
            into.append(
                Bucket("rate:red", red_marketing_rate(rate, share), max(burst * share, 1.0))
            )

    def _pair(self, member: str) -> Bucket:
        return Bucket(f"pair:{member}", self._s.pair_rate, self._s.pair_burst)

    def _tier(self, member: str) -> UniqueCap:
        return UniqueCap("tier", member, 86400.0, self.messaging_limit)

    def _burst(self, pnid: str) -> float:
        """The bucket size: configured, or (not pinned) the number's rate, at least 1."""
        if self._s.burst_follows_rate:
            return max(self.rate_for(pnid).configured, 1.0)
        return self._s.burst

    async def take_send_token(self, phone_number_id: str, max_wait: float) -> float:
        """Wait for a token of the number's bucket; returns seconds waited, or
        minus the wait that would have been needed when it exceeds ``max_wait``.
        Raises ``StoreUnavailable`` when the quota store is down and the fail
        mode is closed."""
        decision, waited, _ = await self._admit(
            phone_number_id, None, None, consume=True, max_wait=max_wait, shadow=False
        )
        return waited if decision.allowed else -decision.retry_after

    async def _admit(
        self,
        pnid: str,
        pair: Bucket | None,
        tier: UniqueCap | None,
        *,
        consume: bool,
        max_wait: float,
        shadow: bool,
        slow: bool = False,
    ) -> tuple[Decision, float, float | None]:
        """Ask the tier, the pair limit and the send rate together, and take
        them all only when the send goes (``consume``): a refusal by any of
        them takes nothing from the others. Only the send rate is waited for,
        up to ``max_wait``; waiters of one number queue behind a local lock, so
        a process polls the (possibly shared) store once per token instead of
        once per waiter. Returns the decision, the seconds waited (minus the
        wait needed, on a refusal) and the tier mark of a grant that added the
        member (``Admission.added``). In shadow mode a refusing rule is counted
        and left out, and the rest is asked again. ``slow``: a marketing send
        on a number rated RED, which also takes a token of its smaller bucket."""
        started = self._clock()
        lock: asyncio.Lock | None = None
        with_rate = True
        try:
            while True:
                buckets = [pair] if pair is not None else []
                if with_rate:
                    self._rate_buckets(pnid, slow, buckets)
                if not buckets and tier is None:
                    return ALLOW, 0.0, None
                answer = await self._ask(pnid, buckets, tier, take=consume)
                if answer.refused is None:
                    if lock is None:
                        return ALLOW, 0.0, answer.added
                    waited = self._clock() - started
                    self._metrics.quota_wait.observe(waited)
                    return ALLOW, max(waited, 1e-9), answer.added
                if tier is not None and answer.refused == tier.key:
                    rule, refusal = "messaging_tier", _TIER_FULL
                elif pair is not None and answer.refused == pair.key:
                    rule, refusal = "pair_limit", _pair_refusal(answer.wait)
                else:
                    waited = self._clock() - started
                    if not consume:
                        if answer.wait <= max_wait:
                            return ALLOW, 0.0, None
                    elif waited + answer.wait <= max_wait:
                        if lock is not None:
                            await self._sleep(answer.wait)
                            continue
                        lock = await self._queue(pnid, max_wait - waited)
                        if lock is not None:
                            continue  # first in line now: ask again
                    rule, refusal = "send_rate", _rate_refusal(answer.wait)
                if not (shadow and self._s.quota_shadow):
                    return refusal, -refusal.retry_after, None
                self._count_shadow(rule, consume)
                if rule == "messaging_tier":
                    tier = None
                elif rule == "pair_limit":
                    pair = None
                else:
                    with_rate = False
        finally:
            if lock is not None:
                lock.release()

    async def _queue(self, pnid: str, within: float) -> asyncio.Lock | None:
        """This process's queue for the number's tokens, once it is our turn;
        None when the turn does not come ``within`` that many seconds."""
        lock = self._bucket_queues.get(pnid)
        if lock is None:
            lock = self._bucket_queues[pnid] = asyncio.Lock()
        try:
            await asyncio.wait_for(lock.acquire(), None if math.isinf(within) else within)
        except TimeoutError:
            return None
        return lock

    def _count_shadow(self, rule: str, consume: bool) -> None:
        """Shadow mode waives a refusal; for a real send, not a Check, it is
        counted per rule and logged at most once a second."""
        if not consume:
            return
        self._metrics.quota_shadow_refusals.labels(rule).inc()
        now = self._clock()
        if now - self._shadow_logged >= 1.0:
            self._shadow_logged = now
            log.info(
                "quota rule would have refused a send (shadow mode: sent anyway)",
                extra={"event": "quota_shadow_refusal", "rule": rule},
            )

    def _current_rate(self, phone_number_id: str) -> float:
        return self.rate_for(phone_number_id).current(self._clock())

    def _ask(
        self, pnid: str, buckets: list[Bucket], tier: UniqueCap | None, *, take: bool
    ) -> Awaitable[Admission]:
        """One all-or-nothing admission on the shared quota store, with the fail mode."""

        def local(f: float) -> Awaitable[Admission]:
            scaled = [replace(b, rate=b.rate * f, burst=max(b.burst * f, 1.0)) for b in buckets]
            cap = tier and replace(tier, limit=max(1, int(tier.limit * f)))
            return self._fallback.admit(pnid, scaled, cap, take=take)

        return self._guarded(self._store.admit(pnid, buckets, tier, take=take), local)

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


_MAX_TIER_MARKS = 10_000
"""Admissions whose tier slot a refund could still give back; older ones keep theirs."""

_QUOTA_DOWN = Decision(
    False, Reason.STORE_UNAVAILABLE, "quota store unavailable; failing closed", 1.0
)


_QUALITY_RED = Decision(
    False,
    Reason.QUOTA_EXHAUSTED,
    "quality rating RED: marketing from this number is paused",
    300.0,
)


def _floor(rate: float) -> float:
    """The adaptive rate's lowest point: 1/80 of the rate, at least 0.1 msg/s."""
    return min(rate, max(rate / 80.0, 0.1))


_TIER_FULL = Decision(
    False,
    Reason.MESSAGING_LIMIT_REACHED,
    "unique-recipient limit of the messaging tier reached for 24 h",
    3600.0,
)


def _pair_refusal(wait: float) -> Decision:
    return Decision(False, Reason.PAIR_RATE_LIMITED, "too many messages to this recipient", wait)


def _rate_refusal(wait: float) -> Decision:
    return Decision(False, Reason.QUOTA_EXHAUSTED, "send rate reached", wait)
