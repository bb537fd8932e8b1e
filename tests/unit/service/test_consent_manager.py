"""ConsentManager on its own: grants, revokes and opt-outs as Sender sees them."""

from __future__ import annotations

import pytest
from support.service import TO, FakeTime, Rig, command

from sidecar.policy.types import Category, Reason
from sidecar.service.consent import Proof
from sidecar.stores.base import ConsentAction

pytestmark = pytest.mark.unit

FORM = Proof(source="web-form", notice_version="v3", jurisdiction="US-CA", evidence="form#91")


async def test_marketing_needs_a_recorded_grant(rig: Rig) -> None:
    sender = rig.sender()
    assert (await sender.check(command(category=Category.MARKETING))).reason is Reason.NO_CONSENT
    assert (await sender.check(command(category=Category.AUTHENTICATION))).allowed


async def test_a_grant_is_recorded_with_its_proof_and_allows_the_category(
    rig: Rig, clock: FakeTime
) -> None:
    view = await rig.consent.grant(TO, [Category.MARKETING], FORM, actor="crm")

    states = {c.category: c.status for c in view.categories}
    assert states[Category.MARKETING] == "granted"
    assert states[Category.UTILITY] == "unknown"
    [entry] = view.history
    assert (entry.category, entry.action, entry.actor) == (
        Category.MARKETING,
        ConsentAction.GRANT,
        "crm",
    )
    assert entry.proof == FORM
    assert entry.recorded_at == clock()
    assert (await rig.sender().check(command(category=Category.MARKETING))).allowed


async def test_a_revoke_wins_and_suppresses_until_a_new_grant(rig: Rig, clock: FakeTime) -> None:
    sender = rig.sender()
    await rig.consent.grant(TO, [Category.MARKETING], FORM, actor="crm")
    clock.advance(1.0)
    view = await rig.consent.revoke(TO, [Category.MARKETING], Proof(source="api"), actor="crm")

    assert {c.category: c.status for c in view.categories}[Category.MARKETING] == "revoked"
    assert Category.MARKETING.value in view.suppressed
    decision = await sender.check(command(category=Category.MARKETING))
    assert decision.reason is Reason.OPTED_OUT

    clock.advance(1.0)
    await rig.consent.grant(TO, [Category.MARKETING], FORM, actor="crm")
    assert (await sender.check(command(category=Category.MARKETING))).allowed


async def test_a_revoke_without_categories_covers_them_all(rig: Rig) -> None:
    view = await rig.consent.revoke(TO, [], Proof(source="api"), actor="crm")
    assert {c.status for c in view.categories} == {"revoked"}
    decision = await rig.sender().check(command(category=Category.AUTHENTICATION))
    assert decision.reason is Reason.OPTED_OUT


async def test_an_opt_out_with_an_event_key_is_recorded_once(rig: Rig) -> None:
    proof = Proof(source="keyword:STOP", evidence="wamid:in1")
    first = await rig.consent.opt_out(
        TO, [Category.MARKETING], proof, actor="webhook", event_key="m:in1"
    )
    again = await rig.consent.opt_out(
        TO, [Category.MARKETING], proof, actor="webhook", event_key="m:in1"
    )
    assert (first, again) == (True, False)
    assert len((await rig.consent.get(TO)).history) == 1
    assert rig.metric("wa_sidecar_opt_outs_total", via="keyword") == 1


async def test_another_number_is_not_affected(rig: Rig) -> None:
    await rig.consent.revoke(TO, [], Proof(source="api"), actor="crm")
    other = "+16505550000"
    view = await rig.consent.get(other)
    assert {c.status for c in view.categories} == {"unknown"}
    assert (await rig.sender().check(command(to=other))).allowed
