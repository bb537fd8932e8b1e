"""Send records and the answers they hold: one place builds a ``SendRecord``
(the outbox queues it, ``Sender`` marks it in flight), reads an answer back
from one, and builds the dead letter of a send that gave up.
"""

from __future__ import annotations

import json
import uuid

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.policy.types import Category, Decision, Reason
from sidecar.redact import mask_number
from sidecar.service.models import Outcome, SendCommand, SendResult, rejected
from sidecar.stores.base import DeadLetterRecord, SendRecord, SendState, Subject
from sidecar.whatsapp.messages import graph_body


def new_record(
    cmd: SendCommand,
    fingerprint: str,
    state: SendState,
    *,
    owner: str,
    subject: Subject | None,
    now: float,
    request_ct: bytes = b"",
) -> SendRecord:
    """The record of a send about to be queued (QUEUED, no owner) or sent
    (IN_FLIGHT, owned by this process): the number only masked."""
    return SendRecord(
        key=cmd.key,
        fingerprint=fingerprint,
        state=state,
        owner=owner,
        phone_number_id=cmd.phone_number_id,
        category=cmd.category.value,
        subject_id=subject.id if subject else "",
        to_masked=mask_number(cmd.to),
        created_at=now,
        updated_at=now,
        request_ct=request_ct,
    )


def stored_result(record: SendRecord) -> SendResult:
    """The outcome of a DONE record. One resolved by a status webhook has no
    stored response, only its outcome and message id."""
    if not record.response:
        return SendResult(record.key, Outcome(record.outcome), message_id=record.message_id)
    return SendResult.from_json(record.key, record.response)


def held_result(record: SendRecord) -> SendResult:
    """The answer of an IN_DOUBT record: IN_DOUBT, with the failure that
    left it in doubt when stored."""
    if record.response:
        held = SendResult.from_json(record.key, record.response)
        if held.outcome is Outcome.IN_DOUBT:
            return held
    return SendResult(record.key, Outcome.IN_DOUBT)


def opted_out(category: Category) -> Decision:
    return Decision(False, Reason.OPTED_OUT, f"recipient opted out of {category.value}")


REFUSALS = {c: rejected("", opted_out(c)).to_json() for c in Category}
"""The stored response of a send refused at its start, per category."""


def dead_letter(
    cmd: SendCommand, result: SendResult, cipher: FieldCipher, now: float
) -> DeadLetterRecord:
    """The dead letter of a send that gave up: the failure in clear (no
    number in it), the request sealed for a requeue."""
    assert result.error is not None
    dl_id = uuid.uuid4().hex
    e = result.error
    error_json = json.dumps(
        {
            "code": e.code,
            "class": e.error_class.value,
            "message": e.message,
            "fbtrace_id": e.fbtrace_id,
            "http_status": e.http_status,
        }
    )
    request = json.dumps(
        {
            "to": cmd.to,
            "category": cmd.category.value,
            "free_form": cmd.free_form,
            "phone_number_id": cmd.phone_number_id,
            "body": graph_body(cmd.envelope, cmd.key).decode(),
        }
    ).encode()
    return DeadLetterRecord(
        id=dl_id,
        key=cmd.key,
        phone_number_id=cmd.phone_number_id,
        category=cmd.category.value,
        to_masked=mask_number(cmd.to),
        error_json=error_json,
        attempts=result.attempts,
        created_at=now,
        request_ct=cipher.encrypt(request, aad("dead_letters", "request", dl_id)),
    )
