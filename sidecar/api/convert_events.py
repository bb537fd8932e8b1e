"""VerifyService's answers: webhook outcomes and applied events → protobuf."""

from __future__ import annotations

from typing import Any

from sidecar.api._gen.wasidecar.v1 import verify_pb2
from sidecar.service.events import (
    AccountAlert,
    Applied,
    CapabilityUpdate,
    InboundMessage,
    PhoneQualityUpdate,
    PreferenceUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
)
from sidecar.service.webhooks import Rejection, WebhookOutcome

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
    if isinstance(
        e,
        TemplateStatusUpdate
        | TemplateCategoryUpdate
        | PhoneQualityUpdate
        | CapabilityUpdate
        | AccountAlert,
    ):
        return _account_fields(e)
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


def _account_fields(
    e: TemplateStatusUpdate
    | TemplateCategoryUpdate
    | PhoneQualityUpdate
    | CapabilityUpdate
    | AccountAlert,
) -> dict[str, Any]:
    """The ``Event`` keyword arguments of an account webhook."""
    fields: dict[str, Any] = {"waba_id": e.waba_id, "entry_time": e.entry_time}
    if isinstance(e, TemplateStatusUpdate):
        fields["template_status"] = {
            "template_id": e.template_id,
            "name": e.name,
            "language": e.language,
            "event": e.event,
            "reason": e.reason,
            "category": e.category,
            "title": e.title,
            "description": e.description,
            "disable_date": e.disable_date,
        }
    elif isinstance(e, TemplateCategoryUpdate):
        fields["template_category"] = {
            "template_id": e.template_id,
            "name": e.name,
            "language": e.language,
            "previous_category": e.previous_category,
            "new_category": e.new_category,
            "correct_category": e.correct_category,
            "effective_at": e.effective_at,
        }
    elif isinstance(e, PhoneQualityUpdate):
        fields["phone_quality"] = {
            "display_phone_number": e.display_phone_number,
            "event": e.event,
            "current_limit": e.current_limit,
            "old_limit": e.old_limit,
            "max_daily": e.max_daily,
        }
    elif isinstance(e, CapabilityUpdate):
        fields["capability"] = {
            "max_daily_per_business": e.max_daily_per_business,
            "max_daily_per_phone": e.max_daily_per_phone,
            "max_phone_numbers_per_business": e.max_phone_numbers_per_business,
            "max_phone_numbers_per_waba": e.max_phone_numbers_per_waba,
        }
    else:
        fields["account_alert"] = {
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "severity": e.severity,
            "status": e.status,
            "type": e.type,
            "description": e.description,
        }
    return fields


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
