"""Proto ⇄ domain, shared by the servicers: field validation that names the
offending field, the enum tables, times and durations.

``convert_send.py`` translates SendService's messages, ``convert_events.py``
VerifyService's answers. Everything here is synchronous and cheap: it runs on
every RPC.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2
from sidecar.errors import InvalidRequest
from sidecar.policy.numbers import normalise_e164
from sidecar.policy.types import Category, Decision, ErrorClass, Reason

MAX_PROOF_FIELD = 64 * 1024
MAX_SOURCE = 256

CATEGORY_FROM_PB = {
    common_pb2.CATEGORY_MARKETING: Category.MARKETING,
    common_pb2.CATEGORY_UTILITY: Category.UTILITY,
    common_pb2.CATEGORY_AUTHENTICATION: Category.AUTHENTICATION,
    common_pb2.CATEGORY_SERVICE: Category.SERVICE,
}
CATEGORY_TO_PB = {v: k for k, v in CATEGORY_FROM_PB.items()}
REASON_TO_PB = {
    Reason.NONE: common_pb2.REASON_UNSPECIFIED,
    Reason.NO_CONSENT: common_pb2.REASON_NO_CONSENT,
    Reason.OPTED_OUT: common_pb2.REASON_OPTED_OUT,
    Reason.OUTSIDE_SERVICE_WINDOW: common_pb2.REASON_OUTSIDE_SERVICE_WINDOW,
    Reason.QUOTA_EXHAUSTED: common_pb2.REASON_QUOTA_EXHAUSTED,
    Reason.PAIR_RATE_LIMITED: common_pb2.REASON_PAIR_RATE_LIMITED,
    Reason.INVALID_NUMBER: common_pb2.REASON_INVALID_NUMBER,
    Reason.PERMISSION_DENIED: common_pb2.REASON_PERMISSION_DENIED,
    Reason.MESSAGING_LIMIT_REACHED: common_pb2.REASON_MESSAGING_LIMIT_REACHED,
    Reason.STORE_UNAVAILABLE: common_pb2.REASON_STORE_UNAVAILABLE,
    Reason.NUMBER_NOT_ON_WHATSAPP: common_pb2.REASON_NUMBER_NOT_ON_WHATSAPP,
    Reason.INVALID_REQUEST: common_pb2.REASON_INVALID_REQUEST,
}
ERROR_CLASS_TO_PB = {
    ErrorClass.TRANSIENT: common_pb2.ERROR_CLASS_TRANSIENT,
    ErrorClass.THROTTLED: common_pb2.ERROR_CLASS_THROTTLED,
    ErrorClass.AUTH: common_pb2.ERROR_CLASS_AUTH,
    ErrorClass.RECIPIENT: common_pb2.ERROR_CLASS_RECIPIENT,
    ErrorClass.TEMPLATE: common_pb2.ERROR_CLASS_TEMPLATE,
    ErrorClass.POLICY: common_pb2.ERROR_CLASS_POLICY,
    ErrorClass.PERMANENT: common_pb2.ERROR_CLASS_PERMANENT,
}
JURISDICTION_FROM_PB = {
    consent_pb2.JURISDICTION_UNSPECIFIED: "",
    consent_pb2.JURISDICTION_GDPR: "gdpr",
    consent_pb2.JURISDICTION_CCPA: "ccpa",
    consent_pb2.JURISDICTION_PDPA: "pdpa",
    consent_pb2.JURISDICTION_OTHER: "other",
}
JURISDICTION_TO_PB = {v: k for k, v in JURISDICTION_FROM_PB.items()}


# ---------------------------------------------------------------------- helpers


def e164(value: str, field: str) -> str:
    if not value:
        raise InvalidRequest(field, "required")
    number = normalise_e164(value)
    if number is None:
        raise InvalidRequest(
            field, "must be a valid E.164 number with a leading +, e.g. +16505551234"
        )
    return number


def category(value: int, field: str = "category") -> Category:
    found: Category | None = CATEGORY_FROM_PB.get(value)  # type: ignore[call-overload]
    if found is None:
        raise InvalidRequest(field, "must be MARKETING, UTILITY, AUTHENTICATION or SERVICE")
    return found


def category_value(value: str) -> Category:
    """Category from its stored value (``"marketing"``)."""
    return Category(value)


def categories(values: Any, field: str, *, allow_empty: bool) -> list[Category]:
    result = [category(v, field) for v in values]
    if not result and not allow_empty:
        raise InvalidRequest(field, "at least one category is required")
    return list(dict.fromkeys(result))


def text_field(value: str, field: str, limit: int, *, required: bool = False) -> str:
    if required and not value.strip():
        raise InvalidRequest(field, "required")
    if len(value) > limit:
        raise InvalidRequest(field, f"at most {limit} characters")
    return value


def duration(seconds: float) -> Duration:
    d = Duration()
    if seconds > 0:
        d.FromNanoseconds(int(seconds * 1e9))
    return d


def timestamp(seconds: float) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(int(seconds * 1e9))
    return t


def page_size(value: int, default: int = 100, maximum: int = 1000) -> int:
    if value < 0:
        raise InvalidRequest("page_size", "must not be negative")
    return min(value or default, maximum)


def decision_pb(d: Decision) -> common_pb2.Decision:
    out = common_pb2.Decision(allowed=d.allowed, reason=REASON_TO_PB[d.reason], detail=d.detail)
    if d.retry_after > 0:
        out.retry_after.CopyFrom(duration(d.retry_after))
    return out
