"""Acceptance: kill -9 in the middle of a 3,000-message campaign, restart, resend.

No recipient may receive two messages; every request ends SENT or, for the
few on the wire at the instant of the crash, IN_DOUBT — listed for review and
resolved by the status webhook that carries the key back. Only what was on
the wire may be in doubt: the simulator answers slowly and the Graph pool is
smaller than the batch window, so many sends wait for a connection at the
crash; none of those may end in doubt. A send is marked in flight once it
holds one of the pool's connections (a wire slot), right before its request
is written, so at most a pool's worth of sends can be in doubt: those Graph
was answering, and the few between the mark and the write, which the kill
may cut off before Meta reads them (the process cannot know which).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.testing import SidecarProcess, signature, webhook_body

pytestmark = pytest.mark.integration

SIZE = 3_000
CAMPAIGN_ENV = {
    "WA_SIDECAR_SEND_RATE": "1000",
    "WA_SIDECAR_BATCH_CHUNK_SIZE": "1000",
    "WA_SIDECAR_BATCH_MAX_IN_FLIGHT": "256",
    "WA_SIDECAR_GRAPH_POOL_SIZE": str(POOL := 64),
    "WA_SIDECAR_OWNER_LEASE_TTL": "1.0",
    "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL": "0.3",
}
LATENCY_MS = 100  # Graph's answer time: ~64 sends on the wire, the rest wait


def campaign() -> list[send_pb2.SendRequest]:
    return [
        send_pb2.SendRequest(
            idempotency_key=f"camp-{i}",
            to=f"+1650555{1000 + i:04d}",
            category=common_pb2.CATEGORY_AUTHENTICATION,
            template=send_pb2.Template(
                name="otp", language=send_pb2.TemplateLanguage(code="en_US")
            ),
        )
        for i in range(SIZE)
    ]


async def stream(requests: list[send_pb2.SendRequest]) -> AsyncIterator[send_pb2.SendRequest]:
    for request in requests:
        yield request


async def test_kill_9_mid_campaign_then_resend_sends_nobody_twice(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.configure({"throughput_enabled": False, "latency_ms": LATENCY_MS})
    requests = campaign()
    async with SidecarProcess(tmp_path, CAMPAIGN_ENV, graph_url=simulator.url) as first:
        stub = send_pb2_grpc.SendServiceStub(first.channel)
        call = stub.SendBatch(stream(requests))
        await simulator.state.wait_received(SIZE // 2)
        stats = simulator.state.stats
        open_at_kill = stats.received - stats.accepted - stats.rejected  # Graph still answering
        first.kill()
        with pytest.raises(grpc.aio.AioRpcError):
            async for _ in call:
                pass
    # What the dead process wrote before dying is read and answered still.
    deadline = time.monotonic() + 10
    while simulator.state.stats.received != simulator.state.stats.accepted:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    before = simulator.state.stats.accepted
    assert SIZE // 2 <= before < SIZE
    reached_meta = {m.biz_opaque_callback_data for m in simulator.state.messages}

    async with SidecarProcess(tmp_path, first.env, graph_url=simulator.url) as second:
        stub = send_pb2_grpc.SendServiceStub(second.channel)
        replies = {r.idempotency_key: r async for r in stub.SendBatch(stream(requests))}
        assert len(replies) == SIZE
        outcomes = {r.outcome for r in replies.values()}
        assert outcomes <= {send_pb2.OUTCOME_SENT, send_pb2.OUTCOME_IN_DOUBT}, outcomes

        stats = simulator.state.stats
        assert max(stats.accepted_by_recipient.values()) == 1  # nobody got two
        by_key = {m.biz_opaque_callback_data: m for m in simulator.state.messages}
        for key, reply in replies.items():
            if reply.outcome == send_pb2.OUTCOME_SENT:
                assert by_key[key].wamid == reply.message_id
        in_doubt = sorted(k for k, r in replies.items() if r.outcome == send_pb2.OUTCOME_IN_DOUBT)
        # On the wire at the crash: reached Graph, yet no outcome was recorded.
        on_wire = reached_meta - {
            k for k, r in replies.items() if r.outcome == send_pb2.OUTCOME_SENT
        }
        cut_off = set(in_doubt) - on_wire  # marked in flight, killed before Meta read it
        print(
            f"\ncrash mid-campaign: {len(in_doubt)} in doubt, {len(on_wire)} reached Graph"
            f" unanswered, {len(cut_off)} cut off between the mark and the write"
            f" ({open_at_kill} awaiting Graph's answer at the kill; {POOL} wire slots)"
        )
        # Nothing that waited for a connection: only what held a wire slot.
        assert len(in_doubt) <= POOL
        listed = await stub.ListInDoubt(send_pb2.ListInDoubtRequest(page_size=1000))
        assert sorted(s.idempotency_key for s in listed.sends) == in_doubt

        # Meta's status webhooks carry the keys of what it accepted back.
        accepted = [by_key[k] for k in in_doubt if k in by_key]
        if accepted:
            items = [
                status_item(
                    m.wamid, "sent", m.wa_id, int(time.time()), biz_opaque_callback_data=key
                )
                for m in accepted
                for key in [m.biz_opaque_callback_data]
            ]
            body = webhook_body(*items, kind="statuses")
            verify = verify_pb2_grpc.VerifyServiceStub(second.channel)
            result = await verify.VerifyWebhook(
                verify_pb2.WebhookRequest(body=body, signature=signature(body))
            )
            assert result.valid
        for m in accepted:
            key = m.biz_opaque_callback_data or ""
            status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key=key))
            assert status.response.outcome == send_pb2.OUTCOME_SENT
            assert status.response.message_id == m.wamid
        # What never reached Meta has no webhook: it stays listed for review.
        never_accepted = sorted(k for k in in_doubt if k not in by_key)
        listed = await stub.ListInDoubt(send_pb2.ListInDoubtRequest(page_size=1000))
        assert sorted(s.idempotency_key for s in listed.sends) == never_accepted
    sent = sum(r.outcome == send_pb2.OUTCOME_SENT for r in replies.values())
    assert stats.accepted == sent + len(accepted)
