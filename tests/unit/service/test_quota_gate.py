"""QuotaGate on its own: the token bucket's waits and refusals on a fake clock,
the messaging tier's unique-recipient cap, and Check consuming nothing."""

from __future__ import annotations

import pytest
from support.service import FakeTime, Rig, command

from sidecar.policy.types import Reason
from sidecar.testing import PHONE_NUMBER_ID

pytestmark = pytest.mark.unit


def numbers(count: int) -> list[str]:
    return [f"+1650555{1000 + n:04d}" for n in range(count)]


async def test_a_send_waits_for_its_token_within_max_wait(rig: Rig, clock: FakeTime) -> None:
    quota = rig.quota_gate(rate=1.0, burst=2.0, max_wait=5.0)
    started = clock.monotonic()
    for to in numbers(3):
        cmd = command(to=to)
        decision = await quota.decide(cmd, rig.directory.indexes(to), consume=True, max_wait=None)
        assert decision.allowed
    assert clock.monotonic() - started == pytest.approx(1.0)  # two from the burst, one waited


async def test_a_wait_beyond_max_wait_is_refused_with_the_wait(rig: Rig, clock: FakeTime) -> None:
    quota = rig.quota_gate(rate=1.0, burst=2.0, max_wait=0.5)
    decisions = []
    for to in numbers(3):
        idx = rig.directory.indexes(to)
        decisions.append(await quota.decide(command(to=to), idx, consume=True, max_wait=None))
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].reason is Reason.QUOTA_EXHAUSTED
    assert decisions[2].retry_after == pytest.approx(1.0)
    assert clock.sleeps == []


async def test_check_consumes_nothing(rig: Rig) -> None:
    quota = rig.quota_gate(rate=1.0, burst=1.0, max_wait=0.0)
    [to] = numbers(1)
    idx = rig.directory.indexes(to)
    for _ in range(5):
        assert (await quota.decide(command(to=to), idx, consume=False, max_wait=None)).allowed
    assert (await quota.decide(command(to=to), idx, consume=True, max_wait=None)).allowed
    refused = await quota.decide(command(to=to), idx, consume=False, max_wait=None)
    assert refused.reason is Reason.QUOTA_EXHAUSTED


async def test_the_messaging_tier_caps_unique_recipients_not_messages(rig: Rig) -> None:
    quota = rig.quota_gate(messaging_limit=2, rate=1000.0, burst=1000.0, pair_burst=100.0)
    first, second, third = numbers(3)

    async def decide(to: str) -> Reason:
        idx = rig.directory.indexes(to)
        return (await quota.decide(command(to=to), idx, consume=True, max_wait=None)).reason

    assert [await decide(first), await decide(second)] == [Reason.NONE, Reason.NONE]
    assert await decide(third) is Reason.MESSAGING_LIMIT_REACHED
    assert await decide(first) is Reason.NONE  # already reached today: no new slot


async def test_the_adaptive_rate_is_per_sending_number(rig: Rig, clock: FakeTime) -> None:
    quota = rig.quota_gate(rate=80.0)
    quota.rate_for(PHONE_NUMBER_ID).on_throttle(clock())
    assert quota.current_rates() == {PHONE_NUMBER_ID: 40.0}
    assert quota.rate_for("other-number").current(clock()) == 80.0
