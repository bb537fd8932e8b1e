"""SendService's messages ⇄ send commands and results.

``send_command`` validates a ``SendRequest`` field by field and hands the
service typed content (``policy.content``); the Graph body is written at the
WhatsApp edge (``whatsapp/messages.py``), not here.
"""

from __future__ import annotations

import json
from typing import Any

from sidecar.api._gen.wasidecar.v1 import send_pb2
from sidecar.api.convert import ERROR_CLASS_TO_PB, category, decision_pb, duration, e164, text_field
from sidecar.errors import InvalidRequest
from sidecar.policy.consent import category_problem
from sidecar.policy.content import (
    NO_EXTRA,
    Content,
    RawMessage,
    Template,
    TemplateComponent,
    TemplateParameter,
    Text,
    raw_problem,
)
from sidecar.policy.retry import Classification
from sidecar.service.models import Outcome, SendCommand, SendFailure, SendResult
from sidecar.service.models import send_command as new_command

MAX_TEXT_BODY = 4096
MAX_MESSAGE_JSON = 64 * 1024
MAX_KEY = 128
MAX_TAGS = 16
MAX_TAG_CHARS = 256
MAX_PARAMETER_JSON = 16 * 1024

OUTCOME_TO_PB = {
    Outcome.SENT: send_pb2.OUTCOME_SENT,
    Outcome.REJECTED: send_pb2.OUTCOME_REJECTED,
    Outcome.FAILED: send_pb2.OUTCOME_FAILED,
    Outcome.DEAD_LETTERED: send_pb2.OUTCOME_DEAD_LETTERED,
    Outcome.IN_DOUBT: send_pb2.OUTCOME_IN_DOUBT,
    Outcome.DRY_RUN: send_pb2.OUTCOME_DRY_RUN,
    Outcome.QUEUED: send_pb2.OUTCOME_QUEUED,
}


def send_command(
    req: send_pb2.SendRequest,
    default_phone_number_id: str,
    *,
    key_required: bool = False,
    fingerprinted: bool = True,
) -> SendCommand:
    """Validate a SendRequest into a command (``Check`` only decides:
    ``fingerprinted=False`` leaves ``content`` empty)."""
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
    message = _content(req)
    if len(req.tags) > MAX_TAGS:
        raise InvalidRequest("tags", f"at most {MAX_TAGS} tags")
    for k, v in req.tags.items():
        if len(k) > 64 or len(v) > MAX_TAG_CHARS:
            raise InvalidRequest("tags", "keys ≤ 64 and values ≤ 256 characters")
    problem = category_problem(cat, message.free_form)
    if problem is not None:
        raise InvalidRequest("category", problem)
    return new_command(
        key=key,
        to=to,
        category=cat,
        phone_number_id=pnid,
        message=message,
        dry_run=req.dry_run,
        tags=req.tags,
        fingerprinted=fingerprinted,
    )


def _content(req: send_pb2.SendRequest) -> Content:
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
        body = text_field(req.text.body, "text.body", MAX_TEXT_BODY, required=True)
        return Text(body, req.text.preview_url)
    if given[0] == "template":
        return _template(req.template)
    message = _json_object(req.message_json, "message_json", MAX_MESSAGE_JSON)
    problem = raw_problem(message)
    if problem is not None:
        raise InvalidRequest("message_json", problem)
    return RawMessage(message)


def _template(t: send_pb2.Template) -> Template:
    if not t.name:
        raise InvalidRequest("template.name", "required")
    if not t.language.code:
        raise InvalidRequest("template.language.code", "required")
    name = text_field(t.name, "template.name", 512)
    components = []
    for i, c in enumerate(t.components):
        if not c.type:
            raise InvalidRequest(f"template.components[{i}].type", "required")
        parameters = []
        for j, p in enumerate(c.parameters):
            extra = NO_EXTRA
            if p.json:
                where = f"template.components[{i}].parameters[{j}].json"
                extra = _json_object(p.json, where, MAX_PARAMETER_JSON)
            parameters.append(TemplateParameter(p.type, p.text, p.payload, p.parameter_name, extra))
        components.append(TemplateComponent(c.type, c.sub_type, c.index, tuple(parameters)))
    return Template(
        name,
        t.language.code,
        t.language.policy,
        tuple(components),
    )


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


def send_error_pb(e: SendFailure) -> send_pb2.SendError:
    return send_pb2.SendError(
        code=e.code,
        error_class=ERROR_CLASS_TO_PB[e.error_class],
        retryable=e.retryable,
        message=e.message,
        fbtrace_id=e.fbtrace_id,
        http_status=e.http_status,
        subcode=e.subcode,
    )


def send_response(r: SendResult) -> send_pb2.SendResponse:
    out = send_pb2.SendResponse(
        idempotency_key=r.key,
        outcome=OUTCOME_TO_PB[r.outcome],
        message_id=r.message_id,
        attempts=r.attempts,
    )
    out.decision.CopyFrom(decision_pb(r.decision))
    if r.error is not None:
        out.error.CopyFrom(send_error_pb(r.error))
    return out


def classification_pb(c: Classification) -> send_pb2.Classification:
    out = send_pb2.Classification(
        error_class=ERROR_CLASS_TO_PB[c.error_class],
        retryable=c.retryable,
        code=c.code or 0,
        reason=c.reason,
    )
    if c.retry_after > 0:
        out.retry_after.CopyFrom(duration(c.retry_after))
    return out
