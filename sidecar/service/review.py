"""Sends a person must look at: dead letters and in-doubt sends.

A dead letter is a send whose retries ran out; its request is kept encrypted
so that ``requeue`` can send it again through the whole pipeline (consent is
checked anew) under the derived key ``<key>#r<n>``, ``n`` the next free
number. The original key keeps its DEAD_LETTERED outcome as history. A
requeue that policy refuses puts the dead letter back.

An in-doubt send is one that may have reached Meta: an IN_FLIGHT record of
an incarnation that crashed during the Graph call (its owner lease lapsed; a
live replica's sends are not in doubt) or whose call was cut off, or an
IN_DOUBT record whose Graph call got no usable answer (a read timeout, a
connection lost mid-answer, a 2xx without a message id). It is listed here
and never resent blindly; the status webhook that carries its key back
resolves it (``service/webhooks.py``).
When no webhook will come (Meta never got it, or its webhooks go to another
app), a person resolves it here: ``resolve_in_doubt`` records SENT or
FAILED as the key's outcome, and only for a send that is still in doubt.

    review = Review(sender, state, cipher)
    letters = await review.dead_letters(limit=100)
    result, requeued = await review.requeue(letters[0].id)
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.errors import NotFound, PreconditionFailed
from sidecar.policy.types import Category, ErrorClass
from sidecar.service.models import Outcome, SendCommand, SendFailure, SendResult, send_command
from sidecar.service.send import Sender
from sidecar.stores.base import (
    DeadLetterRecord,
    DeadLetterStore,
    SendRecord,
    SendState,
    SendStore,
)
from sidecar.whatsapp.messages import stored_message

log = logging.getLogger(__name__)

_REQUEUE_SUFFIX = re.compile(r"#r\d+$")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    key: str
    phone_number_id: str
    category: Category
    to_masked: str
    error: SendFailure
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class InDoubtSend:
    key: str
    phone_number_id: str
    category: Category
    to_masked: str
    started_at: float


class ReviewState(SendStore, DeadLetterStore, Protocol):
    """The state roles review reads and writes: send records and dead letters."""


class Review:
    """Lists dead letters and in-doubt sends; requeues dead letters."""

    def __init__(
        self,
        sender: Sender,
        state: ReviewState,
        cipher: FieldCipher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sender = sender
        self._state = state
        self._cipher = cipher
        self._clock = clock

    async def dead_letters(self, limit: int, after_id: str = "") -> list[DeadLetter]:
        records = await self._state.list_dead_letters(limit, after_id)
        return [_dead_letter(r) for r in records]

    async def in_doubt(self, limit: int, after_key: str = "") -> list[InDoubtSend]:
        """Sends held in doubt and IN_FLIGHT sends of owners whose lease
        lapsed (crashed), by key."""
        records = await self._state.list_in_doubt(
            self._sender.owner, limit, after_key, now=self._clock()
        )
        return [
            InDoubtSend(r.key, r.phone_number_id, Category(r.category), r.to_masked, r.created_at)
            for r in records
        ]

    async def resolve_in_doubt(self, key: str, sent: bool, message_id: str = "") -> SendResult:
        """Close an in-doubt send: ``sent`` → OUTCOME_SENT (with ``message_id``
        when known), else OUTCOME_FAILED, not retryable. Raises ``NotFound``
        for an unknown key and ``PreconditionFailed`` for a send that is not
        in doubt (finished, queued, or live in this process)."""
        record = await self._state.get_send(key)
        if record is None:
            raise NotFound("no send has this idempotency_key")
        in_doubt = record.state is SendState.IN_DOUBT or (
            record.state is SendState.IN_FLIGHT and record.owner != self._sender.owner
        )
        if in_doubt:
            result = (
                SendResult(key, Outcome.SENT, message_id=message_id or record.message_id)
                if sent
                else SendResult(key, Outcome.FAILED, error=_NOT_SENT)
            )
            if await self._state.resolve_in_doubt(
                key,
                self._sender.owner,
                result.outcome.value,
                message_id if sent else "",
                result.to_json(),
                self._clock(),
            ):
                log.info(
                    "in-doubt send resolved",
                    extra={
                        "event": "in_doubt_resolved",
                        "idempotency_key": key,
                        "outcome": result.outcome.value,
                    },
                )
                return result
            record = await self._state.get_send(key) or record  # resolved meanwhile
        why = _why_not(record, self._sender.owner)
        raise PreconditionFailed(f"this send is not in doubt: {why}")

    async def requeue(self, dead_letter_id: str) -> tuple[SendResult, bool]:
        """Send a dead letter again; ``(result, requeued)`` — False when policy
        refused it now and the dead letter was put back."""
        record = await self._state.take_dead_letter(dead_letter_id)
        if record is None:
            raise NotFound(f"dead letter {dead_letter_id!r} not found")
        key = ""
        try:
            request = json.loads(
                self._cipher.decrypt(record.request_ct, aad("dead_letters", "request", record.id))
            )
            key = await self._next_key(record.key)
            result = await self._sender.send(_command(request, key))
        except BaseException:
            # Put it back unless the new send got as far as recording its
            # intent (then it may be on the wire, and ListInDoubt shows it).
            if not key or await self._state.get_send(key) is None:
                await self._state.put_dead_letter(record)
            raise
        if result.outcome is Outcome.REJECTED:
            await self._state.put_dead_letter(record)
            return result, False
        log.info(
            "dead letter requeued",
            extra={"event": "dead_letter_requeued", "idempotency_key": key},
        )
        return result, True

    async def _next_key(self, key: str) -> str:
        base = _REQUEUE_SUFFIX.sub("", key)
        n = 1
        while await self._state.get_send(f"{base}#r{n}") is not None:
            n += 1
        return f"{base}#r{n}"


_NOT_SENT = SendFailure(
    code=0,
    error_class=ErrorClass.PERMANENT,
    retryable=False,
    message="resolved in review: Meta never received this send",
)


def _why_not(record: SendRecord, owner: str) -> str:
    if record.state is SendState.DONE:
        return "it has finished"
    if record.state in (SendState.QUEUED, SendState.RESERVED):
        return "it waits in the outbox"
    if record.owner == owner:
        return "this sidecar is sending it now"
    return "a live sidecar is sending it (its owner lease has not lapsed)"


def _dead_letter(r: DeadLetterRecord) -> DeadLetter:
    e = json.loads(r.error_json)
    error = SendFailure(
        code=e["code"],
        error_class=ErrorClass(e["class"]),
        retryable=True,  # only retryable failures are dead-lettered
        message=e["message"],
        fbtrace_id=e["fbtrace_id"],
        http_status=e["http_status"],
    )
    return DeadLetter(
        id=r.id,
        key=r.key,
        phone_number_id=r.phone_number_id,
        category=Category(r.category),
        to_masked=r.to_masked,
        error=error,
        attempts=r.attempts,
        created_at=r.created_at,
    )


def _command(request: dict[str, Any], key: str) -> SendCommand:
    """The dead letter's message under ``key``, fingerprinted like a client request."""
    return send_command(
        key=key,
        to=request["to"],
        category=Category(request["category"]),
        phone_number_id=request["phone_number_id"],
        message=stored_message(request["body"]),
    )
