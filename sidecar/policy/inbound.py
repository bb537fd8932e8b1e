"""What an inbound message asks of consent (SPEC §4.5), pure.

Typed text goes through the keyword matcher and speaks for every category
("STOP" means stop everything). A button tap goes through the button rules
and speaks for the button categories (MARKETING unless configured), Meta's
marketing opt-out button for MARKETING only.

    rules = InboundRules(OptOutMatcher(), ButtonRules(), (Category.MARKETING,))
    request = rules.request("text", "STOP", "", "")
    request.intent, request.source     # KeywordIntent.OPT_OUT, "keyword:STOP"
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.policy.buttons import BUTTON_TYPES, ButtonKind, ButtonRules
from sidecar.policy.optout import KeywordIntent, OptOutMatcher
from sidecar.policy.types import Category

__all__ = ["ALL_CATEGORIES", "NOTHING", "InboundRules", "Request"]

ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)
_MARKETING = (Category.MARKETING,)


@dataclass(frozen=True, slots=True)
class Request:
    """An opt-out, an opt-in or nothing; ``source`` names the proof's channel
    and the configured keyword or payload (never the user's own words)."""

    intent: KeywordIntent
    source: str = ""
    categories: tuple[Category, ...] = ()


NOTHING = Request(KeywordIntent.NONE)


class InboundRules:
    """Keyword matcher, button rules and the categories buttons speak for."""

    __slots__ = ("_button_categories", "_buttons", "_matcher")

    def __init__(
        self,
        matcher: OptOutMatcher,
        buttons: ButtonRules,
        button_categories: tuple[Category, ...] = _MARKETING,
    ) -> None:
        if not button_categories:
            raise ValueError("button categories must not be empty")
        self._matcher = matcher
        self._buttons = buttons
        self._button_categories = button_categories

    def request(self, message_type: str, text: str, payload: str, label: str) -> Request:
        """The request one inbound message (type, text body, button payload and label) makes."""
        if message_type in BUTTON_TYPES:
            verdict = self._buttons.classify(message_type, payload, label)
            if verdict.kind is ButtonKind.META_MARKETING_OPT_OUT:
                return Request(KeywordIntent.OPT_OUT, "button:meta_marketing_opt_out", _MARKETING)
            if verdict.kind is ButtonKind.OPT_OUT:
                return Request(
                    KeywordIntent.OPT_OUT, f"button:{verdict.payload}", self._button_categories
                )
            if verdict.kind is ButtonKind.OPT_IN:
                return Request(
                    KeywordIntent.OPT_IN, f"button:{verdict.payload}", self._button_categories
                )
            return NOTHING
        if not text:
            return NOTHING
        match = self._matcher.match_text(text)
        if match.intent is KeywordIntent.NONE:
            return NOTHING
        return Request(match.intent, f"keyword:{match.keyword}", ALL_CATEGORIES)
