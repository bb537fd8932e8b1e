"""Use-case inputs and outputs, free of protobuf (``api/convert*.py`` translate)."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.policy.content import Content
from sidecar.policy.types import ALLOW, Category, Decision, ErrorClass, Reason
from sidecar.whatsapp.messages import envelope


class Outcome(enum.Enum):
    SENT = "sent"
    REJECTED = "rejected"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    IN_DOUBT = "in_doubt"
    DRY_RUN = "dry_run"
    QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class SendCommand:
    """A validated send request; build one with ``send_command``.

    ``message`` is what the send says. ``content`` is what the idempotency
    fingerprint covers (everything but the key): ``category|phone_number_id|``
    then the message for ``to`` as Graph JSON (``whatsapp.messages.envelope``),
    the bytes the Graph body is made of (``graph_body(cmd.envelope, cmd.key)``).
    """

    key: str
    key_given: bool
    to: str
    category: Category
    phone_number_id: str
    message: Content
    content: bytes
    dry_run: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def free_form(self) -> bool:
        """Not a template: allowed only inside the user's service window."""
        return self.message.free_form

    @property
    def envelope(self) -> bytes:
        """The message for ``to`` as Graph JSON, the tail of ``content``."""
        content = self.content
        return content[content.index(b"|", content.index(b"|") + 1) + 1 :]


def send_command(
    *,
    key: str,
    to: str,
    category: Category,
    phone_number_id: str,
    message: Content,
    dry_run: bool = False,
    tags: Mapping[str, str] | None = None,
    fingerprinted: bool = True,
) -> SendCommand:
    """A command for validated input; an empty ``key`` gets a random one.

    ``fingerprinted=False`` (``Check``, which only decides) skips writing
    ``content``, and the key stays as given.
    """
    if not fingerprinted:
        return SendCommand(key, bool(key), to, category, phone_number_id, message, b"", dry_run)
    return SendCommand(
        key or uuid.uuid4().hex,
        bool(key),
        to,
        category,
        phone_number_id,
        message,
        f"{category.value}|{phone_number_id}|{envelope(to, message)}".encode(),
        dry_run,
        dict(tags) if tags else {},
    )


@dataclass(frozen=True, slots=True)
class SendFailure:
    """The last Graph failure of a send (already scrubbed of numbers/tokens)."""

    code: int
    error_class: ErrorClass
    retryable: bool
    message: str
    fbtrace_id: str = ""
    http_status: int = 0
    subcode: int = 0


@dataclass(frozen=True, slots=True)
class SendResult:
    key: str
    outcome: Outcome
    message_id: str = ""
    decision: Decision = ALLOW
    error: SendFailure | None = None
    attempts: int = 0

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "outcome": self.outcome.value,
            "message_id": self.message_id,
            "attempts": self.attempts,
        }
        if not self.decision.allowed:
            data["decision"] = {
                "reason": self.decision.reason.value,
                "detail": self.decision.detail,
                "retry_after": self.decision.retry_after,
            }
        if self.error is not None:
            e = self.error
            data["error"] = {
                "code": e.code,
                "class": e.error_class.value,
                "retryable": e.retryable,
                "message": e.message,
                "fbtrace_id": e.fbtrace_id,
                "http_status": e.http_status,
                "subcode": e.subcode,
            }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, key: str, raw: bytes) -> SendResult:
        data = json.loads(raw)
        decision = ALLOW
        if "decision" in data:
            d = data["decision"]
            decision = Decision(False, Reason(d["reason"]), d["detail"], d["retry_after"])
        error = None
        if "error" in data:
            e = data["error"]
            error = SendFailure(
                code=e["code"],
                error_class=ErrorClass(e["class"]),
                retryable=e["retryable"],
                message=e["message"],
                fbtrace_id=e["fbtrace_id"],
                http_status=e["http_status"],
                subcode=e["subcode"],
            )
        return cls(
            key=key,
            outcome=Outcome(data["outcome"]),
            message_id=data["message_id"],
            decision=decision,
            error=error,
            attempts=data["attempts"],
        )


def rejected(key: str, decision: Decision) -> SendResult:
    return SendResult(key=key, outcome=Outcome.REJECTED, decision=decision)
