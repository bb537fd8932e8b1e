"""Meta's wa_id is authoritative for inbound events (SPEC §4.5, §4.9), on a real process.

A STOP is recorded under the number Meta names even when ``phonenumbers``
calls it invalid, and Brazil's legacy 12-digit mobile ids (no ninth digit)
are the same subject as the 13-digit number the business sends to.
"""

from __future__ import annotations

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
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess, inbound_text, signature

pytestmark = pytest.mark.integration

LEGACY = "551187654321"  # 55 + area 11 + 8-digit mobile, as older accounts' wa_id
CURRENT = "+5511987654321"  # the same person with the ninth digit


def _template(to: str, category: int = common_pb2.CATEGORY_MARKETING) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=category,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="pt_BR")),
    )


def _text(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to, category=common_pb2.CATEGORY_SERVICE, text=send_pb2.TextBody(body="Olá")
    )


@pytest.fixture
async def proc(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[SidecarProcess]:
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as p:
        yield p


async def _deliver(proc: SidecarProcess, wa_id: str, text: str) -> verify_pb2.WebhookResult:
    body = inbound_text(wa_id, text)
    result: verify_pb2.WebhookResult = await verify_pb2_grpc.VerifyServiceStub(
        proc.channel
    ).VerifyWebhook(verify_pb2.WebhookRequest(body=body, signature=signature(body)))
    assert result.valid
    return result


async def test_a_stop_from_a_legacy_brazilian_wa_id_refuses_sends_to_the_current_number(
    proc: SidecarProcess,
) -> None:
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    assert (await send.Check(_template(CURRENT))).reason == common_pb2.REASON_NO_CONSENT
    result = await _deliver(proc, LEGACY, "PARAR")
    assert result.events[0].message.opt_out
    for to in (CURRENT, "+" + LEGACY, "+55 (11) 98765-4321"):
        assert (await send.Check(_template(to))).reason == common_pb2.REASON_OPTED_OUT
    refused = await send.Send(_template(CURRENT, common_pb2.CATEGORY_UTILITY))
    assert refused.outcome == send_pb2.OUTCOME_REJECTED
    assert refused.decision.reason == common_pb2.REASON_OPTED_OUT


async def test_a_stop_from_the_current_form_refuses_sends_to_the_legacy_form(
    proc: SidecarProcess,
) -> None:
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    await _deliver(proc, CURRENT[1:], "STOP")
    assert (await send.Check(_template("+" + LEGACY))).reason == common_pb2.REASON_OPTED_OUT


async def test_a_message_from_the_legacy_form_opens_the_window_of_the_current_number(
    proc: SidecarProcess,
) -> None:
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    outside = await send.Check(_text(CURRENT))
    assert outside.reason == common_pb2.REASON_OUTSIDE_SERVICE_WINDOW
    await _deliver(proc, LEGACY, "Oi, tudo bem?")
    assert (await send.Check(_text(CURRENT))).allowed


async def test_a_stop_from_a_wa_id_our_metadata_rejects_is_recorded(proc: SidecarProcess) -> None:
    # 555-01xx numbers are invalid to phonenumbers; Meta's wa_id still names a user.
    # opt_out is reported only once the suppression is committed.
    result = await _deliver(proc, "15555550100", "STOP")
    assert result.events[0].message.opt_out
