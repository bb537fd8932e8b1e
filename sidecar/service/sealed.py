"""A send's request kept encrypted in its record (``sends.request_ct``).

The outbox keeps every queued request this way, and a send that may have
reached Meta keeps its request the same way when the operator opted in to a
resend (``WA_SIDECAR_AMBIGUOUS_RESEND_AFTER``). The request (the number
included) is encrypted under the field key and bound to its idempotency key
(AAD ``sends ‖ request ‖ key``), so a blob moved to another record does not
decrypt.

    record = replace(record, request_ct=seal_request(cipher, cmd))
    cmd = open_request(cipher, record)   # DecryptionError once its key is gone
"""

from __future__ import annotations

import json

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.policy.types import Category
from sidecar.service.models import SendCommand
from sidecar.stores.base import SendRecord
from sidecar.whatsapp.messages import graph_body, stored_message


def seal_request(cipher: FieldCipher, cmd: SendCommand) -> bytes:
    """``cmd`` encrypted for its record."""
    return cipher.encrypt(_encode(cmd), _request_aad(cmd.key))


def open_request(cipher: FieldCipher, record: SendRecord) -> SendCommand:
    """The command sealed in ``record`` (``DecryptionError`` when the key
    that sealed it is gone; ``ValueError``/``KeyError`` when unreadable)."""
    data = json.loads(cipher.decrypt(record.request_ct, _request_aad(record.key)))
    return SendCommand(
        key=record.key,
        key_given=True,
        to=data["to"],
        category=Category(data["category"]),
        phone_number_id=data["phone_number_id"],
        message=stored_message(data["body"]),
        content=data["content"].encode(),
        tags=data["tags"],
    )


def _request_aad(key: str) -> bytes:
    return aad("sends", "request", key)


def _encode(cmd: SendCommand) -> bytes:
    return json.dumps(
        {
            "to": cmd.to,
            "category": cmd.category.value,
            "free_form": cmd.free_form,
            "phone_number_id": cmd.phone_number_id,
            "body": graph_body(cmd.envelope, cmd.key).decode(),
            "content": cmd.content.decode(),
            "tags": dict(cmd.tags),
        },
        separators=(",", ":"),
    ).encode()
