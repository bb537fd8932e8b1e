"""Four-eyes operations (SPEC §4.10): one principal asks, a different one approves.

With caller auth on, ``EraseSubject`` only records a pending operation; so
does ``OverrideSuppression`` (always: lifting a user's own opt-out against
the user's word is never one person's call). It runs when a *different*
principal with the ``approver`` role calls ``ApproveOperation`` before it
expires. The operation's arguments (number, reason, categories) are stored
encrypted (bound to the operation's row) and dropped once it has run; what
stays is the receipt, which holds no number.

Crash safety: approval first moves the record PENDING → APPROVED in the
store (one winner among concurrent approvers), then the erasure runs (it is
idempotent), then the record becomes COMPLETED with the receipt. A crash in
between leaves it APPROVED; the same approver calling again finishes it.

    ops = Operations(state, consent, cipher, ttl=86400)
    pending = await ops.request_erasure(e164, reason, requested_by="alice")
    outcome = await ops.approve(pending.id, approver="bob")
    pending = await ops.request_override(e164, [Category.MARKETING], reason, requested_by="alice")
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.errors import NotFound, PermissionDenied, PreconditionFailed
from sidecar.policy.types import Category
from sidecar.service.consent import ALL_CATEGORIES, ConsentManager
from sidecar.service.erasure import ErasureReceipt
from sidecar.stores.base import OperationRecord, OperationState, OperationStore

ERASE_SUBJECT = "erase_subject"
OVERRIDE_SUPPRESSION = "override_suppression"


class OperationStatus(enum.Enum):
    PENDING_APPROVAL = "pending_approval"
    COMPLETED = "completed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class OverrideReceipt:
    """What an approved override did; ``digest`` also covers the reason."""

    subject_index: str
    categories: tuple[Category, ...]
    requested_by: str
    approved_by: str
    overridden_at: float
    digest: str = ""


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    id: str
    status: OperationStatus
    receipt: ErasureReceipt | None = None
    expires_at: float = 0.0
    override: OverrideReceipt | None = None


def _where(operation_id: str) -> bytes:
    return aad("operations", "payload", operation_id)


class Operations:
    def __init__(
        self,
        state: OperationStore,
        consent: ConsentManager,
        cipher: FieldCipher,
        *,
        ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._consent = consent
        self._cipher = cipher
        self._ttl = ttl
        self._clock = clock

    async def request_erasure(
        self, e164: str, reason: str, *, requested_by: str
    ) -> OperationOutcome:
        """Record a pending erasure of ``e164`` (audited); nothing is erased yet."""
        return await self._request(ERASE_SUBJECT, e164, requested_by, reason=reason)

    async def request_override(
        self, e164: str, categories: Sequence[Category], reason: str, *, requested_by: str
    ) -> OperationOutcome:
        """Record a pending override of the user's suppression of ``categories``
        (empty = all; audited); nothing is lifted yet."""
        cats = [c.value for c in categories]
        return await self._request(
            OVERRIDE_SUPPRESSION, e164, requested_by, reason=reason, categories=cats
        )

    async def _request(
        self, kind: str, e164: str, requested_by: str, **arguments: Any
    ) -> OperationOutcome:
        op_id = secrets.token_hex(16)
        now = self._clock()
        payload = json.dumps({"e164": e164, **arguments}).encode()
        record = OperationRecord(
            id=op_id,
            kind=kind,
            payload=self._cipher.encrypt(payload, _where(op_id)),
            requested_by=requested_by,
            created_at=now,
            expires_at=now + self._ttl,
        )
        await self._state.put_operation(record)
        await self._consent.audit_operation(
            requested_by, "operation.requested", e164, operation_id=op_id, kind=kind
        )
        return OperationOutcome(
            op_id, OperationStatus.PENDING_APPROVAL, expires_at=record.expires_at
        )

    async def approve(self, operation_id: str, *, approver: str) -> OperationOutcome:
        """Run the pending operation as ``approver``; see the module docstring.

        Raises ``NotFound`` (no such id), ``PermissionDenied`` (the requester
        approving itself) or ``PreconditionFailed`` (another approver has it);
        an expired operation answers EXPIRED, a finished one its receipt.
        """
        now = self._clock()
        record = await self._state.approve_operation(operation_id, approver, now)
        if record is None:
            return self._why_not(await self._state.get_operation(operation_id), approver, now)
        details = json.loads(self._cipher.decrypt(record.payload, _where(record.id)))
        if record.kind == OVERRIDE_SUPPRESSION:
            override = await self._override(record, details, approver)
            await self._state.complete_operation(record.id, _encode(override))
            return OperationOutcome(record.id, OperationStatus.COMPLETED, override=override)
        receipt = await self._consent.erase(
            details["e164"], details["reason"], actor=record.requested_by, approver=approver
        )
        await self._state.complete_operation(record.id, _encode(receipt))
        return OperationOutcome(record.id, OperationStatus.COMPLETED, receipt)

    async def _override(
        self, record: OperationRecord, details: dict[str, Any], approver: str
    ) -> OverrideReceipt:
        """Lift the suppression whoever created it (idempotent) and audit it
        under the requester, naming the approver and the receipt's digest."""
        e164 = details["e164"]
        cats = tuple(Category(c) for c in details["categories"]) or ALL_CATEGORIES
        subject_index = await self._consent.lift_suppression(e164, cats)
        receipt = OverrideReceipt(subject_index, cats, record.requested_by, approver, self._clock())
        content = {**_fields(receipt), "reason": details["reason"]}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        await self._consent.audit_operation(
            record.requested_by,
            "consent.override",
            e164,
            cats,
            approved_by=approver,
            operation_id=record.id,
            digest=digest,
        )
        return dataclasses.replace(receipt, digest=digest)

    def _why_not(
        self, record: OperationRecord | None, approver: str, now: float
    ) -> OperationOutcome:
        if record is None:
            raise NotFound("operation_id: no such operation")
        if record.state is OperationState.COMPLETED:
            return _completed(record)
        if record.requested_by == approver:
            raise PermissionDenied("an operation must be approved by a different principal")
        if record.state is OperationState.PENDING and record.expires_at <= now:
            return OperationOutcome(
                record.id, OperationStatus.EXPIRED, expires_at=record.expires_at
            )
        raise PreconditionFailed("another principal approved this operation; it is running")


def _fields(receipt: ErasureReceipt | OverrideReceipt) -> dict[str, Any]:
    fields = dataclasses.asdict(receipt)
    if isinstance(receipt, OverrideReceipt):
        fields["categories"] = [c.value for c in receipt.categories]
    return fields


def _encode(receipt: ErasureReceipt | OverrideReceipt) -> bytes:
    return json.dumps(_fields(receipt), sort_keys=True).encode()


def _completed(record: OperationRecord) -> OperationOutcome:
    """The stored answer of a finished operation, asked for again."""
    done = OperationOutcome(record.id, OperationStatus.COMPLETED)
    if not record.result:
        return done
    fields = json.loads(record.result)
    if record.kind == OVERRIDE_SUPPRESSION:
        fields["categories"] = tuple(Category(c) for c in fields["categories"])
        return dataclasses.replace(done, override=OverrideReceipt(**fields))
    fields["erased"] = tuple(fields.get("erased", ()))
    return dataclasses.replace(done, receipt=ErasureReceipt(**fields))
