"""`wa-sidecar kpis` on engagement: template approval per category and the 24 h
session response rate, after real signed webhooks went through VerifyWebhook
and real sends through the simulator (issue 16)."""

from __future__ import annotations

import json
import time

import pytest
from test_kpis import kpis_cli, result

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, verify_pb2
from sidecar.testing import Embedded, inbound_text, signature

pytestmark = pytest.mark.integration

DAY = 86_400
USERS = {name: f"1650555{2000 + i}" for i, name in enumerate("abcd")}


async def verify(sidecar: Embedded, body: bytes) -> verify_pb2.WebhookResult:
    reply = await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert reply.valid, reply.detail
    return reply


def template_status(event: str, category: str, template_id: int, at: int) -> bytes:
    value = {
        "event": event,
        "message_template_id": template_id,
        "message_template_name": f"t{template_id}",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": category,
    }
    change = {"field": "message_template_status_update", "value": value}
    entry = {"id": "102290129340398", "time": at, "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def test_kpis_report_template_approval_and_session_response(sidecar: Embedded) -> None:
    t0 = int(time.time())
    for user, age in (("a", 600), ("b", 300), ("c", 2 * DAY), ("d", 60)):
        await verify(sidecar, inbound_text(USERS[user], "hi", f"wamid.{user}", t0 - age))
    for template_id, (event, category, age) in enumerate(
        [
            ("APPROVED", "UTILITY", 3600),
            ("APPROVED", "UTILITY", 3600),
            ("REJECTED", "UTILITY", 3600),
            ("REJECTED", "MARKETING", 3 * DAY),
            ("FLAGGED", "MARKETING", 3600),
        ]
    ):
        await verify(sidecar, template_status(event, category, 100 + template_id, t0 - age))
    # The same event delivered again is a duplicate and counts once.
    again = await verify(sidecar, template_status("APPROVED", "UTILITY", 100, t0 - 3600))
    assert again.duplicate

    for user in ("a", "b", "c"):
        reply = await sidecar.send.Send(
            send_pb2.SendRequest(
                idempotency_key=f"reply-{user}",
                to="+" + USERS[user],
                category=common_pb2.CATEGORY_AUTHENTICATION,
                template=send_pb2.Template(
                    name="otp", language=send_pb2.TemplateLanguage(code="en")
                ),
            )
        )
        assert reply.outcome == send_pb2.OUTCOME_SENT
    replied_by = time.time()

    code, out, err = await kpis_cli(sidecar.settings.state_url, "--days", "1,7")
    assert code == 0, err
    windows = result(out)["windows"]
    day, week = windows["1d"]["sessions"], windows["7d"]["sessions"]
    # a and b answered; c answered two days late; d is still inside its window.
    assert (day["opened"], day["replied"], day["pending"], day["response_rate"]) == (3, 2, 1, 1.0)
    assert (week["opened"], week["replied"], week["pending"]) == (4, 2, 1)
    assert week["response_rate"] == round(2 / 3, 6)
    # The replies left between t0 and replied_by: 600 s and 300 s after a and b wrote.
    assert 450 <= day["median_first_reply_seconds"] <= 450 + (replied_by - t0)
    assert week["median_first_reply_seconds"] == day["median_first_reply_seconds"]

    templates = windows["1d"]["templates"]
    assert templates["UTILITY"] == {"approved": 2, "rejected": 1, "approval_rate": round(2 / 3, 6)}
    assert templates["MARKETING"]["approval_rate"] is None  # flagged is no review outcome
    assert windows["7d"]["templates"]["MARKETING"] == {
        "approved": 0,
        "rejected": 1,
        "approval_rate": 0.0,
    }
