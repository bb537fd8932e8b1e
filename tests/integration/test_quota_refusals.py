"""Quota refusals on a real sidecar process: a refused send takes nothing, and
a fractional send rate paces instead of failing.

One number with a token a second (no waiting), one message per recipient per
10 min and three unique recipients a day, on the memory and the Redis quota
store. A send the rate refuses must leave its recipient's pair token and the
tier's slot in place: the recipient's next send goes, and the tier fills only
with recipients who were actually sent to.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sidecar.whatsapp.simulator import SimulatorHandle

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.integration

X, Y, Z, W = "+16505550101", "+16505550102", "+16505550103", "+16505550104"
SENT, REJECTED = send_pb2.OUTCOME_SENT, send_pb2.OUTCOME_REJECTED
QUOTA = common_pb2.REASON_QUOTA_EXHAUSTED
TINY = {
    "WA_SIDECAR_SEND_RATE": "1",
    "WA_SIDECAR_SEND_BURST": "1",
    "WA_SIDECAR_SEND_MAX_WAIT": "0",  # no token now is a refusal, not a wait
    "WA_SIDECAR_PAIR_INTERVAL": "600",
    "WA_SIDECAR_PAIR_BURST": "1",
    "WA_SIDECAR_MESSAGING_LIMIT": "3",
}


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


def answer(reply: send_pb2.SendResponse) -> tuple[int, int]:
    return reply.outcome, reply.decision.reason


async def once_the_rate_allows(stub: send_pb2_grpc.SendServiceStub, to: str) -> tuple[int, int]:
    """Send to ``to``, again after each rate refusal's retry_after (≤ 1 s here),
    until another answer comes."""
    deadline = time.monotonic() + 15
    while True:
        reply = await stub.Send(otp(to))
        if answer(reply) != (REJECTED, QUOTA):
            return answer(reply)
        assert time.monotonic() < deadline, "the rate never allowed a send"
        await asyncio.sleep(reply.decision.retry_after.ToTimedelta().total_seconds())


async def test_sends_refused_by_the_rate_take_no_pair_token_and_no_tier_slot(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    await refused_sends_take_nothing(tmp_path, simulator, TINY)


async def test_on_redis_sends_refused_by_the_rate_take_no_pair_token_and_no_tier_slot(
    tmp_path: Path, simulator: SimulatorHandle, redis_url: str, redis_prefix: str
) -> None:
    quota = {"WA_SIDECAR_QUOTA_URL": redis_url, "WA_SIDECAR_QUOTA_KEY_PREFIX": redis_prefix}
    await refused_sends_take_nothing(tmp_path, simulator, {**TINY, **quota})


async def refused_sends_take_nothing(
    tmp_path: Path, simulator: SimulatorHandle, env: dict[str, str]
) -> None:
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        assert answer(await stub.Send(otp(X))) == (SENT, 0)
        assert answer(await stub.Send(otp(Y))) == (REJECTED, QUOTA)
        # Y's refused send left its pair token (one per 10 min) in place.
        assert await once_the_rate_allows(stub, Y) == (SENT, 0)
        assert answer(await stub.Send(otp(Y))) == (REJECTED, common_pb2.REASON_PAIR_RATE_LIMITED)
        # Z is refused by the rate: it takes no slot of the tier (X, Y and one more).
        assert answer(await stub.Send(otp(Z))) == (REJECTED, QUOTA)
        assert await once_the_rate_allows(stub, W) == (SENT, 0)
        assert await once_the_rate_allows(stub, Z) == (
            REJECTED,
            common_pb2.REASON_MESSAGING_LIMIT_REACHED,
        )
    assert simulator.state.stats.received == 3


async def test_a_fractional_rate_sends_one_message_every_two_seconds(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rate = {"WA_SIDECAR_SEND_RATE": "0.5", "WA_SIDECAR_SEND_MAX_WAIT": "0.5"}
    async with SidecarProcess(tmp_path, rate, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        assert answer(await stub.Send(otp(X))) == (SENT, 0)
        refused = await stub.Send(otp(Y))
        assert answer(refused) == (REJECTED, QUOTA)  # a 2 s wait is over the 0.5 s max wait
        assert 1.5 < refused.decision.retry_after.ToTimedelta().total_seconds() <= 2.0


async def test_a_fractional_rate_waits_for_the_next_token_within_max_wait(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    rate = {"WA_SIDECAR_SEND_RATE": "0.5", "WA_SIDECAR_SEND_MAX_WAIT": "3"}
    async with SidecarProcess(tmp_path, rate, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        assert answer(await stub.Send(otp(X))) == (SENT, 0)
        started = time.monotonic()
        assert answer(await stub.Send(otp(Y))) == (SENT, 0)
        assert time.monotonic() - started >= 1.5
    assert simulator.state.stats.received == 2
