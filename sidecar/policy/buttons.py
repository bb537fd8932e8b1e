"""Which button taps opt a user out or back in (SPEC §4.5), pure.

A button is the business's own wording: "Cancel" an appointment, "End" a
survey, ``UNSUBSCRIBE_NO`` on a confirmation. So button taps are not read as
keywords. A tap (a template quick-reply, ``type: button``, or an interactive
``button_reply``/``list_reply``) opts out only when

* its payload is one the operator declared
  (``WA_SIDECAR_OPT_OUT_BUTTON_PAYLOADS``), compared whole, ignoring case and
  surrounding spaces: ``OPT_OUT`` matches ``opt_out`` but not
  ``OPT_OUT_CANCEL``; or
* it is Meta's marketing opt-out button: the template quick-reply Meta adds
  to marketing templates, labelled "Stop promotions". That one stops
  MARKETING only, whatever the operator configured for their own buttons.

A tap opts back in only when its payload is one of :data:`OPT_IN_PAYLOADS`,
compared the same way. Text typed by the user is matched by ``optout.py``.

    >>> rules = ButtonRules(opt_out_payloads=["STOP", "UNSUBSCRIBE"])
    >>> rules.classify("button", "Unsubscribe", "Unsubscribe").kind
    <ButtonKind.OPT_OUT: 'opt_out'>
    >>> rules.classify("interactive", "cancel-button", "Cancel").kind
    <ButtonKind.NONE: 'none'>
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sidecar.policy.optout import normalise

__all__ = [
    "BUTTON_TYPES",
    "DEFAULT_OPT_OUT_PAYLOADS",
    "META_OPT_OUT_LABELS",
    "OPT_IN_PAYLOADS",
    "ButtonKind",
    "ButtonRules",
    "ButtonVerdict",
]

BUTTON_TYPES = frozenset({"button", "interactive"})
"""Inbound message types that are taps on the business's buttons or lists."""

DEFAULT_OPT_OUT_PAYLOADS: tuple[str, ...] = ("STOP", "UNSUBSCRIBE", "OPT_OUT")
"""Payloads that opt out when the operator declares none (Meta's own sample
quick-reply is ``Unsubscribe``; a button without a payload sends its label)."""

META_OPT_OUT_LABELS = frozenset({"stop promotions"})
"""The label of Meta's marketing opt-out quick-reply, folded by ``normalise``."""

OPT_IN_PAYLOADS: tuple[str, ...] = (
    "START",
    "UNSTOP",
    "SUBSCRIBE",
    "RESUBSCRIBE",
    "OPT_IN",
    "OPTIN",
    "OPT-IN",
)
"""Payloads that ask to receive messages again."""


class ButtonKind(enum.Enum):
    NONE = "none"
    OPT_OUT = "opt_out"
    META_MARKETING_OPT_OUT = "meta_marketing_opt_out"
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class ButtonVerdict:
    """What a tap asks for; ``payload`` is the configured spelling it matched
    (never the user's own text), for the consent proof."""

    kind: ButtonKind
    payload: str = ""


NOT_A_REQUEST = ButtonVerdict(ButtonKind.NONE)


def _fold(payload: str) -> str:
    return payload.strip().casefold()


class ButtonRules:
    """Exact payload tables, built once."""

    __slots__ = ("_opt_in", "_opt_out")

    def __init__(
        self,
        opt_out_payloads: Iterable[str] = DEFAULT_OPT_OUT_PAYLOADS,
        opt_in_payloads: Iterable[str] = OPT_IN_PAYLOADS,
    ) -> None:
        self._opt_out = {_fold(p): p.strip() for p in opt_out_payloads if p.strip()}
        self._opt_in = {_fold(p): p.strip() for p in opt_in_payloads if p.strip()}
        clash = sorted(self._opt_out[k] for k in self._opt_out.keys() & self._opt_in.keys())
        if clash:
            raise ValueError(f"button payloads both opt out and opt in: {clash}")

    def classify(self, message_type: str, payload: str, label: str) -> ButtonVerdict:
        """The verdict for one inbound tap (``NOT_A_REQUEST`` for other messages)."""
        if message_type not in BUTTON_TYPES:
            return NOT_A_REQUEST
        key = _fold(payload)
        if key in self._opt_out:
            return ButtonVerdict(ButtonKind.OPT_OUT, self._opt_out[key])
        if message_type == "button" and normalise(label) in META_OPT_OUT_LABELS:
            return ButtonVerdict(ButtonKind.META_MARKETING_OPT_OUT, "Stop promotions")
        if key in self._opt_in:
            return ButtonVerdict(ButtonKind.OPT_IN, self._opt_in[key])
        return NOT_A_REQUEST
