"""Button taps (SPEC §4.5): only declared payloads and Meta's marketing opt-out opt out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.policy.buttons import ButtonKind, ButtonRules
from sidecar.policy.inbound import NOTHING, InboundRules
from sidecar.policy.optout import KeywordIntent, OptOutMatcher
from sidecar.policy.types import Category

pytestmark = pytest.mark.unit

RULES = ButtonRules()


@pytest.mark.parametrize(
    ("kind", "payload", "label"),
    [
        # The business's own buttons: cancelling an appointment is not an opt-out.
        ("interactive", "cancel-button", "Cancel"),
        ("button", "Cancel", "Cancel"),
        ("button", "End", "End"),
        ("button", "Quit", "Quit"),
        ("button", "Remove", "Remove"),
        ("interactive", "remove_item_3", "Remove"),
        # A payload that merely starts with an opt-out word.
        ("button", "UNSUBSCRIBE_NO", "No, keep me subscribed"),
        ("button", "OPT_OUT_CANCEL", "Go back"),
        ("button", "STOP_REMINDER_7", "Stop this reminder"),
        # Labels are the business's wording, not the user's.
        ("interactive", "menu_1", "STOP"),
        ("button", "KEEP", "Unsubscribe"),
        ("interactive", "offers", "Stop promotions"),  # not Meta's template button
        ("button", "", ""),
    ],
)
def test_the_business_own_buttons_are_no_opt_out(kind: str, payload: str, label: str) -> None:
    assert RULES.classify(kind, payload, label).kind is ButtonKind.NONE


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("button", "STOP"),
        ("button", "Unsubscribe"),  # Meta's sample quick-reply
        ("button", " opt_out "),
        ("interactive", "UNSUBSCRIBE"),
    ],
)
def test_default_payloads_opt_out(kind: str, payload: str) -> None:
    verdict = RULES.classify(kind, payload, "whatever the label says")
    assert verdict.kind is ButtonKind.OPT_OUT
    assert verdict.payload in ("STOP", "UNSUBSCRIBE", "OPT_OUT")


def test_meta_marketing_opt_out_button() -> None:
    for label in ("Stop promotions", "STOP PROMOTIONS", " stop promotions "):
        verdict = RULES.classify("button", label, label)
        assert verdict.kind is ButtonKind.META_MARKETING_OPT_OUT
    # A custom payload on that button does not change what it is.
    assert RULES.classify("button", "xyz", "Stop promotions").kind is (
        ButtonKind.META_MARKETING_OPT_OUT
    )


def test_declared_payloads_replace_the_defaults() -> None:
    rules = ButtonRules(["NO_MORE_DEALS", "Cancel"])
    assert rules.classify("button", "no_more_deals", "").kind is ButtonKind.OPT_OUT
    assert rules.classify("interactive", "CANCEL", "").kind is ButtonKind.OPT_OUT
    assert rules.classify("button", "STOP", "STOP").kind is ButtonKind.NONE
    assert rules.classify("button", "NO_MORE_DEALS_2", "").kind is ButtonKind.NONE


def test_opt_in_payloads_are_exact_too() -> None:
    assert RULES.classify("button", "START", "").kind is ButtonKind.OPT_IN
    assert RULES.classify("interactive", "opt_in", "").kind is ButtonKind.OPT_IN
    assert RULES.classify("button", "START_TRIAL", "Start").kind is ButtonKind.NONE


def test_a_payload_cannot_both_opt_out_and_opt_in() -> None:
    with pytest.raises(ValueError, match="START"):
        ButtonRules(["START"])


def test_text_messages_are_never_buttons() -> None:
    assert RULES.classify("text", "STOP", "STOP").kind is ButtonKind.NONE


@given(st.sampled_from(["button", "interactive", "text", ""]), st.text(), st.text())
def test_arbitrary_taps_never_crash(kind: str, payload: str, label: str) -> None:
    verdict = RULES.classify(kind, payload, label)
    if verdict.kind is ButtonKind.OPT_OUT:
        assert payload.strip().casefold() == verdict.payload.casefold()


def test_typed_keywords_speak_for_every_category_buttons_for_theirs() -> None:
    rules = InboundRules(OptOutMatcher(), ButtonRules(), (Category.UTILITY, Category.MARKETING))
    typed = rules.request("text", "Cancel", "", "")
    assert (typed.intent, typed.categories) == (KeywordIntent.OPT_OUT, tuple(Category))
    assert typed.source == "keyword:CANCEL"
    tapped = rules.request("button", "", "UNSUBSCRIBE", "Unsubscribe")
    assert tapped.categories == (Category.UTILITY, Category.MARKETING)
    assert tapped.source == "button:UNSUBSCRIBE"
    meta = rules.request("button", "Stop promotions", "Stop promotions", "Stop promotions")
    assert meta.categories == (Category.MARKETING,)
    back = rules.request("interactive", "", "START", "Start again")
    assert (back.intent, back.categories) == (KeywordIntent.OPT_IN, tapped.categories)
    # A tap never falls back to reading its label as a typed keyword.
    assert rules.request("interactive", "", "cancel-button", "Cancel") is NOTHING
    assert rules.request("text", "", "", "") is NOTHING
    assert rules.request("text", "hello", "", "") is NOTHING
