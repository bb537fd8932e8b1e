"""SERVICE means a free-form reply inside the window (SPEC §4.4), over real gRPC.

A template carries its Meta category (MARKETING, UTILITY, AUTHENTICATION):
sent as SERVICE it would pass neither the consent nor the window check, so
every entry point answers it with INVALID_ARGUMENT naming ``category`` and
nothing reaches Graph. A free-form SERVICE reply still needs the window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, verify_pb2
from sidecar.api.convert_send import send_command
from sidecar.policy.types import Category
from sidecar.simulator import SimulatorHandle
from sidecar.testing import Embedded, inbound_text, signature

pytestmark = pytest.mark.integration

TO, WA_ID = "+16505551234", "16505551234"
SERVICE = common_pb2.CATEGORY_SERVICE


def service_template(key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=TO,
        category=SERVICE,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


def service_template_json(key: str = "") -> send_pb2.SendRequest:
    message = {"type": "template", "template": {"name": "promo", "language": {"code": "en"}}}
    return send_pb2.SendRequest(
        idempotency_key=key, to=TO, category=SERVICE, message_json=json.dumps(message)
    )


def service_text(key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key, to=TO, category=SERVICE, text=send_pb2.TextBody(body="your order")
    )


async def invalid_category(call: Awaitable[object]) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    assert details.startswith("category: SERVICE is for free-form replies"), details
    assert "MARKETING, UTILITY or AUTHENTICATION" in details


@pytest.mark.parametrize("build", [service_template, service_template_json])
async def test_a_template_sent_as_service_is_invalid_on_every_entry_point(
    sidecar: Embedded, simulator: SimulatorHandle, build: Callable[[str], send_pb2.SendRequest]
) -> None:
    await invalid_category(sidecar.send.Send(build("s-1")))
    await invalid_category(sidecar.send.Check(build("")))
    await invalid_category(sidecar.send.Enqueue(build("e-1")))

    async def one() -> AsyncIterator[send_pb2.SendRequest]:
        yield build("b-1")

    [answer] = [r async for r in sidecar.send.SendBatch(one())]
    assert answer.outcome == send_pb2.OUTCOME_REJECTED
    assert answer.decision.reason == common_pb2.REASON_INVALID_REQUEST
    assert answer.decision.detail.startswith("category:")
    assert simulator.state.stats.received == 0


async def test_free_form_service_still_needs_the_window(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    decision = await sidecar.send.Check(service_text())
    assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OUTSIDE_SERVICE_WINDOW)
    refused = await sidecar.send.Send(service_text("t-1"))
    assert refused.decision.reason == common_pb2.REASON_OUTSIDE_SERVICE_WINDOW
    assert simulator.state.stats.received == 0
    body = inbound_text(WA_ID, "where is my order?")
    await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert (await sidecar.send.Check(service_text())).allowed
    assert (await sidecar.send.Send(service_text("t-2"))).outcome == send_pb2.OUTCOME_SENT


async def test_a_service_template_queued_before_the_rule_is_refused_not_sent(
    sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    """An outbox record written before the edge refused SERVICE templates (the
    request is queued behind the edge, as an older release did) is refused by
    the dispatcher's decision, not sent."""
    otp = send_pb2.SendRequest(
        idempotency_key="old-1",
        to=TO,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )
    cmd = send_command(otp, sidecar.settings.phone_number_id, key_required=True)
    queued = await sidecar.runtime.outbox.enqueue(
        dataclasses.replace(cmd, category=Category.SERVICE)
    )
    assert queued.outcome.value == "queued"
    deadline = time.monotonic() + 15
    while True:
        status = await sidecar.send.GetSendStatus(
            send_pb2.GetSendStatusRequest(idempotency_key="old-1")
        )
        if status.found and status.response.outcome != send_pb2.OUTCOME_QUEUED:
            break
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.02)
    assert status.response.outcome == send_pb2.OUTCOME_REJECTED
    assert status.response.decision.reason == common_pb2.REASON_INVALID_REQUEST
    assert status.response.decision.detail.startswith("category:")
    assert simulator.state.stats.received == 0
