"""Domain vocabulary shared by policy, service and stores.

These mirror the proto enums by name (``Category.MARKETING`` ⇄
``CATEGORY_MARKETING``) but carry no protobuf, so the policy layer stays pure.
The one translation between the two lives in ``sidecar/api/convert.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.Enum):
    """Meta's message categories; consent is recorded per category."""

    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"
    SERVICE = "service"


class Reason(enum.Enum):
    """Why a decision refused a send (``NONE`` when allowed)."""

    NONE = "none"
    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    OUTSIDE_SERVICE_WINDOW = "outside_service_window"
    QUOTA_EXHAUSTED = "quota_exhausted"
    PAIR_RATE_LIMITED = "pair_rate_limited"
    INVALID_NUMBER = "invalid_number"
    PERMISSION_DENIED = "permission_denied"
    MESSAGING_LIMIT_REACHED = "messaging_limit_reached"
    STORE_UNAVAILABLE = "store_unavailable"
    NUMBER_NOT_ON_WHATSAPP = "number_not_on_whatsapp"
    INVALID_REQUEST = "invalid_request"


class ErrorClass(enum.Enum):
    """How a Graph API failure is handled (SPEC §4.8)."""

    TRANSIENT = "transient"
    THROTTLED = "throttled"
    AUTH = "auth"
    RECIPIENT = "recipient"
    TEMPLATE = "template"
    POLICY = "policy"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy verdict. ``retry_after`` is in seconds (0 = not applicable)."""

    allowed: bool
    reason: Reason = Reason.NONE
    detail: str = ""
    retry_after: float = 0.0


ALLOW = Decision(allowed=True)
