"""WebhookHandler on its own: a STOP opts out before the answer; a
re-delivery is recognised and changes nothing (SPEC §4.1-4.5)."""

from __future__ import annotations

import pytest
from support.service import TO, FakeTime, Rig, command

from sidecar.policy.types import Category, Reason
from sidecar.service.consent import Proof
from sidecar.service.webhooks import Rejection
from sidecar.testing import inbound_text, signature

pytestmark = pytest.mark.unit

WA_ID = TO.removeprefix("+")


def inbound(clock: FakeTime, text: str, wamid: str) -> tuple[bytes, str]:
    body = inbound_text(WA_ID, text, wamid=wamid, timestamp=int(clock()))
    return body, signature(body)


async def test_a_stop_opts_the_sender_out_of_every_category_before_the_answer(
    rig: Rig, clock: FakeTime
) -> None:
    outcome = await rig.webhooks().handle(*inbound(clock, "STOP", "wamid.in1"))

    assert outcome.valid
    [applied] = outcome.events
    assert applied.opt_out
    view = await rig.consent.get(TO)
    assert {c.status for c in view.categories} == {"revoked"}
    assert view.suppressed == frozenset(c.value for c in Category)
    sender = rig.sender()
    for category in Category:
        if category is Category.SERVICE:
            continue  # a template is never SERVICE (that is INVALID_REQUEST, not a consent answer)
        decision = await sender.check(command(category=category))
        assert decision.reason is Reason.OPTED_OUT
    assert rig.metric("wa_sidecar_opt_outs_total", via="keyword") == 1


async def test_a_duplicate_delivery_is_reported_and_changes_nothing(
    rig: Rig, clock: FakeTime
) -> None:
    handler = rig.webhooks()
    delivery = inbound(clock, "STOP", "wamid.in1")
    await handler.handle(*delivery)
    history = (await rig.consent.get(TO)).history

    clock.advance(30.0)
    again = await handler.handle(*delivery)

    assert again.valid
    assert again.duplicate
    assert (again.events, again.duplicate_events) == ((), 1)
    assert (await rig.consent.get(TO)).history == history
    assert rig.metric("wa_sidecar_opt_outs_total", via="keyword") == 1
    assert rig.metric("wa_sidecar_webhook_events_total", kind="message", duplicate="true") == 1


async def test_a_start_after_a_stop_restores_the_grants_the_stop_closed(
    rig: Rig, clock: FakeTime
) -> None:
    await rig.consent.grant(TO, [Category.MARKETING], Proof(source="web-form"), actor="crm")
    handler = rig.webhooks()
    clock.advance(1.0)
    await handler.handle(*inbound(clock, "STOP", "wamid.in1"))
    clock.advance(1.0)
    outcome = await handler.handle(*inbound(clock, "START", "wamid.in2"))

    [applied] = outcome.events
    assert applied.opt_in
    states = {c.category: c.status for c in (await rig.consent.get(TO)).categories}
    assert states[Category.MARKETING] == "granted"
    assert states[Category.UTILITY] == "revoked"  # never granted: START gives no consent
    assert (await rig.sender().check(command(category=Category.MARKETING))).allowed


async def test_a_start_is_ignored_when_opt_in_keywords_are_not_honoured(
    rig: Rig, clock: FakeTime
) -> None:
    await rig.consent.grant(TO, [Category.MARKETING], Proof(source="web-form"), actor="crm")
    handler = rig.webhooks(honour_opt_in=False)
    clock.advance(1.0)
    await handler.handle(*inbound(clock, "STOP", "wamid.in1"))
    clock.advance(1.0)
    outcome = await handler.handle(*inbound(clock, "START", "wamid.in2"))

    [applied] = outcome.events
    assert not applied.opt_in
    decision = await rig.sender().check(command(category=Category.MARKETING))
    assert decision.reason is Reason.OPTED_OUT


async def test_a_forged_delivery_is_rejected_and_applies_nothing(rig: Rig, clock: FakeTime) -> None:
    body, _ = inbound(clock, "STOP", "wamid.in1")
    outcome = await rig.webhooks().handle(body, signature(body, secret="not-the-app-secret"))

    assert outcome.rejection is Rejection.BAD_SIGNATURE
    assert outcome.events == ()
    view = await rig.consent.get(TO)
    assert {c.status for c in view.categories} == {"unknown"}
    assert view.suppressed == frozenset()
