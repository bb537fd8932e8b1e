"""Opt-out buttons and keyword packs through VerifyWebhook, then Check (SPEC §4.5).

The business's own buttons ("Cancel", ``UNSUBSCRIBE_NO``) opt nobody out; a
declared payload or Meta's marketing opt-out button suppresses the button
categories (MARKETING by default); a typed keyword suppresses everything.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, verify_pb2
from sidecar.simulator import SimulatorHandle
from sidecar.simulator.webhooks import inbound_message_item
from sidecar.testing import Embedded, inbound_text, signature, start_embedded, webhook_body

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
USER = "16505551234"  # the samples' wa_id
NUMBER = "+" + USER
MARKETING = common_pb2.CATEGORY_MARKETING
UTILITY = common_pb2.CATEGORY_UTILITY


async def _embedded(tmp: Path, sim: SimulatorHandle, **env: str) -> AsyncIterator[Embedded]:
    embedded, stop, task = await start_embedded(tmp, sim.url, **env)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


@pytest.fixture
async def granted(tmp_path: Path, simulator: SimulatorHandle) -> AsyncIterator[Embedded]:
    """A sidecar with defaults, and the user's MARKETING + UTILITY opt-in recorded."""
    async for e in _embedded(tmp_path, simulator):
        await _grant(e)
        yield e


async def _grant(e: Embedded) -> None:
    await e.consent.Grant(
        consent_pb2.GrantRequest(
            phone_number=NUMBER,
            categories=[MARKETING, UTILITY],
            source="web-form",
            notice_version="v3",
            jurisdiction=consent_pb2.JURISDICTION_GDPR,
            evidence="form-123",
        )
    )


async def _deliver(e: Embedded, body: bytes) -> verify_pb2.WebhookResult:
    result: verify_pb2.WebhookResult = await e.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body))
    )
    assert result.valid, result.detail
    return result


def _tap(payload: str, label: str, wamid: str) -> bytes:
    item = inbound_message_item(wamid, USER, 1750091045, button_payload=payload, button_text=label)
    return webhook_body(item, sender=USER)


async def _reasons(e: Embedded) -> tuple[int, int]:
    """Check's reason for a MARKETING and a UTILITY template to the user."""
    found = []
    for category in (MARKETING, UTILITY):
        request = send_pb2.SendRequest(
            to=NUMBER,
            category=category,
            template=send_pb2.Template(name="t", language=send_pb2.TemplateLanguage(code="en")),
        )
        found.append((await e.send.Check(request)).reason)
    return found[0], found[1]


ALLOWED = (common_pb2.REASON_UNSPECIFIED, common_pb2.REASON_UNSPECIFIED)


async def test_the_business_own_buttons_opt_nobody_out(granted: Embedded) -> None:
    reply = json.loads((SAMPLES / "inbound_interactive_button_reply.json").read_bytes())
    assert reply["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"][
        "button_reply"
    ] == {"id": "cancel-button", "title": "Cancel"}
    bodies = [
        (SAMPLES / "inbound_interactive_button_reply.json").read_bytes(),
        _tap("Cancel", "Cancel", "wamid.b1"),
        _tap("End", "End", "wamid.b2"),
        _tap("UNSUBSCRIBE_NO", "No, keep me subscribed", "wamid.b3"),
        _tap("OPT_OUT_CANCEL", "Back", "wamid.b4"),
        _tap("KEEP", "Unsubscribe", "wamid.b5"),
    ]
    for body in bodies:
        result = await _deliver(granted, body)
        assert not result.events[0].message.opt_out
    assert await _reasons(granted) == ALLOWED


async def test_a_declared_payload_stops_marketing_only(granted: Embedded) -> None:
    sample = (SAMPLES / "inbound_template_quick_reply_button.json").read_bytes()
    result = await _deliver(granted, sample)  # payload "Unsubscribe"
    assert result.events[0].message.opt_out
    assert await _reasons(granted) == (
        common_pb2.REASON_OPTED_OUT,
        common_pb2.REASON_UNSPECIFIED,
    )


async def test_meta_marketing_opt_out_button_stops_marketing(granted: Embedded) -> None:
    result = await _deliver(granted, _tap("Stop promotions", "Stop promotions", "wamid.m1"))
    assert result.events[0].message.opt_out
    assert await _reasons(granted) == (
        common_pb2.REASON_OPTED_OUT,
        common_pb2.REASON_UNSPECIFIED,
    )


async def test_a_typed_keyword_still_stops_everything(granted: Embedded) -> None:
    result = await _deliver(granted, inbound_text(USER, "cancel"))
    assert result.events[0].message.opt_out
    assert await _reasons(granted) == (common_pb2.REASON_OPTED_OUT, common_pb2.REASON_OPTED_OUT)


async def test_declared_payloads_and_categories_from_the_settings(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    env = {
        "WA_SIDECAR_OPT_OUT_BUTTON_PAYLOADS": "NO_MORE_MESSAGES",
        "WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES": "MARKETING,UTILITY",
    }
    async for e in _embedded(tmp_path, simulator, **env):
        await _grant(e)
        result = await _deliver(e, _tap("STOP", "STOP", "wamid.c1"))  # not declared here
        assert not result.events[0].message.opt_out
        assert await _reasons(e) == ALLOWED
        await _deliver(e, _tap("no_more_messages", "Stop all messages", "wamid.c2"))
        assert await _reasons(e) == (common_pb2.REASON_OPTED_OUT, common_pb2.REASON_OPTED_OUT)


async def test_switched_off_locale_packs_no_longer_match(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async for e in _embedded(tmp_path, simulator, WA_SIDECAR_OPT_OUT_LOCALES="en"):
        await _grant(e)
        result = await _deliver(e, inbound_text(USER, "PARAR"))
        assert not result.events[0].message.opt_out
        assert await _reasons(e) == ALLOWED
        await _deliver(e, inbound_text(USER, "Stop"))
        assert await _reasons(e) == (common_pb2.REASON_OPTED_OUT, common_pb2.REASON_OPTED_OUT)
