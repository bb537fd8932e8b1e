"""The engagement KPIs on a constructed history, with exact values: template
approval rate per category, and the 24 h session response rate with its
median time to first reply (issue 16). Real webhook handling, real sends
(scripted Graph) and the SQLite store; the clock is fake, so every time is known."""

from __future__ import annotations

import json

import pytest
from support.service import FakeTime, Rig, command

from sidecar.service.kpis import read_kpis
from sidecar.testing import inbound_text, signature

pytestmark = pytest.mark.unit

DAY = 86_400.0
USERS = {name: f"+1650555{1000 + i}" for i, name in enumerate("abcdefg")}


async def inbound(rig: Rig, user: str, at: float, wamid: str) -> None:
    body = inbound_text(USERS[user].removeprefix("+"), "hello", wamid=wamid, timestamp=int(at))
    outcome = await rig.webhooks().handle(body, signature(body))
    assert outcome.valid, outcome.detail


async def template_event(rig: Rig, event: str, category: str, template_id: int, at: float) -> bool:
    """One signed ``message_template_status_update`` dated ``at``; True if new."""
    value = {
        "event": event,
        "message_template_id": template_id,
        "message_template_name": f"t{template_id}",
        "message_template_language": "en_US",
        "reason": "PROMOTIONAL" if event == "REJECTED" else "NONE",
        "message_template_category": category,
    }
    entry = {
        "id": "102290129340398",
        "time": int(at),
        "changes": [{"field": "message_template_status_update", "value": value}],
    }
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    outcome = await rig.webhooks().handle(body, signature(body))
    assert outcome.valid, outcome.detail
    return not outcome.duplicate


async def reply(rig: Rig, user: str, key: str) -> None:
    result = await rig.sender().send(command(key, to=USERS[user]))
    assert result.outcome.value == "sent"


async def test_session_response_rate_and_median_first_reply_on_a_known_history(
    rig: Rig, clock: FakeTime
) -> None:
    start = clock()
    await inbound(rig, "a", start, "wamid.a1")
    await inbound(rig, "b", start + 100, "wamid.b1")
    await inbound(rig, "c", start + 200, "wamid.c1")
    await inbound(rig, "c", start + 250, "wamid.c2")  # the same session, extended
    await inbound(rig, "d", start + 300, "wamid.d1")  # never answered
    await inbound(rig, "e", start + 400, "wamid.e1")  # answered too late
    await inbound(rig, "a", start, "wamid.a1")  # a re-delivery opens nothing

    clock.advance(60)
    await reply(rig, "a", "r-a")  # 60 s after a's first message
    clock.advance(340)
    await reply(rig, "b", "r-b")  # 300 s
    clock.advance(800)
    await reply(rig, "c", "r-c")  # 1000 s after c's first message, not its second
    await reply(rig, "a", "r-a2")  # a's second reply is not its first
    clock.advance(DAY - 700)
    await reply(rig, "e", "r-e")  # DAY + 100 s after e wrote: outside the window
    clock.advance(DAY - 500)
    now = clock()  # start + 2 days
    await inbound(rig, "f", now - 3600, "wamid.f1")  # still inside its window: pending
    await reply(rig, "g", "r-g")  # business-initiated: no session to answer

    day, week = await read_kpis(rig.state, [1, 7], now, retention_days=30, session_window=DAY)

    assert day.sessions.to_dict() == {
        "opened": 1,
        "replied": 0,
        "pending": 1,
        "response_rate": None,
        "median_first_reply_seconds": None,
    }
    assert week.sessions.to_dict() == {
        "opened": 6,
        "replied": 3,
        "pending": 1,
        "response_rate": 0.6,  # 3 answered of the 5 decided
        "median_first_reply_seconds": 300.0,
    }
    assert rig.metric("wa_sidecar_sessions_opened_total") == 6
    assert rig.metric("wa_sidecar_session_first_reply_seconds_count") == 3
    assert rig.metric("wa_sidecar_session_first_reply_seconds_sum") == 1360
    assert rig.metric("wa_sidecar_session_first_reply_seconds_bucket", le="300.0") == 2


async def test_template_approval_rate_per_category_on_a_known_history(
    rig: Rig, clock: FakeTime
) -> None:
    now = clock()
    for template_id in (1, 2, 3):
        assert await template_event(rig, "APPROVED", "UTILITY", template_id, now - 7200)
    assert await template_event(rig, "REJECTED", "UTILITY", 4, now - 3 * 3600)
    assert not await template_event(rig, "APPROVED", "UTILITY", 1, now - 7200)  # re-delivered
    assert await template_event(rig, "PAUSED", "MARKETING", 5, now - 3600)  # not a review
    assert await template_event(rig, "APPROVED", "MARKETING", 6, now - 3 * DAY)
    assert await template_event(rig, "REJECTED", "MARKETING", 7, now - 3 * DAY)
    assert await template_event(rig, "REJECTED", "", 8, now - 3 * DAY)  # no category named
    assert await template_event(rig, "APPROVED", "AUTHENTICATION", 9, now - 40 * DAY)

    day, week = await read_kpis(rig.state, [1, 7], now, retention_days=30, session_window=DAY)

    assert {c: t.to_dict() for c, t in day.templates.items()} == {
        "MARKETING": {"approved": 0, "rejected": 0, "approval_rate": None},
        "UTILITY": {"approved": 3, "rejected": 1, "approval_rate": 0.75},
        "AUTHENTICATION": {"approved": 0, "rejected": 0, "approval_rate": None},
    }
    assert {c: t.approval_rate for c, t in week.templates.items()} == {
        "MARKETING": 0.5,
        "UTILITY": 0.75,
        "AUTHENTICATION": None,
        "unknown": 0.0,
    }
    metric = "wa_sidecar_template_status_updates_total"
    assert rig.metric(metric, event="APPROVED", category="UTILITY") == 3
    assert rig.metric(metric, event="PAUSED", category="MARKETING") == 1
    assert rig.metric(metric, event="REJECTED", category="unknown") == 1
