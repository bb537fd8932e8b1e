"""CapacityTracker on the service rig: the send rate and the tier cap follow
what Graph says of the number, unless pinned; RED quality slows marketing;
replicas share a reading through the quota store (issue 16, FACTS §5)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from support.service import FakeTime, Rig, command

from sidecar.policy.types import Category, Reason
from sidecar.service.capacity import CapacitySettings, CapacityTracker
from sidecar.service.models import SendCommand
from sidecar.service.pacing import QuotaGate
from sidecar.testing import PHONE_NUMBER_ID as PN
from sidecar.whatsapp.account import NumberCapacity
from sidecar.whatsapp.errors import GraphError

pytestmark = pytest.mark.unit

STANDARD = NumberCapacity("STANDARD", "TIER_UNLIMITED", "GREEN", on_business_app=False)
SETTINGS = CapacitySettings(
    interval=300.0, rate_pinned=False, limit_pinned=False, phone_number_id=PN
)


class Graph:
    """What Graph says of the number now; counts the reads; may fail."""

    def __init__(self, answer: NumberCapacity = STANDARD) -> None:
        self.answer = answer
        self.reads = 0
        self.failing = False
        self.read = asyncio.Event()

    async def __call__(self, phone_number_id: str) -> NumberCapacity:
        assert phone_number_id == PN
        self.reads += 1
        self.read.set()
        if self.failing:
            raise GraphError(code=80007, http_status=400, message="rate limit")
        return self.answer


def tracker(
    rig: Rig, gate: QuotaGate, graph: Graph, clock: FakeTime, **settings: object
) -> CapacityTracker:
    return CapacityTracker(
        gate, graph, rig.quota, rig.metrics, replace(SETTINGS, **settings), clock=clock
    )


def changes(rig: Rig, what: str, direction: str) -> float:
    return rig.metric("wa_sidecar_capacity_changes_total", what=what, direction=direction)


async def test_the_rate_follows_the_throughput_level_up_and_down(rig: Rig, clock: FakeTime) -> None:
    gate, graph = rig.quota_gate(rate=80.0, burst_follows_rate=True), Graph()
    capacity = tracker(rig, gate, graph, clock)
    await capacity.refresh()
    assert gate.rate_for(PN).current(clock()) == 80.0
    assert changes(rig, "throughput", "up") == 0  # 80 was in force already

    graph.answer = replace(STANDARD, throughput="HIGH")
    await capacity.refresh(force=True)
    assert gate.rate_for(PN).current(clock()) == 1000.0
    assert rig.metric("wa_sidecar_account_throughput", phone_number_id=PN) == 1000.0
    assert changes(rig, "throughput", "up") == 1

    graph.answer = replace(STANDARD, throughput="HIGH", on_business_app=True)
    await capacity.refresh(force=True)
    assert gate.rate_for(PN).current(clock()) == 20.0
    assert changes(rig, "throughput", "down") == 1


async def test_an_upgrade_raises_a_burst_that_follows_the_rate(rig: Rig, clock: FakeTime) -> None:
    gate = rig.quota_gate(rate=80.0, burst_follows_rate=True, pair_burst=10_000.0)
    await tracker(rig, gate, Graph(replace(STANDARD, throughput="HIGH")), clock).refresh()
    allowed = 0
    for n in range(1200):
        to = f"+1650555{n:04d}"
        decision = await gate.decide(
            command(to=to), rig.directory.indexes(to), consume=True, max_wait=0.0
        )
        allowed += decision.allowed
    assert allowed == 1000  # a full bucket of the new rate, then the rate


async def test_a_pinned_rate_stays_whatever_graph_says(rig: Rig, clock: FakeTime) -> None:
    gate = rig.quota_gate(rate=50.0)
    await tracker(
        rig, gate, Graph(replace(STANDARD, throughput="HIGH")), clock, rate_pinned=True
    ).refresh()
    assert gate.rate_for(PN).current(clock()) == 50.0


async def test_the_tier_cap_follows_the_portfolio_limit_unless_pinned(
    rig: Rig, clock: FakeTime
) -> None:
    gate, graph = rig.quota_gate(), Graph(replace(STANDARD, messaging_limit="TIER_2K"))
    capacity = tracker(rig, gate, graph, clock)
    await capacity.refresh()
    assert gate.messaging_limit == 2000
    graph.answer = replace(STANDARD, messaging_limit="TIER_250")
    await capacity.refresh(force=True)
    assert gate.messaging_limit == 250
    assert rig.metric("wa_sidecar_messaging_limit") == 250
    assert changes(rig, "messaging_limit", "down") == 1
    graph.answer = STANDARD  # unlimited: no cap
    await capacity.refresh(force=True)
    assert (gate.messaging_limit, rig.metric("wa_sidecar_messaging_limit")) == (0, -1)
    assert changes(rig, "messaging_limit", "up") == 1

    pinned = rig.quota_gate(messaging_limit=3)
    await tracker(rig, pinned, graph, clock, limit_pinned=True).refresh()
    assert pinned.messaging_limit == 3


async def test_quality_red_pauses_marketing_only_until_it_recovers(
    rig: Rig, clock: FakeTime
) -> None:
    gate, graph = rig.quota_gate(red_marketing_share=0.0), Graph(replace(STANDARD, quality="RED"))
    capacity = tracker(rig, gate, graph, clock)
    await capacity.refresh()

    async def reason(category: Category) -> Reason:
        cmd = command(category=category, template="promo")
        return (
            await gate.decide(cmd, rig.directory.indexes(cmd.to), consume=False, max_wait=0.0)
        ).reason

    assert await reason(Category.MARKETING) is Reason.QUOTA_EXHAUSTED
    assert await reason(Category.UTILITY) is Reason.NONE
    assert rig.metric("wa_sidecar_quality_rating", phone_number_id=PN) == 1
    graph.answer = replace(STANDARD, quality="YELLOW")
    await capacity.refresh(force=True)
    assert await reason(Category.MARKETING) is Reason.NONE
    assert changes(rig, "quality", "up") == 1


async def test_quality_red_gives_marketing_a_share_of_the_rate(rig: Rig, clock: FakeTime) -> None:
    gate = rig.quota_gate(rate=10.0, burst=10.0, red_marketing_share=0.2, pair_burst=100.0)
    await tracker(
        rig, gate, Graph(replace(STANDARD, quality="RED")), clock, rate_pinned=True
    ).refresh()
    results = []
    for n in range(6):
        cmd = command(
            key=f"k{n}", to=f"+1650555{n:04d}", category=Category.MARKETING, template="promo"
        )
        decision = await gate.decide(cmd, rig.directory.indexes(cmd.to), consume=True, max_wait=0.0)
        results.append(decision.allowed)
    assert results == [True, True, False, False, False, False]  # a burst of 10 × 0.2


async def test_a_refund_gives_back_the_red_quality_marketing_token_too(
    rig: Rig, clock: FakeTime
) -> None:
    gate = rig.quota_gate(rate=10.0, burst=10.0, red_marketing_share=0.2, pair_burst=100.0)
    await tracker(
        rig, gate, Graph(replace(STANDARD, quality="RED")), clock, rate_pinned=True
    ).refresh()
    cmds = [
        command(key=f"k{n}", to=f"+1650555{n:04d}", category=Category.MARKETING, template="promo")
        for n in range(4)
    ]

    async def admit(cmd: SendCommand) -> bool:
        idx = rig.directory.indexes(cmd.to)
        return (await gate.decide(cmd, idx, consume=True, max_wait=0.0)).allowed

    assert [await admit(cmd) for cmd in cmds[:3]] == [True, True, False]  # the RED bucket: 2
    await gate.refund(cmds[1], rig.directory.indexes(cmds[1].to))  # opted out before Graph
    assert await admit(cmds[3])


async def test_replicas_share_a_reading_and_a_poke_reads_graph_again(
    rig: Rig, clock: FakeTime
) -> None:
    graph = Graph(replace(STANDARD, throughput="HIGH"))
    first_gate, second_gate = rig.quota_gate(), rig.quota_gate()
    first = tracker(rig, first_gate, graph, clock)
    second = tracker(rig, second_gate, graph, clock)
    await first.refresh()
    await second.refresh()
    assert graph.reads == 1
    assert second_gate.rate_for(PN).current(clock()) == 1000.0
    assert rig.metric("wa_sidecar_capacity_reads_total", result="shared") == 1

    clock.advance(301.0)  # older than the interval: read again
    await second.refresh()
    assert graph.reads == 2
    await first.refresh(force=True)
    assert graph.reads == 3


async def test_a_failed_read_keeps_what_is_in_force(rig: Rig, clock: FakeTime) -> None:
    gate, graph = rig.quota_gate(), Graph(replace(STANDARD, throughput="HIGH"))
    capacity = tracker(rig, gate, graph, clock)
    await capacity.refresh()
    graph.failing = True
    await capacity.refresh(force=True)
    assert gate.rate_for(PN).current(clock()) == 1000.0
    assert rig.metric("wa_sidecar_capacity_reads_total", result="failed") == 1


async def test_run_reads_at_start_then_at_once_on_a_poke_and_ends_on_stop(
    rig: Rig, clock: FakeTime
) -> None:
    graph = Graph()
    capacity = tracker(rig, rig.quota_gate(), graph, clock, interval=3600.0)
    stop = asyncio.Event()
    task = asyncio.create_task(capacity.run(stop))
    await asyncio.wait_for(graph.read.wait(), 5)
    graph.read.clear()
    graph.answer = replace(STANDARD, throughput="HIGH")
    capacity.poke()  # within the hour: only the poke can explain a second read
    await asyncio.wait_for(graph.read.wait(), 5)
    assert graph.reads == 2
    stop.set()
    await asyncio.wait_for(task, 5)
