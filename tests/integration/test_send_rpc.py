"""SendService over real gRPC against the simulator: policy, retries, idempotency."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import Embedded, inbound_text, signature

pytestmark = pytest.mark.integration

TO = "+16505551234"
WA_ID = "16505551234"
OTHER = "+14155550123"


def template(
    to: str = TO, key: str = "", category: int = common_pb2.CATEGORY_MARKETING, **kw: object
) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=category,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en_US")),
        **kw,
    )


async def grant(sidecar: Embedded, to: str = TO, *cats: int) -> None:
    await sidecar.consent.Grant(
        consent_pb2.GrantRequest(
            phone_number=to,
            categories=list(cats or (common_pb2.CATEGORY_MARKETING,)),
            source="web-form",
            notice_version="v3",
            jurisdiction=consent_pb2.JURISDICTION_GDPR,
            evidence="form-123",
        )
    )


async def test_marketing_needs_consent_then_sends(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    refused = await sidecar.send.Send(template())
    assert refused.outcome == send_pb2.OUTCOME_REJECTED
    assert refused.decision.reason == common_pb2.REASON_NO_CONSENT
    assert simulator.state.stats.received == 0
    await grant(sidecar)
    sent = await sidecar.send.Send(template(key="k-1"))
    assert sent.outcome == send_pb2.OUTCOME_SENT, sent
    assert sent.message_id.startswith("wamid.")
    assert sent.attempts == 1
    [record] = simulator.state.messages_to(TO)
    assert record.biz_opaque_callback_data == "k-1"


async def test_authentication_needs_no_opt_in_by_default(sidecar: Embedded) -> None:
    reply = await sidecar.send.Send(template(category=common_pb2.CATEGORY_AUTHENTICATION))
    assert reply.outcome == send_pb2.OUTCOME_SENT


async def test_free_form_only_inside_the_service_window(sidecar: Embedded) -> None:
    text = send_pb2.SendRequest(
        to=TO, category=common_pb2.CATEGORY_SERVICE, text=send_pb2.TextBody(body="hi")
    )
    refused = await sidecar.send.Send(text)
    assert refused.decision.reason == common_pb2.REASON_OUTSIDE_SERVICE_WINDOW
    body = inbound_text(WA_ID, "hello there")
    from sidecar.api._gen.wasidecar.v1 import verify_pb2

    await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body))
    )
    assert (await sidecar.send.Send(text)).outcome == send_pb2.OUTCOME_SENT


async def test_check_consumes_no_quota_and_sends_nothing(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    for _ in range(200):
        decision = await sidecar.send.Check(template())
        assert decision.allowed
    assert simulator.state.stats.received == 0


async def test_eight_concurrent_identical_calls_make_one_graph_call(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(latency_ms=200, count=1))
    replies = await asyncio.gather(*(sidecar.send.Send(template(key="same")) for _ in range(8)))
    assert {r.outcome for r in replies} == {send_pb2.OUTCOME_SENT}
    assert len({r.message_id for r in replies}) == 1
    assert simulator.state.stats.received == 1
    again = await sidecar.send.Send(template(key="same"))
    assert again.message_id == replies[0].message_id
    assert simulator.state.stats.received == 1


async def test_reused_key_with_other_content_is_failed_precondition(sidecar: Embedded) -> None:
    await grant(sidecar)
    await grant(sidecar, OTHER)
    await sidecar.send.Send(template(key="dup"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.Send(template(to=OTHER, key="dup"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_transient_errors_are_retried_then_sent(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(code=131000, count=2))
    reply = await sidecar.send.Send(template())
    assert (reply.outcome, reply.attempts) == (send_pb2.OUTCOME_SENT, 3)


async def test_permanent_recipient_errors_are_not_retried(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(code=131026))
    reply = await sidecar.send.Send(template())
    assert reply.outcome == send_pb2.OUTCOME_FAILED
    assert reply.attempts == 1
    assert reply.error.code == 131026
    assert reply.error.error_class == common_pb2.ERROR_CLASS_RECIPIENT
    assert not reply.error.retryable
    assert TO not in reply.error.message


async def test_retries_exhausted_dead_letters(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(code=131016))
    reply = await sidecar.send.Send(template())
    assert reply.outcome == send_pb2.OUTCOME_DEAD_LETTERED
    assert reply.attempts == 4  # first try + 3 retries
    assert reply.error.retryable


async def test_expired_token_is_refreshed_once_and_the_send_succeeds(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(code=190, count=1))
    reply = await sidecar.send.Send(template())
    assert reply.outcome == send_pb2.OUTCOME_SENT
    assert reply.attempts == 2
    assert sidecar.runtime.tokens.refreshes == 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (send_pb2.SendRequest(category=1, text=send_pb2.TextBody(body="x")), "to"),
        (send_pb2.SendRequest(to="12345", category=1, text=send_pb2.TextBody(body="x")), "to"),
        (send_pb2.SendRequest(to=TO, text=send_pb2.TextBody(body="x")), "category"),
        (send_pb2.SendRequest(to=TO, category=99, text=send_pb2.TextBody(body="x")), "category"),
        (
            send_pb2.SendRequest(
                to=TO,
                category=1,
                text=send_pb2.TextBody(body="x"),
                template=send_pb2.Template(name="t"),
            ),
            "text",
        ),
        (
            send_pb2.SendRequest(to=TO, category=1, text=send_pb2.TextBody(body="x" * 5000)),
            "text.body",
        ),
        (send_pb2.SendRequest(to=TO, category=1, message_json="{not json"), "message_json"),
        (
            send_pb2.SendRequest(
                to=TO, category=1, message_json='{"type":"text","x":"' + "a" * 70000 + '"}'
            ),
            "message_json",
        ),
        (
            send_pb2.SendRequest(to=TO, category=1, message_json='{"type":"text","to":"+1"}'),
            "message_json",
        ),
        (send_pb2.SendRequest(to=TO, category=1), "text"),
        (
            send_pb2.SendRequest(to=TO, category=1, template=send_pb2.Template(name="t")),
            "template.language.code",
        ),
    ],
)
async def test_bad_requests_name_the_field(
    sidecar: Embedded, request_: send_pb2.SendRequest, field: str
) -> None:
    for method in (sidecar.send.Send, sidecar.send.Check):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await method(request_)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(field + ":"), err.value.details()


async def test_classify_exposes_the_table(sidecar: Embedded) -> None:
    body = b'{"error":{"message":"(#131056) pair","type":"OAuthException","code":131056}}'
    c = await sidecar.send.Classify(send_pb2.ClassifyRequest(http_status=400, body=body))
    assert (c.error_class, c.retryable, c.code) == (common_pb2.ERROR_CLASS_THROTTLED, True, 131056)
    c = await sidecar.send.Classify(send_pb2.ClassifyRequest(network_error="timeout"))
    assert c.error_class == common_pb2.ERROR_CLASS_TRANSIENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.send.Classify(send_pb2.ClassifyRequest(http_status=0))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_classify_reads_a_code_beyond_32_bits_as_unknown(sidecar: Embedded) -> None:
    """Found by fuzzing: such a code used to end the call with INTERNAL."""
    body = b'{"error":{"message":"odd","code":2147483648,"error_subcode":4294967296}}'
    c = await sidecar.send.Classify(send_pb2.ClassifyRequest(http_status=400, body=body))
    unknown = await sidecar.send.Classify(
        send_pb2.ClassifyRequest(http_status=400, body=b'{"error":{"message":"odd"}}')
    )
    assert c == unknown
    assert c.code == 0


async def test_a_graph_code_beyond_32_bits_is_answered_and_stored(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    await grant(sidecar)
    simulator.state.add_fault(FaultRule(code=2**31, error_subcode=2**32, http_status=400))
    reply = await sidecar.send.Send(template(key="huge-code"))
    assert reply.outcome == send_pb2.OUTCOME_FAILED
    assert (reply.error.code, reply.error.subcode, reply.error.http_status) == (0, 0, 400)
    status = await sidecar.send.GetSendStatus(
        send_pb2.GetSendStatusRequest(idempotency_key="huge-code")
    )
    assert status.response.error == reply.error


async def test_send_batch_answers_every_request(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    numbers = [f"+1650555{1000 + i:04d}" for i in range(50)]
    for n in numbers:
        await grant(sidecar, n)

    async def requests():  # type: ignore[no-untyped-def]
        for i, n in enumerate(numbers):
            yield template(to=n, key=f"batch-{i}")
        yield template(to="not-a-number", key="bad-one")

    replies = [r async for r in sidecar.send.SendBatch(requests())]
    by_key = {r.idempotency_key: r for r in replies}
    assert len(replies) == 51
    assert by_key["bad-one"].decision.reason == common_pb2.REASON_INVALID_NUMBER
    assert sum(r.outcome == send_pb2.OUTCOME_SENT for r in replies) == 50
    assert simulator.state.stats.received == 50
