"""A send whose Graph call may have reached Meta, over real gRPC to a real process.

The sidecar gets no usable answer (the simulator accepts the message and
answers after the client's timeout, or drops the connection): the answer is
OUTCOME_IN_DOUBT after exactly one Graph call, ListInDoubt lists it while
the process lives, and the simulator's own status webhook with the callback
key, handed to VerifyWebhook, resolves it to SENT. With the opt-in resend,
a held send whose status never came is sent once more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.webhook_relay import WebhookRelay

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2_grpc,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.integration

TO = "+16505551234"
GRAPH_TIMEOUT = 0.5


def auth(key: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=TO,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


@pytest.fixture
async def relay(simulator: SimulatorHandle) -> AsyncIterator[WebhookRelay]:
    async with WebhookRelay() as opened:
        simulator.state.configure({"webhook_url": opened.url})
        yield opened


async def status_of(stub: send_pb2_grpc.SendServiceStub, key: str) -> send_pb2.SendResponse:
    reply = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key=key))
    assert reply.found
    return reply.response


async def test_an_answer_later_than_the_timeout_is_in_doubt_until_its_status_webhook(
    tmp_path: Path, simulator: SimulatorHandle, relay: WebhookRelay
) -> None:
    late = GRAPH_TIMEOUT * 4 * 1000
    simulator.state.add_fault(FaultRule(to=TO, answer_late_ms=late, count=1))
    env = {"WA_SIDECAR_GRAPH_TIMEOUT": str(GRAPH_TIMEOUT)}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        answer = await stub.Send(auth("amb-1"))
        assert answer.outcome == send_pb2.OUTCOME_IN_DOUBT
        assert answer.attempts == 1
        assert answer.error.message  # what went wrong: no answer in time
        assert simulator.state.stats.received == 1
        [message] = simulator.state.messages_to(TO)  # Meta has it

        assert (await stub.Send(auth("amb-1"))).outcome == send_pb2.OUTCOME_IN_DOUBT
        assert (await status_of(stub, "amb-1")).outcome == send_pb2.OUTCOME_IN_DOUBT
        listed = await stub.ListInDoubt(send_pb2.ListInDoubtRequest())
        assert [s.idempotency_key for s in listed.sends] == ["amb-1"]  # its process is alive
        assert simulator.state.stats.received == 1

        await relay.wait_for_callback("amb-1")
        assert await relay.forward(verify_pb2_grpc.VerifyServiceStub(proc.channel)) >= 1
        resolved = await status_of(stub, "amb-1")
        assert (resolved.outcome, resolved.message_id) == (send_pb2.OUTCOME_SENT, message.wamid)
        assert not (await stub.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
        again = await stub.Send(auth("amb-1"))
        assert (again.outcome, again.message_id) == (send_pb2.OUTCOME_SENT, message.wamid)
        assert not (await stub.ListDeadLetters(send_pb2.ListDeadLettersRequest())).dead_letters
    assert simulator.state.stats.received == 1


async def test_the_opt_in_resends_a_held_send_whose_status_never_came(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    """The connection drops before Meta accepted: no status will ever come.
    With WA_SIDECAR_AMBIGUOUS_RESEND_AFTER the send goes once more."""
    simulator.state.add_fault(FaultRule(to=TO, drop_connection=True, count=1))
    env = {"WA_SIDECAR_GRAPH_TIMEOUT": "2", "WA_SIDECAR_AMBIGUOUS_RESEND_AFTER": "1"}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        answer = await stub.Send(auth("amb-2"))
        assert (answer.outcome, answer.attempts) == (send_pb2.OUTCOME_IN_DOUBT, 1)
        assert not simulator.state.messages_to(TO)
        deadline = time.monotonic() + 20
        while (await status_of(stub, "amb-2")).outcome != send_pb2.OUTCOME_SENT:
            assert time.monotonic() < deadline, "the held send was not resent"
            await asyncio.sleep(0.1)
        [message] = simulator.state.messages_to(TO)
        assert (await status_of(stub, "amb-2")).message_id == message.wamid
        assert not (await stub.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
    assert simulator.state.stats.received == 2


async def test_without_the_opt_in_a_held_send_is_never_resent(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(to=TO, drop_connection=True, count=1))
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await stub.Send(auth("amb-3"))).outcome == send_pb2.OUTCOME_IN_DOUBT
        listed = await stub.ListInDoubt(send_pb2.ListInDoubtRequest())
        assert [s.idempotency_key for s in listed.sends] == ["amb-3"]
    assert simulator.state.stats.received == 1
