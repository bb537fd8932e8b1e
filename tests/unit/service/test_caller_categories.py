"""The caller's category limits are the service's to enforce: a principal that
may not send a category is refused by ``Sender``, ``Campaign`` and ``Outbox``
themselves, before anything is looked up, queued or sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.service import Rig, command

from sidecar.policy.access import Principal, Role
from sidecar.policy.types import Category, Reason
from sidecar.service.campaign import BatchItem, Campaign, CampaignSettings
from sidecar.service.models import Outcome

pytestmark = pytest.mark.unit

MARKETER = Principal("crm", frozenset({Role.SENDER}), frozenset({Category.MARKETING}))
ANYONE = Principal("ops", frozenset({Role.SENDER}))


def refused_for_permission(outcome: Outcome, reason: Reason) -> bool:
    return outcome is Outcome.REJECTED and reason is Reason.PERMISSION_DENIED


async def test_send_and_check_refuse_a_category_the_caller_may_not_send(rig: Rig) -> None:
    sender = rig.sender()
    result = await sender.send(command("a1"), principal=MARKETER)
    assert refused_for_permission(result.outcome, result.decision.reason)
    assert "'crm' may not send AUTHENTICATION" in result.decision.detail
    decision = await sender.check(command("a1"), principal=MARKETER)
    assert decision.reason is Reason.PERMISSION_DENIED
    assert rig.graph.calls == []
    assert await rig.state.get_send("a1") is None


async def test_a_caller_without_limits_or_no_caller_goes_through(rig: Rig) -> None:
    sender = rig.sender()
    for key, principal in (("b1", ANYONE), ("b2", None)):
        result = await sender.send(command(key), principal=principal)
        assert result.decision.reason is not Reason.PERMISSION_DENIED


async def test_enqueue_refuses_without_queueing(rig: Rig) -> None:
    outbox = rig.outbox(rig.sender())
    result = await outbox.enqueue(command("q1"), principal=MARKETER)
    assert refused_for_permission(result.outcome, result.decision.reason)
    assert await rig.state.get_send("q1") is None


async def test_a_batch_answers_each_refused_item(rig: Rig) -> None:
    campaign = Campaign(rig.sender(), CampaignSettings(10, 0.0, 4))

    async def items() -> AsyncIterator[BatchItem]:
        for key in ("c1", "c2"):
            yield command(key)

    results = [r async for r in campaign.run(items(), principal=MARKETER)]
    assert sorted(r.key for r in results) == ["c1", "c2"]
    assert all(refused_for_permission(r.outcome, r.decision.reason) for r in results)
    assert rig.graph.calls == []
