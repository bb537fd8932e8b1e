"""Dead letters and in-doubt sends over real gRPC: list, requeue, resolve by webhook."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.testing import Embedded, SidecarProcess, signature, webhook_body

pytestmark = pytest.mark.integration

TO = "+16505551234"
# A killed replica's sends are in doubt once its owner lease lapsed: short here.
LEASE_ENV = {"WA_SIDECAR_OWNER_LEASE_TTL": "1.0", "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL": "0.3"}


async def listed_in_doubt(
    stub: send_pb2_grpc.SendServiceStub, count: int
) -> list[send_pb2.InDoubtSend]:
    """ListInDoubt once it lists ``count`` sends (the dead owner's lease lapses first)."""
    deadline = time.monotonic() + 15
    while True:
        page = await stub.ListInDoubt(send_pb2.ListInDoubtRequest())
        if len(page.sends) >= count or time.monotonic() > deadline:
            return list(page.sends)
        await asyncio.sleep(0.1)


def auth(key: str, to: str = TO) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def dead_letters(stub: send_pb2_grpc.SendServiceStub) -> list[send_pb2.DeadLetter]:
    page = await stub.ListDeadLetters(send_pb2.ListDeadLettersRequest())
    return list(page.dead_letters)


async def test_a_dead_letter_is_listed_then_requeued_under_a_derived_key(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(code=131016))  # service unavailable, persistently
    reply = await sidecar.send.Send(auth("dl-1"))
    assert reply.outcome == send_pb2.OUTCOME_DEAD_LETTERED
    [letter] = await dead_letters(sidecar.send)
    assert (letter.idempotency_key, letter.attempts) == ("dl-1", 4)
    assert letter.to_masked == "+1650•••1234"
    assert letter.category == common_pb2.CATEGORY_AUTHENTICATION
    assert (letter.error.code, letter.error.retryable) == (131016, True)
    assert letter.error.error_class == common_pb2.ERROR_CLASS_TRANSIENT
    assert letter.created_at.seconds > 0

    # Still failing: the requeued send dead-letters again, under dl-1#r1.
    again = await sidecar.send.RequeueDeadLetter(send_pb2.RequeueDeadLetterRequest(id=letter.id))
    assert again.requeued
    assert again.response.idempotency_key == "dl-1#r1"
    assert again.response.outcome == send_pb2.OUTCOME_DEAD_LETTERED
    [second] = await dead_letters(sidecar.send)
    assert second.idempotency_key == "dl-1#r1"

    simulator.state.clear_faults()
    sent = await sidecar.send.RequeueDeadLetter(send_pb2.RequeueDeadLetterRequest(id=second.id))
    assert sent.requeued
    assert (sent.response.idempotency_key, sent.response.outcome) == (
        "dl-1#r2",
        send_pb2.OUTCOME_SENT,
    )
    [message] = simulator.state.messages_to(TO)
    assert message.biz_opaque_callback_data == "dl-1#r2"
    assert await dead_letters(sidecar.send) == []
    original = await sidecar.send.GetSendStatus(
        send_pb2.GetSendStatusRequest(idempotency_key="dl-1")
    )
    assert original.response.outcome == send_pb2.OUTCOME_DEAD_LETTERED  # history stays
    requeued = await sidecar.send.GetSendStatus(
        send_pb2.GetSendStatusRequest(idempotency_key="dl-1#r2")
    )
    assert requeued.response.message_id == message.wamid

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.RequeueDeadLetter(send_pb2.RequeueDeadLetterRequest(id=second.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_requeue_that_policy_refuses_keeps_the_dead_letter(
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
    simulator.state.add_fault(FaultRule(code=131016))
    request = auth("dl-revoked")
    request.category = common_pb2.CATEGORY_MARKETING
    assert (await sidecar.send.Send(request)).outcome == send_pb2.OUTCOME_DEAD_LETTERED
    [letter] = await dead_letters(sidecar.send)
    simulator.state.clear_faults()
    await sidecar.consent.Revoke(consent_pb2.RevokeRequest(phone_number=TO, source="support"))
    reply = await sidecar.send.RequeueDeadLetter(send_pb2.RequeueDeadLetterRequest(id=letter.id))
    assert not reply.requeued
    assert reply.response.outcome == send_pb2.OUTCOME_REJECTED
    assert reply.response.decision.reason == common_pb2.REASON_OPTED_OUT
    assert [d.id for d in await dead_letters(sidecar.send)] == [letter.id]
    assert simulator.state.stats.accepted == 0


async def test_dead_letters_page_by_id(sidecar: Embedded, simulator: SimulatorHandle) -> None:
    simulator.state.add_fault(FaultRule(code=131016))
    for i in range(5):
        await sidecar.send.Send(auth(f"dl-page-{i}", to=f"+1650555{4000 + i:04d}"))
    seen: list[str] = []
    token = ""
    while True:
        page = await sidecar.send.ListDeadLetters(
            send_pb2.ListDeadLettersRequest(page_size=2, page_token=token)
        )
        seen += [d.idempotency_key for d in page.dead_letters]
        assert len(page.dead_letters) <= 2
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == [f"dl-page-{i}" for i in range(5)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.ListDeadLetters(send_pb2.ListDeadLettersRequest(page_size=-1))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_send_cut_off_by_kill_9_is_in_doubt_until_its_status_webhook(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(to=TO, latency_ms=800, count=1))
    async with SidecarProcess(tmp_path, LEASE_ENV, graph_url=simulator.url) as first:
        stub = send_pb2_grpc.SendServiceStub(first.channel)
        call = asyncio.ensure_future(stub.Send(auth("doubt-1")))
        await simulator.state.wait_received(1)  # on the wire, not answered yet
        first.kill()
        with pytest.raises(grpc.aio.AioRpcError):
            await call
    deadline = time.monotonic() + 10
    while not simulator.state.messages_to(TO):  # Meta accepts it after all
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    [message] = simulator.state.messages_to(TO)

    async with SidecarProcess(tmp_path, first.env, graph_url=simulator.url) as second:
        stub = send_pb2_grpc.SendServiceStub(second.channel)
        [doubt] = await listed_in_doubt(stub, 1)
        assert (doubt.idempotency_key, doubt.to_masked) == ("doubt-1", "+1650•••1234")
        assert doubt.category == common_pb2.CATEGORY_AUTHENTICATION
        repeat = await stub.Send(auth("doubt-1"))
        assert repeat.outcome == send_pb2.OUTCOME_IN_DOUBT  # never resent blindly
        status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="doubt-1"))
        assert status.response.outcome == send_pb2.OUTCOME_IN_DOUBT
        assert simulator.state.stats.received == 1

        item = status_item(
            message.wamid,
            "sent",
            message.wa_id,
            int(time.time()),
            biz_opaque_callback_data="doubt-1",
        )
        body = webhook_body(item, kind="statuses")
        verify = verify_pb2_grpc.VerifyServiceStub(second.channel)
        result = await verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=signature(body))
        )
        assert result.valid and result.events[0].status.idempotency_key == "doubt-1"

        status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="doubt-1"))
        assert status.response.outcome == send_pb2.OUTCOME_SENT
        assert status.response.message_id == message.wamid
        assert status.delivery_status == "sent"
        assert not (await stub.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
        assert (await stub.Send(auth("doubt-1"))).outcome == send_pb2.OUTCOME_SENT
    assert simulator.state.stats.received == 1


async def test_a_person_resolves_in_doubt_sends_whose_webhook_never_comes(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    other = "+16505550000"
    simulator.state.add_fault(FaultRule(to=TO, latency_ms=800, count=1))
    simulator.state.add_fault(FaultRule(to=other, latency_ms=800, count=1))
    async with SidecarProcess(tmp_path, LEASE_ENV, graph_url=simulator.url) as first:
        stub = send_pb2_grpc.SendServiceStub(first.channel)
        calls = [
            asyncio.ensure_future(stub.Send(auth("doubt-a"))),
            asyncio.ensure_future(stub.Send(auth("doubt-b", to=other))),
        ]
        await simulator.state.wait_received(2)  # both on the wire, neither answered
        first.kill()
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError):
                await call

    async with SidecarProcess(tmp_path, first.env, graph_url=simulator.url) as second:
        stub = send_pb2_grpc.SendServiceStub(second.channel)
        listed = await listed_in_doubt(stub, 2)
        assert [s.idempotency_key for s in listed] == ["doubt-a", "doubt-b"]

        def resolve(key: str, resolution: int, message_id: str = "") -> Any:
            return stub.ResolveInDoubt(
                send_pb2.ResolveInDoubtRequest(
                    idempotency_key=key, resolution=resolution, message_id=message_id
                )
            )

        bad = [
            (("doubt-a", send_pb2.IN_DOUBT_RESOLUTION_UNSPECIFIED), "resolution"),
            (("doubt-a", send_pb2.IN_DOUBT_RESOLUTION_NOT_SENT, "wamid.X"), "message_id"),
            (("", send_pb2.IN_DOUBT_RESOLUTION_SENT), "idempotency_key"),
        ]
        for args, field in bad:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await resolve(*args)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field in (err.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await resolve("no-such-key", send_pb2.IN_DOUBT_RESOLUTION_SENT)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND

        not_sent = await resolve("doubt-a", send_pb2.IN_DOUBT_RESOLUTION_NOT_SENT)
        assert not_sent.outcome == send_pb2.OUTCOME_FAILED
        assert not not_sent.error.retryable
        assert not_sent.error.error_class == common_pb2.ERROR_CLASS_PERMANENT
        sent = await resolve("doubt-b", send_pb2.IN_DOUBT_RESOLUTION_SENT, "wamid.B")
        assert (sent.outcome, sent.message_id) == (send_pb2.OUTCOME_SENT, "wamid.B")

        assert not (await stub.ListInDoubt(send_pb2.ListInDoubtRequest())).sends
        # The keys answer what was resolved, without sending again.
        assert (await stub.Send(auth("doubt-a"))).outcome == send_pb2.OUTCOME_FAILED
        again = await stub.Send(auth("doubt-b", to=other))
        assert (again.outcome, again.message_id) == (send_pb2.OUTCOME_SENT, "wamid.B")
        status = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="doubt-a"))
        assert status.response.outcome == send_pb2.OUTCOME_FAILED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await resolve("doubt-a", send_pb2.IN_DOUBT_RESOLUTION_SENT)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "finished" in (err.value.details() or "")
    assert simulator.state.stats.received == 2


async def test_a_send_cut_off_by_its_callers_deadline_does_not_stay_in_flight(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(to=TO, latency_ms=3000, count=1))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.Send(auth("deadline-1"), timeout=0.5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert simulator.state.stats.received == 1  # it was on the wire: maybe sent
    # Not left IN_FLIGHT under this live process forever: in doubt, for review.
    [doubt] = await listed_in_doubt(sidecar.send, 1)
    assert doubt.idempotency_key == "deadline-1"
    repeat = await sidecar.send.Send(auth("deadline-1"))
    assert repeat.outcome == send_pb2.OUTCOME_IN_DOUBT  # never resent blindly
    assert simulator.state.stats.received == 1
