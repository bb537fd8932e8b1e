"""Proto ⇄ domain, with input validation that names the offending field.

Everything here is synchronous and cheap: it runs on every RPC.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, verify_pb2
from sidecar.errors import InvalidRequest
from sidecar.policy.consent import category_problem
from sidecar.policy.numbers import normalise_e164
from sidecar.policy.types import Category, Decision, ErrorClass, Reason
from sidecar.service.models import Outcome, SendCommand, SendResult
from sidecar.service.webhooks import Applied, Rejection, WebhookOutcome
from sidecar.whatsapp.webhooks import InboundMessage, PreferenceUpdate, StatusUpdate

MAX_TEXT_BODY = 4096
MAX_MESSAGE_JSON = 64 * 1024
MAX_KEY = 128
MAX_TAGS = 16
MAX_TAG_CHARS = 256
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
OUTCOME_TO_PB = {
    Outcome.SENT: send_pb2.OUTCOME_SENT,
    Outcome.REJECTED: send_pb2.OUTCOME_REJECTED,
    Outcome.FAILED: send_pb2.OUTCOME_FAILED,
    Outcome.DEAD_LETTERED: send_pb2.OUTCOME_DEAD_LETTERED,
    Outcome.IN_DOUBT: send_pb2.OUTCOME_IN_DOUBT,
    Outcome.DRY_RUN: send_pb2.OUTCOME_DRY_RUN,
    Outcome.QUEUED: send_pb2.OUTCOME_QUEUED,
}
REJECTION_TO_PB = {
    Rejection.NONE: verify_pb2.REJECTION_UNSPECIFIED,
    Rejection.BAD_SIGNATURE: verify_pb2.REJECTION_BAD_SIGNATURE,
    Rejection.MISSING_SIGNATURE: verify_pb2.REJECTION_MISSING_SIGNATURE,
    Rejection.MALFORMED_SIGNATURE: verify_pb2.REJECTION_MALFORMED_SIGNATURE,
    Rejection.UNSUPPORTED_SIGNATURE: verify_pb2.REJECTION_UNSUPPORTED_SIGNATURE,
    Rejection.NOT_CONFIGURED: verify_pb2.REJECTION_NOT_CONFIGURED,
    Rejection.IP_NOT_ALLOWED: verify_pb2.REJECTION_IP_NOT_ALLOWED,
    Rejection.RATE_LIMITED: verify_pb2.REJECTION_RATE_LIMITED,
    Rejection.MALFORMED_PAYLOAD: verify_pb2.REJECTION_MALFORMED_PAYLOAD,
    Rejection.TOO_LARGE: verify_pb2.REJECTION_TOO_LARGE,
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


# ---------------------------------------------------------------------- send


def _template(t: send_pb2.Template) -> dict[str, Any]:
    if not t.name:
        raise InvalidRequest("template.name", "required")
    if not t.language.code:
        raise InvalidRequest("template.language.code", "required")
    out: dict[str, Any] = {
        "name": text_field(t.name, "template.name", 512),
        "language": {"code": t.language.code, "policy": t.language.policy or "deterministic"},
    }
    components = []
    for i, c in enumerate(t.components):
        where = f"template.components[{i}]"
        if not c.type:
            raise InvalidRequest(f"{where}.type", "required")
        comp: dict[str, Any] = {"type": c.type}
        if c.sub_type:
            comp["sub_type"] = c.sub_type
        if c.type == "button":
            comp["index"] = str(c.index)
        params = []
        for j, p in enumerate(c.parameters):
            pwhere = f"{where}.parameters[{j}]"
            param: dict[str, Any] = {"type": p.type or "text"}
            if p.text:
                param["text"] = p.text
            if p.payload:
                param["payload"] = p.payload
            if p.parameter_name:
                param["parameter_name"] = p.parameter_name
            if p.json:
                extra = _json_object(p.json, f"{pwhere}.json", 16 * 1024)
                param.update(extra)
            params.append(param)
        if params:
            comp["parameters"] = params
        components.append(comp)
    if components:
        out["components"] = components
    return out


def _json_object(text: str, field: str, limit: int) -> dict[str, Any]:
    if len(text) > limit:
        raise InvalidRequest(field, f"at most {limit} bytes")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidRequest(field, "must be valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidRequest(field, "must be a JSON object")
    return value


def send_command(
    req: send_pb2.SendRequest,
    default_phone_number_id: str,
    *,
    key_required: bool = False,
    build_body: bool = True,
) -> SendCommand:
    """Validate a SendRequest and build the Graph body once (``Check`` needs
    the validation, not the body: ``build_body=False`` leaves ``body`` and
    ``content`` empty)."""
    key = req.idempotency_key
    if len(key) > MAX_KEY or (key and not key.isprintable()):
        raise InvalidRequest("idempotency_key", f"at most {MAX_KEY} printable characters")
    if key_required and not key:
        raise InvalidRequest("idempotency_key", "required for SendBatch and Enqueue")
    to = e164(req.to, "to")
    cat = category(req.category)
    pnid = req.phone_number_id or default_phone_number_id
    if not pnid:
        raise InvalidRequest("phone_number_id", "required (no WA_SIDECAR_PHONE_NUMBER_ID set)")
    if not pnid.isdigit() or len(pnid) > 32:
        raise InvalidRequest("phone_number_id", "must be the numeric id of a business number")
    given = [name for name in ("text", "template") if req.HasField(name)]
    if req.message_json:
        given.append("message_json")
    if len(given) != 1:
        raise InvalidRequest(
            "text",
            "exactly one of text, template or message_json is required"
            if not given
            else f"only one of text, template, message_json; got {', '.join(given)}",
        )
    if given[0] == "text":
        text = text_field(req.text.body, "text.body", MAX_TEXT_BODY, required=True)
        message: dict[str, Any] = {
            "type": "text",
            "text": {"preview_url": req.text.preview_url, "body": text},
        }
    elif given[0] == "template":
        message = {"type": "template", "template": _template(req.template)}
    else:
        message = _json_object(req.message_json, "message_json", MAX_MESSAGE_JSON)
        kind = message.get("type")
        if not isinstance(kind, str) or not kind:
            raise InvalidRequest("message_json", 'must have a "type" string')
        for reserved in ("to", "messaging_product", "biz_opaque_callback_data"):
            if reserved in message:
                raise InvalidRequest("message_json", f'must not set "{reserved}"')
    if len(req.tags) > MAX_TAGS:
        raise InvalidRequest("tags", f"at most {MAX_TAGS} tags")
    for k, v in req.tags.items():
        if len(k) > 64 or len(v) > MAX_TAG_CHARS:
            raise InvalidRequest("tags", "keys ≤ 64 and values ≤ 256 characters")
    free_form = message["type"] != "template"
    problem = category_problem(cat, free_form)
    if problem is not None:
        raise InvalidRequest("category", problem)
    if not build_body:
        return SendCommand(
            key=key,
            key_given=bool(key),
            to=to,
            category=cat,
            free_form=free_form,
            phone_number_id=pnid,
            body=b"",
            content=b"",
            dry_run=req.dry_run,
            tags={},
        )
    # One serialisation serves both the fingerprint (content without the key)
    # and the Graph body (the same bytes plus biz_opaque_callback_data).
    envelope = json.dumps(
        {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message},
        separators=(",", ":"),
    )
    callback = key or uuid.uuid4().hex
    body = f'{envelope[:-1]},"biz_opaque_callback_data":{json.dumps(callback)}}}'.encode()
    return SendCommand(
        key=callback,
        key_given=bool(key),
        to=to,
        category=cat,
        free_form=free_form,
        phone_number_id=pnid,
        body=body,
        content=f"{cat.value}|{pnid}|{envelope}".encode(),
        dry_run=req.dry_run,
        tags=dict(req.tags),
    )


def decision_pb(d: Decision) -> common_pb2.Decision:
    out = common_pb2.Decision(allowed=d.allowed, reason=REASON_TO_PB[d.reason], detail=d.detail)
    if d.retry_after > 0:
        out.retry_after.CopyFrom(duration(d.retry_after))
    return out


def send_response(r: SendResult) -> send_pb2.SendResponse:
    out = send_pb2.SendResponse(
        idempotency_key=r.key,
        outcome=OUTCOME_TO_PB[r.outcome],
        message_id=r.message_id,
        attempts=r.attempts,
    )
    out.decision.CopyFrom(decision_pb(r.decision))
    if r.error is not None:
        e = r.error
        out.error.CopyFrom(
            send_pb2.SendError(
                code=e.code,
                error_class=ERROR_CLASS_TO_PB[e.error_class],
                retryable=e.retryable,
                message=e.message,
                fbtrace_id=e.fbtrace_id,
                http_status=e.http_status,
                subcode=e.subcode,
            )
        )
    return out


# ---------------------------------------------------------------------- verify


def event_fields(applied: Applied) -> dict[str, Any]:
    """``verify_pb2.Event`` keyword arguments for ``applied`` (sub-messages as dicts).

    ``result.events.add(**event_fields(a))`` builds the event in place: a
    constructed ``Event`` put in a repeated field is copied, which was half of
    what building an answer cost.
    """
    e = applied.event
    if isinstance(e, StatusUpdate):
        status: dict[str, Any] = {
            "id": e.id,
            "status": e.status,
            "recipient_id": e.recipient_id,
            "timestamp": e.timestamp,
            "idempotency_key": e.callback_data,
            "phone_number_id": e.phone_number_id,
            "pricing_category": e.pricing_category,
            "opt_out": applied.opt_out,
        }
        if e.errors:
            status["errors"] = [
                {"code": x.code, "title": x.title, "message": x.message, "details": x.details}
                for x in e.errors
            ]
        return {"waba_id": e.waba_id, "status": status}
    if isinstance(e, InboundMessage):
        return {
            "waba_id": e.waba_id,
            "message": {
                "from_number": e.from_number,
                "id": e.id,
                "timestamp": e.timestamp,
                "type": e.type,
                "text": e.text,
                "button_payload": e.button_payload,
                "button_text": e.button_text,
                "phone_number_id": e.phone_number_id,
                "display_phone_number": e.display_phone_number,
                "context_id": e.context_id,
                "contact_name": e.contact_name,
                "opt_out": applied.opt_out,
                "opt_in": applied.opt_in,
            },
        }
    if isinstance(e, PreferenceUpdate):
        return {
            "waba_id": e.waba_id,
            "preference": {
                "wa_id": e.wa_id,
                "category": e.category,
                "value": e.value,
                "timestamp": e.timestamp,
                "detail": e.detail,
                "phone_number_id": e.phone_number_id,
                "opt_out": applied.opt_out,
                "opt_in": applied.opt_in,
            },
        }
    return {
        "waba_id": e.waba_id,
        "error": {
            "code": e.code,
            "title": e.title,
            "message": e.message,
            "details": e.details,
            "phone_number_id": e.phone_number_id,
        },
    }


def event_pb(applied: Applied) -> verify_pb2.Event:
    return verify_pb2.Event(**event_fields(applied))


def webhook_result(outcome: WebhookOutcome) -> verify_pb2.WebhookResult:
    if not outcome.valid:
        return verify_pb2.WebhookResult(
            valid=False, reason=REJECTION_TO_PB[outcome.rejection], detail=outcome.detail
        )
    result = verify_pb2.WebhookResult(
        valid=True, duplicate=outcome.duplicate, duplicate_events=outcome.duplicate_events
    )
    add = result.events.add
    for applied in outcome.events:
        add(**event_fields(applied))
    return result
