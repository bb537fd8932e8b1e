"""``QuotaGate`` on its own: memory quota stores, a clock the test moves and a
sleep that moves it (no sockets, no real waiting).

Covers the token bucket's waits and max-wait refusals, refusals that take
nothing from the other limits, the adaptive rate after throttling and its
recovery, shadow mode and the quota fail modes.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from typing import Any

import pytest

from sidecar.config import load_settings
from sidecar.errors import StoreUnavailable
from sidecar.policy.consent import ConsentRules
from sidecar.policy.content import Template
from sidecar.policy.retry import RetryPolicy
from sidecar.policy.types import ALLOW, Category, Decision, Reason
from sidecar.service.models import SendCommand
from sidecar.service.pacing import QuotaGate
from sidecar.service.send import SendSettings
from sidecar.service.subjects import Indexes
from sidecar.service_settings import send_settings
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.telemetry.metrics import Metrics

pytestmark = pytest.mark.unit

PNID = "106540352242922"
X, Y, Z = "+16505550101", "+16505550102", "+16505550103"


class Time:
    """A clock the test moves, and a sleep that moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


SETTINGS = SendSettings(
    rate=10.0,
    burst=1.0,
    max_wait=2.0,
    pair_rate=1 / 600,
    pair_burst=10.0,
    window_seconds=86400.0,
    rules=ConsentRules(),
    retry=RetryPolicy(),
)


class Gate:
    """A gate on a memory store that reads the test's clock."""

    def __init__(self, store: Any = None, base: SendSettings = SETTINGS, **settings: Any) -> None:
        self.time = Time()
        self.metrics = Metrics()
        self.gate = QuotaGate(
            store if store is not None else MemoryQuotaStore(clock=self.time.clock),
            self.metrics,
            replace(base, **settings),
            clock=self.time.clock,
            sleep=self.time.sleep,
            fallback=MemoryQuotaStore(clock=self.time.clock),
        )

    async def send(self, to: str, max_wait: float | None = None) -> Decision:
        return await self.gate.decide(command(to), indexes(to), consume=True, max_wait=max_wait)

    async def check(self, to: str) -> Decision:
        return await self.gate.decide(command(to), indexes(to), consume=False, max_wait=None)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def command(to: str) -> SendCommand:
    return SendCommand(
        key="k",
        key_given=False,
        to=to,
        category=Category.AUTHENTICATION,
        phone_number_id=PNID,
        message=Template("otp", "en"),
        content=b"{}",
    )


def indexes(to: str) -> Indexes:
    full = hashlib.sha256(to.encode()).hexdigest()
    return Indexes(blind=full[:8], full=full)


# --------------------------------------------------------------------------- token bucket


async def test_a_send_waits_for_the_next_token_and_the_wait_is_observed() -> None:
    g = Gate(rate=10.0, burst=1.0)
    assert await g.send(X) == ALLOW
    assert g.time.slept == []
    assert await g.send(Y) == ALLOW
    assert sum(g.time.slept) == pytest.approx(0.1)
    assert g.sample("wa_sidecar_quota_wait_seconds_count") == 1


async def test_a_wait_beyond_max_wait_is_refused_at_once_with_retry_after() -> None:
    g = Gate(rate=0.5, burst=1.0, max_wait=1.0)  # one message every 2 s
    assert await g.send(X) == ALLOW
    refused = await g.send(Y)
    assert (refused.allowed, refused.reason) == (False, Reason.QUOTA_EXHAUSTED)
    assert refused.retry_after == pytest.approx(2.0)
    assert g.time.slept == []  # refused without waiting
    assert (await g.send(Y, max_wait=5.0)) == ALLOW  # a caller's longer wait is honoured
    assert sum(g.time.slept) == pytest.approx(2.0)


async def test_a_fractional_rate_from_the_settings_paces_one_message_every_two_seconds() -> None:
    env = {"WA_SIDECAR_SEND_RATE": "0.5", "WA_SIDECAR_SEND_MAX_WAIT": "0"}
    g = Gate(base=send_settings(load_settings(environ=env)))
    assert await g.send(X) == ALLOW
    refused = await g.send(Y)
    assert (refused.reason, refused.retry_after) == (Reason.QUOTA_EXHAUSTED, pytest.approx(2.0))
    g.time.now += 2.0
    assert await g.send(Y) == ALLOW


async def test_concurrent_waiters_queue_and_those_past_max_wait_are_refused() -> None:
    g = Gate(rate=10.0, burst=1.0, max_wait=0.25)
    answers = await asyncio.gather(*(g.send(to) for to in (X, Y, Z, "+16505550104")))
    assert [a.allowed for a in answers] == [True, True, True, False]
    assert answers[3].reason == Reason.QUOTA_EXHAUSTED
    assert g.time.now - 1_000.0 == pytest.approx(0.2)  # tokens at 0, 0.1 and 0.2 s


async def test_check_reports_the_refusal_without_taking_anything() -> None:
    g = Gate(rate=0.5, burst=1.0, max_wait=1.0)
    for _ in range(3):
        assert await g.check(X) == ALLOW
    assert await g.send(X) == ALLOW
    checked = await g.check(Y)
    assert checked.reason == Reason.QUOTA_EXHAUSTED
    assert checked.retry_after == pytest.approx(2.0)


# --------------------------------------------------------------------------- refusals take nothing


async def test_a_send_refused_by_the_rate_keeps_its_pair_token() -> None:
    g = Gate(rate=0.01, burst=1.0, max_wait=0.0, pair_burst=1.0)
    assert await g.send(X) == ALLOW
    assert (await g.send(Y)).reason == Reason.QUOTA_EXHAUSTED
    g.time.now += 100.0  # the next rate token
    assert await g.send(Y) == ALLOW  # Y's pair token was not spent by the refusal
    g.time.now += 100.0
    assert (await g.send(Y)).reason == Reason.PAIR_RATE_LIMITED


async def test_a_send_refused_by_the_rate_takes_no_messaging_tier_slot() -> None:
    g = Gate(rate=0.01, burst=1.0, max_wait=0.0, messaging_limit=2)
    assert await g.send(X) == ALLOW
    assert (await g.send(Y)).reason == Reason.QUOTA_EXHAUSTED
    g.time.now += 100.0
    assert await g.send(Z) == ALLOW  # the refused Y did not fill the tier
    g.time.now += 100.0
    assert (await g.send(Y)).reason == Reason.MESSAGING_LIMIT_REACHED


async def test_a_send_refused_by_the_pair_limit_takes_no_rate_token() -> None:
    g = Gate(rate=0.01, burst=2.0, max_wait=0.0, pair_burst=1.0)
    assert await g.send(X) == ALLOW
    assert (await g.send(X)).reason == Reason.PAIR_RATE_LIMITED
    assert await g.send(Y) == ALLOW  # the second of the two rate tokens is still there


# --------------------------------------------------------------------------- adaptive rate


async def test_throttling_halves_the_pace_and_it_recovers_gradually() -> None:
    g = Gate(rate=10.0, burst=1.0)
    g.gate.rate_for(PNID).on_throttle(g.time.now)
    assert g.gate.current_rates() == {PNID: 5.0}
    assert await g.send(X) == ALLOW
    assert await g.send(Y) == ALLOW
    assert g.time.slept == [pytest.approx(0.2)]  # one token per 0.2 s at 5/s
    g.time.now += 7.5 - 0.2  # recovery: +10/30 per second since the cut
    assert g.gate.current_rates()[PNID] == pytest.approx(7.5)
    g.time.now += 10.0
    assert g.gate.current_rates() == {PNID: 10.0}
    assert await g.send(Z) == ALLOW
    assert await g.send(X) == ALLOW
    assert g.time.slept[-1] == pytest.approx(0.1)


# --------------------------------------------------------------------------- shadow mode


async def test_shadow_mode_waives_and_counts_each_refusal_and_still_takes_what_fits() -> None:
    g = Gate(rate=0.01, burst=1.0, max_wait=0.0, pair_burst=1.0, quota_shadow=True)
    assert await g.send(X) == ALLOW
    assert await g.send(X) == ALLOW  # pair and rate both waived
    assert await g.check(X) == ALLOW  # a Check is answered as the send would be
    shadow = "wa_sidecar_quota_shadow_refusals_total"
    assert g.sample(shadow, rule="pair_limit") == 1
    assert g.sample(shadow, rule="send_rate") == 1
    assert await g.send(Y) == ALLOW  # the rate waived, Y's pair token taken
    assert g.sample(shadow, rule="send_rate") == 2
    assert g.sample(shadow, rule="pair_limit") == 1
    assert await g.send(Y) == ALLOW
    assert g.sample(shadow, rule="pair_limit") == 2


# --------------------------------------------------------------------------- fail modes


class Unreachable:
    """A quota backend that cannot be reached (what a Redis outage looks like)."""

    async def admit(self, *args: object, **kwargs: object) -> Any:
        raise StoreUnavailable("quota store unavailable")

    acquire = peek = add_unique = ping = admit

    async def close(self) -> None:
        return None


async def test_fail_closed_refuses_while_the_store_is_down() -> None:
    g = Gate(Unreachable())
    refused = await g.send(X)
    assert (refused.allowed, refused.reason) == (False, Reason.STORE_UNAVAILABLE)
    with pytest.raises(StoreUnavailable):
        await g.gate.take_send_token(PNID, 1.0)


async def test_fail_open_paces_on_a_local_bucket_at_a_fraction_of_the_rate() -> None:
    g = Gate(Unreachable(), rate=10.0, burst=4.0, quota_fail_open=True, fail_open_fraction=0.5)
    for to in (X, Y):  # half the burst goes at once
        assert await g.send(to) == ALLOW
    assert g.time.slept == []
    assert await g.send(Z) == ALLOW
    assert g.time.slept == [pytest.approx(0.2)]  # half the rate
    assert g.sample("wa_sidecar_quota_fallbacks_total") >= 3


async def test_take_send_token_returns_the_wait_or_minus_the_wait_needed() -> None:
    g = Gate(rate=1.0, burst=1.0)
    assert await g.gate.take_send_token(PNID, 0.0) == 0.0
    assert await g.gate.take_send_token(PNID, 0.5) == pytest.approx(-1.0)
    assert await g.gate.take_send_token(PNID, 5.0) == pytest.approx(1.0)
