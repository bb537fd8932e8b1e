"""QuotaGate through the service rig: the messaging tier's unique-recipient cap and
the adaptive rate per sending number (waits and refusals: test_quota_gate.py)."""

from __future__ import annotations

import pytest
from support.service import FakeTime, Rig, command

from sidecar.policy.types import Reason
from sidecar.testing import PHONE_NUMBER_ID

pytestmark = pytest.mark.unit


def numbers(count: int) -> list[str]:
    return [f"+1650555{1000 + n:04d}" for n in range(count)]


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
