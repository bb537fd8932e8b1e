"""Two replicas on one PostgreSQL: a live replica's send is never in doubt.

Replica A sends slowly (the simulator holds its answer); replica B neither
lists it nor lets a person resolve it. Once A is killed -9 and its owner
lease lapses, B lists it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.crypto.keys import Keyring
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TO = "+16505551234"
TTL = 2.0


def otp(key: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=TO,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def test_a_live_replicas_send_is_not_in_doubt_until_its_lease_lapses(
    tmp_path: Path, simulator: SimulatorHandle, postgres_url: str
) -> None:
    env = {
        "WA_SIDECAR_STATE_URL": postgres_url,
        "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate(),
        "WA_SIDECAR_OWNER_LEASE_TTL": str(TTL),
        "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL": "0.5",
    }
    simulator.state.add_fault(FaultRule(to=TO, latency_ms=8000, count=1))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        SidecarProcess(tmp_path / "a", env, graph_url=simulator.url) as a,
        SidecarProcess(tmp_path / "b", env, graph_url=simulator.url) as b,
    ):
        on_a = send_pb2_grpc.SendServiceStub(a.channel)
        on_b = send_pb2_grpc.SendServiceStub(b.channel)
        call = asyncio.ensure_future(on_a.Send(otp("slow-1")))
        await simulator.state.wait_received(1)  # on the wire from A, not answered
        # Longer than the lease TTL: A's heartbeat keeps its send live.
        until = time.monotonic() + 2 * TTL
        while time.monotonic() < until:
            assert not (await on_b.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
            await asyncio.sleep(0.2)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await on_b.ResolveInDoubt(
                send_pb2.ResolveInDoubtRequest(
                    idempotency_key="slow-1", resolution=send_pb2.IN_DOUBT_RESOLUTION_NOT_SENT
                )
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        status = await on_b.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="slow-1"))
        assert status.response.outcome == send_pb2.OUTCOME_QUEUED  # being sent, not in doubt

        a.kill()
        with pytest.raises(grpc.aio.AioRpcError):
            await call
        deadline = time.monotonic() + 10 * TTL
        while True:
            listed = (await on_b.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
            if listed or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert [s.idempotency_key for s in listed] == ["slow-1"]
        status = await on_b.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="slow-1"))
        assert status.response.outcome == send_pb2.OUTCOME_IN_DOUBT
        resolved = await on_b.ResolveInDoubt(
            send_pb2.ResolveInDoubtRequest(
                idempotency_key="slow-1",
                resolution=send_pb2.IN_DOUBT_RESOLUTION_SENT,
                message_id="wamid.slow",
            )
        )
        assert resolved.outcome == send_pb2.OUTCOME_SENT
