"""Enqueue, the outbox dispatcher and GetSendStatus over real gRPC and processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import Embedded, SidecarProcess, start_embedded

pytestmark = pytest.mark.integration

TO = "+16505551234"
OTHER = "+14155550123"
PAUSED = {"WA_SIDECAR_OUTBOX_DISPATCH": "false"}
PACED = {"WA_SIDECAR_SEND_RATE": "80", "WA_SIDECAR_SEND_BURST": "80"}


def auth(key: str, to: str = TO, **kw: object) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
        **kw,
    )


async def settled(
    stub: send_pb2_grpc.SendServiceStub,
    key: str,
    done: Callable[[send_pb2.GetSendStatusResponse], bool] = lambda s: (
        s.response.outcome != send_pb2.OUTCOME_QUEUED
    ),
    timeout: float = 15.0,
) -> send_pb2.GetSendStatusResponse:
    """Wait (on the answer, with a deadline) until ``key``'s status satisfies ``done``."""
    deadline = time.monotonic() + timeout
    while True:
        status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key=key))
        if status.found and done(status):
            return status
        assert time.monotonic() < deadline, f"{key} never settled: {status}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def paused(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    """An embedded sidecar that accepts Enqueue but leaves dispatch to others."""
    embedded, stop, task = await start_embedded(tmp_path, simulator.url, **PAUSED)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


async def test_enqueue_answers_queued_then_the_dispatcher_sends_it(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    reply = await sidecar.send.Enqueue(auth("enq-1"))
    assert (reply.idempotency_key, reply.outcome) == ("enq-1", send_pb2.OUTCOME_QUEUED)
    status = await settled(sidecar.send, "enq-1")
    assert status.response.outcome == send_pb2.OUTCOME_SENT, status
    [message] = simulator.state.messages_to(TO)
    assert status.response.message_id == message.wamid
    assert message.biz_opaque_callback_data == "enq-1"
    assert status.response.attempts == 1


async def test_a_repeated_enqueue_answers_the_stored_outcome_and_sends_once(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await sidecar.send.Enqueue(auth("enq-rep"))
    sent = await settled(sidecar.send, "enq-rep")
    again = await sidecar.send.Enqueue(auth("enq-rep"))
    assert again.outcome == send_pb2.OUTCOME_SENT
    assert sent.response.outcome == send_pb2.OUTCOME_SENT
    assert simulator.state.stats.received == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.Enqueue(auth("enq-rep", to=OTHER))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # Send and Enqueue share the key space and the fingerprint.
    assert (await sidecar.send.Send(auth("enq-rep"))).message_id == sent.response.message_id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.Send(auth("enq-rep", to=OTHER))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_enqueue_needs_a_key_and_a_valid_request(sidecar: Embedded) -> None:
    cases = [(auth(""), "idempotency_key"), (auth("k", to="12345"), "to")]
    for request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await sidecar.send.Enqueue(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(field + ":"), err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.GetSendStatus(send_pb2.GetSendStatusRequest())
    assert err.value.details().startswith("idempotency_key:")


async def test_unknown_keys_are_not_found(sidecar: Embedded) -> None:
    status = await sidecar.send.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="no"))
    assert not status.found


async def test_a_dispatched_send_that_policy_refuses_is_final(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    request = auth("enq-mkt")
    request.category = common_pb2.CATEGORY_MARKETING
    assert (await sidecar.send.Enqueue(request)).outcome == send_pb2.OUTCOME_QUEUED
    status = await settled(sidecar.send, "enq-mkt")
    assert status.response.outcome == send_pb2.OUTCOME_REJECTED
    assert status.response.decision.reason == common_pb2.REASON_NO_CONSENT
    assert simulator.state.stats.received == 0


async def test_dry_run_enqueue_decides_and_queues_nothing(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    reply = await sidecar.send.Enqueue(auth("enq-dry", dry_run=True))
    assert reply.outcome == send_pb2.OUTCOME_DRY_RUN
    refused = auth("enq-dry-mkt", dry_run=True)
    refused.category = common_pb2.CATEGORY_MARKETING
    reply = await sidecar.send.Enqueue(refused)
    assert reply.outcome == send_pb2.OUTCOME_REJECTED
    assert reply.decision.reason == common_pb2.REASON_NO_CONSENT
    for key in ("enq-dry", "enq-dry-mkt"):
        status = await sidecar.send.GetSendStatus(
            send_pb2.GetSendStatusRequest(idempotency_key=key)
        )
        assert not status.found
    assert simulator.state.stats.received == 0


async def test_queued_requests_hold_no_number_in_plaintext(
    tmp_path: Path, paused: Embedded, simulator: SimulatorHandle
) -> None:
    for i in range(5):
        reply = await paused.send.Enqueue(auth(f"enq-pt-{i}"))
        assert reply.outcome == send_pb2.OUTCOME_QUEUED
    again = await paused.send.Enqueue(auth("enq-pt-0"))
    assert again.outcome == send_pb2.OUTCOME_QUEUED
    status = await paused.send.GetSendStatus(
        send_pb2.GetSendStatusRequest(idempotency_key="enq-pt-0")
    )
    assert status.found and status.response.outcome == send_pb2.OUTCOME_QUEUED
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert b"enq-pt-4" in stored  # the rows are there …
    assert TO[1:].encode() not in stored  # … without the number
    assert simulator.state.stats.received == 0


async def test_enqueued_work_survives_kill_9_and_is_sent_exactly_once(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    keys = [f"enq-kill-{i}" for i in range(20)]
    numbers = [f"+1650555{2000 + i:04d}" for i in range(20)]
    async with SidecarProcess(tmp_path, PAUSED, graph_url=simulator.url) as first:
        stub = send_pb2_grpc.SendServiceStub(first.channel)
        replies = await asyncio.gather(
            *(stub.Enqueue(auth(k, to=n)) for k, n in zip(keys, numbers, strict=True))
        )
        assert {r.outcome for r in replies} == {send_pb2.OUTCOME_QUEUED}
        first.kill()
    assert simulator.state.stats.received == 0
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as second:
        stub = send_pb2_grpc.SendServiceStub(second.channel)
        for key in keys:
            status = await settled(stub, key)
            assert status.response.outcome == send_pb2.OUTCOME_SENT, status
    assert simulator.state.stats.accepted == 20
    assert set(simulator.state.stats.accepted_by_recipient.values()) == {1}


async def test_claimed_work_that_waited_on_quota_at_a_kill_9_is_sent_not_in_doubt(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    keys = [f"enq-wait-{i}" for i in range(20)]
    slow = {
        "WA_SIDECAR_SEND_RATE": "1",  # all claimed at once; one leaves per second
        "WA_SIDECAR_SEND_BURST": "1",
        "WA_SIDECAR_OWNER_LEASE_TTL": "1.0",
        "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL": "0.3",
    }
    async with SidecarProcess(tmp_path, slow, graph_url=simulator.url) as first:
        stub = send_pb2_grpc.SendServiceStub(first.channel)
        for i, key in enumerate(keys):
            await stub.Enqueue(auth(key, to=f"+1650555{5000 + i:04d}"))
        await simulator.state.wait_received(2)
        first.kill()
    reached = {m.biz_opaque_callback_data for m in simulator.state.messages}
    async with SidecarProcess(tmp_path, first.env | PACED, graph_url=simulator.url) as second:
        stub = send_pb2_grpc.SendServiceStub(second.channel)
        outcomes = {k: (await settled(stub, k)).response.outcome for k in keys}
    in_doubt = {k for k, o in outcomes.items() if o == send_pb2.OUTCOME_IN_DOUBT}
    assert in_doubt <= reached  # only what was on the wire
    assert all(o == send_pb2.OUTCOME_SENT for k, o in outcomes.items() if k not in in_doubt)
    assert set(simulator.state.stats.accepted_by_recipient.values()) == {1}


async def test_shutdown_finishes_claimed_sends_and_leaves_the_rest_queued(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    keys = [f"enq-drain-{i}" for i in range(12)]
    simulator.state.add_fault(FaultRule(latency_ms=300))
    narrow = {"WA_SIDECAR_BATCH_MAX_IN_FLIGHT": "2"}
    async with SidecarProcess(tmp_path, narrow, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        for i, key in enumerate(keys):
            await stub.Enqueue(auth(key, to=f"+1650555{3000 + i:04d}"))
        await simulator.state.wait_received(1)
        assert await proc.stop() == 0  # SIGTERM: drain
    simulator.state.clear_faults()
    async with SidecarProcess(tmp_path, PAUSED, graph_url=simulator.url) as after:
        stub = send_pb2_grpc.SendServiceStub(after.channel)
        outcomes = [
            (
                await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key=k))
            ).response.outcome
            for k in keys
        ]
    sent = outcomes.count(send_pb2.OUTCOME_SENT)
    assert 1 <= sent <= 4, outcomes  # what was claimed (≤ 2 at a time) finished
    assert outcomes.count(send_pb2.OUTCOME_QUEUED) == len(keys) - sent
    assert simulator.state.stats.accepted == sent


async def test_grant_then_enqueue_marketing_is_sent(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await sidecar.consent.Grant(
        consent_pb2.GrantRequest(
            phone_number=TO,
            categories=[common_pb2.CATEGORY_MARKETING],
            source="web-form",
            notice_version="v3",
            jurisdiction=consent_pb2.JURISDICTION_GDPR,
            evidence="form-1",
        )
    )
    request = auth("enq-mkt-ok")
    request.category = common_pb2.CATEGORY_MARKETING
    await sidecar.send.Enqueue(request)
    status = await settled(sidecar.send, "enq-mkt-ok")
    assert status.response.outcome == send_pb2.OUTCOME_SENT
    assert len(simulator.state.messages_to(TO)) == 1
