"""A STOP that arrives while sends to the recipient wait stops them (SPEC §4.4).

Suppression is checked again right before every Graph attempt: in the store
operation that marks the send in flight, and before each retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import SidecarProcess, inbound_text, signature

pytestmark = pytest.mark.integration

TO = "+16505551234"
SLOW = {  # one send every 2 s to this number: the rest of a batch waits on quota
    "WA_SIDECAR_SEND_RATE": "0.5",
    "WA_SIDECAR_SEND_BURST": "1",
    "WA_SIDECAR_PAIR_BURST": "10",
}


def otp(key: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=TO,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def stop_from(channel: object) -> None:
    body = inbound_text(TO.lstrip("+"), "STOP")
    verify = verify_pb2_grpc.VerifyServiceStub(channel)  # type: ignore[no-untyped-call]
    result = await verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body))
    )
    assert result.valid and result.events[0].message.opt_out


async def test_a_stop_stops_the_batch_sends_that_wait_on_quota(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async def requests() -> AsyncIterator[send_pb2.SendRequest]:
        for i in range(5):
            yield otp(f"wait-{i}")

    async with SidecarProcess(tmp_path, SLOW, graph_url=simulator.url) as sidecar:
        stub = send_pb2_grpc.SendServiceStub(sidecar.channel)
        call = stub.SendBatch(requests())
        replies: list[send_pb2.SendResponse] = []

        async def collect() -> None:
            replies.extend([r async for r in call])

        collecting = asyncio.ensure_future(collect())
        await simulator.state.wait_received(1)  # the first went; four wait for tokens
        await stop_from(sidecar.channel)
        await asyncio.wait_for(collecting, 30)
    assert len(simulator.state.messages_to(TO)) == 1
    outcomes = sorted((r.outcome, r.decision.reason) for r in replies)
    assert (
        outcomes
        == [(send_pb2.OUTCOME_SENT, common_pb2.REASON_UNSPECIFIED)]
        + [(send_pb2.OUTCOME_REJECTED, common_pb2.REASON_OPTED_OUT)] * 4
    )


async def test_a_stop_between_attempts_stops_the_retry(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    # The first attempt fails transiently; the retry waits its backoff (≥ 1 s).
    simulator.state.add_fault(FaultRule(to=TO, code=131016, count=1))
    env = {"WA_SIDECAR_RETRY_BASE_DELAY": "2.0", "WA_SIDECAR_RETRY_MAX_DELAY": "2.0"}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as sidecar:
        stub = send_pb2_grpc.SendServiceStub(sidecar.channel)
        call = asyncio.ensure_future(stub.Send(otp("retry-1")))
        await simulator.state.wait_received(1)
        await stop_from(sidecar.channel)
        reply = await asyncio.wait_for(call, 30)
        assert (reply.outcome, reply.decision.reason) == (
            send_pb2.OUTCOME_REJECTED,
            common_pb2.REASON_OPTED_OUT,
        )
        status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="retry-1"))
        assert status.response.outcome == send_pb2.OUTCOME_REJECTED  # recorded as such
    assert simulator.state.stats.received == 1
    assert simulator.state.messages_to(TO) == []
