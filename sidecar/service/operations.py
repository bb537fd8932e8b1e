"""Four-eyes operations (SPEC §4.10): one principal asks, a different one approves.

With caller auth on, ``EraseSubject`` only records a pending operation; it
runs when a *different* principal with the ``approver`` role calls
``ApproveOperation`` before it expires. The operation's number and reason
are stored encrypted (bound to the operation's row) and dropped once it has
run; what stays is the erasure receipt, which holds no number.

Crash safety: approval first moves the record PENDING → APPROVED in the
store (one winner among concurrent approvers), then the erasure runs (it is
idempotent), then the record becomes COMPLETED with the receipt. A crash in
between leaves it APPROVED; the same approver calling again finishes it.

    ops = Operations(state, consent, cipher, ttl=86400)
    pending = await ops.request_erasure(e164, reason, requested_by="alice")
    outcome = await ops.approve(pending.id, approver="bob")
"""

from __future__ import annotations

import dataclasses
import enum
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.errors import NotFound, PermissionDenied, PreconditionFailed
from sidecar.service.consent import ConsentManager, ErasureReceipt
from sidecar.stores.base import OperationRecord, OperationState, StateStore

ERASE_SUBJECT = "erase_subject"


class OperationStatus(enum.Enum):
    PENDING_APPROVAL = "pending_approval"
    COMPLETED = "completed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    id: str
    status: OperationStatus
    receipt: ErasureReceipt | None = None
    expires_at: float = 0.0


def _where(operation_id: str) -> bytes:
    return aad("operations", "payload", operation_id)


class Operations:
    def __init__(
        self,
        state: StateStore,
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
        op_id = secrets.token_hex(16)
        now = self._clock()
        payload = json.dumps({"e164": e164, "reason": reason}).encode()
        record = OperationRecord(
            id=op_id,
            kind=ERASE_SUBJECT,
            payload=self._cipher.encrypt(payload, _where(op_id)),
            requested_by=requested_by,
            created_at=now,
            expires_at=now + self._ttl,
        )
        await self._state.put_operation(record)
        await self._consent.audit_operation(
            requested_by, "operation.requested", e164, operation_id=op_id, kind=ERASE_SUBJECT
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
        receipt = await self._consent.erase(
            details["e164"], details["reason"], actor=record.requested_by, approver=approver
        )
        await self._state.complete_operation(record.id, _encode(receipt))
        return OperationOutcome(record.id, OperationStatus.COMPLETED, receipt)

    def _why_not(
        self, record: OperationRecord | None, approver: str, now: float
    ) -> OperationOutcome:
        if record is None:
            raise NotFound("operation_id: no such operation")
        if record.state is OperationState.COMPLETED:
            return OperationOutcome(record.id, OperationStatus.COMPLETED, _decode(record.result))
        if record.requested_by == approver:
            raise PermissionDenied("an operation must be approved by a different principal")
        if record.state is OperationState.PENDING and record.expires_at <= now:
            return OperationOutcome(
                record.id, OperationStatus.EXPIRED, expires_at=record.expires_at
            )
        raise PreconditionFailed("another principal approved this operation; it is running")


def _encode(receipt: ErasureReceipt) -> bytes:
    return json.dumps(dataclasses.asdict(receipt), sort_keys=True).encode()


def _decode(data: bytes) -> ErasureReceipt | None:
    if not data:
        return None
    fields = json.loads(data)
    fields["erased"] = tuple(fields.get("erased", ()))
    return ErasureReceipt(**fields)
