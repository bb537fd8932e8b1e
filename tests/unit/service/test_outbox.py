"""Outbox and its dispatcher on their own: enqueue answers at once, the
dispatcher sends later through the Sender's pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from support.service import Rig, command

from sidecar.errors import IdempotencyConflict
from sidecar.policy.types import Category, Reason
from sidecar.service.campaign import CampaignSettings
from sidecar.service.models import Outcome
from sidecar.service.outbox import Dispatcher, Outbox
from sidecar.stores.base import SendState

pytestmark = pytest.mark.unit


@asynccontextmanager
async def dispatching(outbox: Outbox) -> AsyncIterator[None]:
    """A running dispatcher; on exit it stops claiming and finishes what it holds."""
    stop = asyncio.Event()
    task = asyncio.create_task(Dispatcher(outbox, CampaignSettings(100, 1.0, 8)).run(stop, 5.0))
    try:
        yield
    finally:
        stop.set()
        await task


async def test_enqueue_answers_queued_at_once_and_repeats_answer_the_same(rig: Rig) -> None:
    outbox = rig.outbox(rig.sender())
    assert (await outbox.enqueue(command("q1"))).outcome is Outcome.QUEUED
    assert (await outbox.enqueue(command("q1"))).outcome is Outcome.QUEUED
    status = await outbox.status("q1")
    assert status is not None and status.result.outcome is Outcome.QUEUED
    assert rig.graph.calls == []
    with pytest.raises(IdempotencyConflict):
        await outbox.enqueue(command("q1", template="welcome"))


async def test_the_dispatcher_sends_what_was_queued_and_stores_the_outcome(rig: Rig) -> None:
    outbox = rig.outbox(rig.sender())
    await outbox.enqueue(command("q1"))
    async with dispatching(outbox):
        async with asyncio.timeout(10):
            await rig.graph.called.wait()

    [call] = rig.graph.calls
    assert call.body["biz_opaque_callback_data"] == "q1"
    status = await outbox.status("q1")
    assert status is not None
    assert (status.result.outcome, status.result.message_id) == (Outcome.SENT, "wamid.fake1")
    record = await rig.state.get_send("q1")
    assert record is not None and record.state is SendState.DONE
    # A repeat after dispatch answers the stored outcome, and nothing is sent again.
    assert (await outbox.enqueue(command("q1"))).outcome is Outcome.SENT
    assert len(rig.graph.calls) == 1


async def test_a_queued_send_the_policy_refuses_is_finished_as_rejected(rig: Rig) -> None:
    outbox = rig.outbox(rig.sender())
    await outbox.enqueue(command("q1", category=Category.MARKETING))  # no consent recorded
    async with dispatching(outbox):
        async with asyncio.timeout(10):
            while (record := await rig.state.get_send("q1")) is None or (
                record.state is not SendState.DONE
            ):
                await asyncio.sleep(0)

    status = await outbox.status("q1")
    assert status is not None
    assert status.result.outcome is Outcome.REJECTED
    assert status.result.decision.reason is Reason.NO_CONSENT
    assert rig.graph.calls == []


async def test_a_dry_run_decides_without_queueing(rig: Rig) -> None:
    outbox = rig.outbox(rig.sender())
    assert (await outbox.enqueue(command("q1", dry_run=True))).outcome is Outcome.DRY_RUN
    refused = await outbox.enqueue(command("q2", category=Category.MARKETING, dry_run=True))
    assert refused.decision.reason is Reason.NO_CONSENT
    assert await outbox.status("q1") is None
