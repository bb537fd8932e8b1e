"""A send admitted by the quota gate that then does not go gives its quota back.

The recipient opts out after the decision took the send's pair token, send-rate
token and messaging-tier slot: at the store operation that starts the send, or
before a retry. The refusal stands, and what it took is free for the next
sends (the rig's memory quota store, fake time, a scripted Graph).
"""

from __future__ import annotations

import asyncio

import pytest
from support.service import Rig, command

from sidecar.policy.types import Category, Reason
from sidecar.service.models import Outcome, SendResult
from sidecar.service.send import Sender
from sidecar.whatsapp.errors import GraphError

pytestmark = pytest.mark.unit

X, Y, Z = "+16505550101", "+16505550102", "+16505550103"
SLOW_RATE = 1 / 600  # two tokens in the bucket and no new one during a test


async def opt_out(rig: Rig, to: str) -> None:
    await rig.state.suppress(rig.directory.indexes(to).full, [Category.AUTHENTICATION.value], 0)


def answer(result: SendResult) -> tuple[Outcome, Reason]:
    return result.outcome, result.decision.reason


async def until_the_rate_is_spent(sender: Sender, to: str) -> None:
    """Wait (without sleeping) until another send's decision took the last token."""
    for _ in range(10_000):
        if (await sender.check(command("probe", to))).reason is Reason.QUOTA_EXHAUSTED:
            return
        await asyncio.sleep(0)
    raise AssertionError("the other send never took its token")


async def test_a_send_refused_at_its_start_gives_back_its_tier_slot_and_rate_token(
    rig: Rig,
) -> None:
    sender = rig.sender(wire_slots=1, messaging_limit=2, rate=SLOW_RATE, burst=2.0, max_wait=0.0)
    rig.graph.hold.clear()  # Y's Graph call holds the only wire slot for now
    to_y = asyncio.ensure_future(sender.send(command("y", Y)))
    await rig.graph.called.wait()
    to_x = asyncio.ensure_future(sender.send(command("x", X)))
    await until_the_rate_is_spent(sender, Z)  # X was admitted and waits for the slot
    await opt_out(rig, X)
    rig.graph.hold.set()

    assert (await to_y).outcome is Outcome.SENT
    assert answer(await to_x) == (Outcome.REJECTED, Reason.OPTED_OUT)
    assert len(rig.graph.calls) == 1
    # X's tier slot (the second of two) and its rate token are free again.
    assert answer(await sender.send(command("z", Z))) == (Outcome.SENT, Reason.NONE)
    refused = await sender.send(command("w", "+16505550104"))
    assert refused.decision.reason is Reason.MESSAGING_LIMIT_REACHED


async def test_a_retry_refused_after_an_opt_out_gives_back_the_pair_and_rate_tokens(
    rig: Rig,
) -> None:
    sender = rig.sender(pair_burst=1.0, rate=SLOW_RATE, burst=2.0, max_wait=0.0)
    rig.graph.script(GraphError(code=131000, http_status=500))
    rig.graph.hold.clear()
    to_x = asyncio.ensure_future(sender.send(command("x1", X)))
    await rig.graph.called.wait()
    await opt_out(rig, X)  # while the first attempt is on the wire
    rig.graph.hold.set()
    assert answer(await to_x) == (Outcome.REJECTED, Reason.OPTED_OUT)
    assert len(rig.graph.calls) == 1  # the retry was not made

    # The opt-out is lifted (an approved override): X's pair token and the
    # retry's rate token were given back, so the next send to X goes.
    await rig.state.unsuppress(rig.directory.indexes(X).full, [Category.AUTHENTICATION.value])
    assert answer(await sender.send(command("x2", X))) == (Outcome.SENT, Reason.NONE)
    assert (await sender.send(command("x3", X))).decision.reason is Reason.PAIR_RATE_LIMITED
