"""Consent and service-window decisions (SPEC §4.4, §4.6), pure.

rules = ConsentRules(require_authentication=False, require_service=False)
category_problem(Category.SERVICE, free_form=False)  # a template carries Meta's category
decide_consent(rules, Category.MARKETING, suppressed, current)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.policy.types import ALLOW, Category, Decision, Reason

ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)
GRANT = "grant"
REVOKE = "revoke"


@dataclass(frozen=True, slots=True)
class ConsentRules:
    """Which categories need a recorded opt-in (MARKETING and UTILITY always do)."""

    require_authentication: bool = False
    require_service: bool = False

    def needs_opt_in(self, category: Category) -> bool:
        if category is Category.AUTHENTICATION:
            return self.require_authentication
        if category is Category.SERVICE:
            return self.require_service
        return True


def category_problem(category: Category, free_form: bool) -> str | None:
    """What is wrong with sending this kind of message under ``category``.

    SERVICE means a free-form reply inside the user's window; a template
    carries its Meta category (MARKETING, UTILITY or AUTHENTICATION). A
    template sent as SERVICE would pass neither the consent nor the window
    check, so it is invalid input, not a policy refusal.
    """
    if category is Category.SERVICE and not free_form:
        return (
            "SERVICE is for free-form replies inside the service window; a template is"
            " sent under its Meta category (MARKETING, UTILITY or AUTHENTICATION)"
        )
    return None


def decide_category(category: Category, free_form: bool) -> Decision:
    """``category_problem`` as a refusal, for commands stored before the rule
    (outbox, dead letters): the detail names the field."""
    problem = category_problem(category, free_form)
    if problem is None:
        return ALLOW
    return Decision(False, Reason.INVALID_REQUEST, f"category: {problem}")


def decide_consent(
    rules: ConsentRules,
    category: Category,
    suppressed: frozenset[str],
    current: Mapping[str, str],
) -> Decision:
    """An opt-out always wins; categories needing consent need a grant.

    ``suppressed`` holds category values on the suppression list (every
    revoke puts its category there; a later grant or an honoured START lifts
    it); ``current`` maps category value → "grant" | "revoke" (latest record).
    """
    if category.value in suppressed:
        return Decision(False, Reason.OPTED_OUT, f"recipient opted out of {category.value}")
    if not rules.needs_opt_in(category):
        return ALLOW
    if current.get(category.value) == GRANT:
        return ALLOW
    return Decision(False, Reason.NO_CONSENT, f"no recorded opt-in for {category.value}")


def decide_window(
    free_form: bool, last_inbound: float | None, now: float, window_seconds: float
) -> Decision:
    """Free-form messages only within the customer service window; templates always."""
    if not free_form:
        return ALLOW
    if last_inbound is not None and now - last_inbound < window_seconds:
        return ALLOW
    return Decision(
        False,
        Reason.OUTSIDE_SERVICE_WINDOW,
        "free-form messages need an inbound message within the service window; send a template",
    )
