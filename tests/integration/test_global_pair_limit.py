"""Acceptance (issue "Scale-out"): the per-recipient pair limit is global.

Three real sidecar processes share one Redis and all write to ONE recipient
at once. The pair bucket (burst 3, then one message per 30 s — longer than
the test) admits its burst once in total, not once per replica. The same
traffic on ``memory://`` is the counter-example: every replica spends its own
burst, and the recipient gets three times as many messages.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.crypto.keys import Keyring
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = [pytest.mark.integration, pytest.mark.redis]

SIDECARS = 3
PER_SIDECAR = 4  # sends each replica fires at once
PAIR_BURST = 3
RECIPIENT = "+16505550199"


def otp(n: int) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=RECIPIENT,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(
            name="otp",
            language=send_pb2.TemplateLanguage(code="en"),
            components=[
                send_pb2.TemplateComponent(
                    type="body", parameters=[send_pb2.TemplateParameter(type="text", text=str(n))]
                )
            ],
        ),
    )


async def send_from_replicas(
    tmp_path: Path, simulator: SimulatorHandle, quota: dict[str, str]
) -> list[send_pb2.SendResponse]:
    env = {
        **quota,
        # Replicas of one deployment share the key; it also keys the recipient's
        # blind index, and so the name of the recipient's pair bucket.
        "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate(),
        "WA_SIDECAR_PAIR_BURST": str(PAIR_BURST),
        "WA_SIDECAR_PAIR_INTERVAL": "30",
    }
    procs = []
    for i in range(SIDECARS):
        (tmp_path / f"s{i}").mkdir()
        procs.append(SidecarProcess(tmp_path / f"s{i}", env, graph_url=simulator.url))
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(proc.ready() for proc in procs))
        stubs = [send_pb2_grpc.SendServiceStub(proc.channel) for proc in procs]
        return await asyncio.gather(
            *(
                stub.Send(otp(i * PER_SIDECAR + n))
                for i, stub in enumerate(stubs)
                for n in range(PER_SIDECAR)
            )
        )
    finally:
        await asyncio.gather(*(proc.stop() for proc in procs))


def tally(replies: list[send_pb2.SendResponse]) -> tuple[int, int]:
    sent = sum(r.outcome == send_pb2.OUTCOME_SENT for r in replies)
    paced = sum(
        r.outcome == send_pb2.OUTCOME_REJECTED
        and r.decision.reason == common_pb2.REASON_PAIR_RATE_LIMITED
        for r in replies
    )
    return sent, paced


async def test_replicas_on_one_redis_share_one_pair_burst(
    tmp_path: Path, simulator: SimulatorHandle, redis_url: str, redis_prefix: str
) -> None:
    quota = {"WA_SIDECAR_QUOTA_URL": redis_url, "WA_SIDECAR_QUOTA_KEY_PREFIX": redis_prefix}
    replies = await send_from_replicas(tmp_path, simulator, quota)

    assert len(replies) == SIDECARS * PER_SIDECAR
    assert tally(replies) == (PAIR_BURST, SIDECARS * PER_SIDECAR - PAIR_BURST), replies
    assert len(simulator.state.messages_to(RECIPIENT)) == PAIR_BURST


async def test_counter_example_per_process_buckets_each_spend_the_burst(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    replies = await send_from_replicas(tmp_path, simulator, {"WA_SIDECAR_QUOTA_URL": "memory://"})

    sent = SIDECARS * PAIR_BURST  # the recipient gets one burst per replica
    assert tally(replies) == (sent, SIDECARS * PER_SIDECAR - sent), replies
    assert len(simulator.state.messages_to(RECIPIENT)) == sent
