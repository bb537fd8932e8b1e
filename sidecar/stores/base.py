"""Store contracts: one small Protocol per concern.

This module is the one to import from. The records the stores keep live in
``stores/records.py``, the quota and dedup stores in ``stores/counters.py``,
the engagement role (template events, sessions) in ``stores/engagement.py``,
the send path's roles (sends, dead letters, outbox, leases) in
``stores/sending.py``; all are re-exported here.

Backends implement primitives only; cross-cutting concerns (encryption of
personal data, blind indexes, metrics, timeouts) live in the services that
call them. Every backend passes the same contract suite
(``tests/integration/test_store_contract.py``).

Who implements what (``factory.py`` is the only place that picks):

    concern          embedded (default)    scale-out
    QuotaStore       memory                redis
    DedupStore       sqlite                redis
    StateStore       sqlite                postgresql
      (subjects, consent, suppression, service window, sends/idempotency,
       dead letters, outbox, audit, four-eyes operations, engagement)

Rules for every backend:
- A method that returns has made its write durable (SQLite WAL commit,
  PostgreSQL commit); a crash afterwards loses nothing.
- Failures to reach the backend raise ``StoreUnavailable``; nothing else
  escapes except programming errors.
- Phone numbers never reach a store in plaintext: callers pass blind indexes
  and ciphertexts (``bytes``) produced by ``sidecar.crypto``.
- Times are Unix seconds (float) supplied by the caller unless stated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from sidecar.stores.counters import DedupStore, QuotaStore
from sidecar.stores.engagement import EngagementStore
from sidecar.stores.records import (
    OUTCOME_IN_DOUBT,
    OUTCOME_REJECTED,
    OUTCOME_SENT,
    AuditRecord,
    ConsentAction,
    ConsentRecord,
    ConsentSnapshot,
    DeadLetterRecord,
    OperationRecord,
    OperationState,
    SendContext,
    SendRecord,
    SendState,
    StartVerdict,
    StatusRecord,
    Subject,
    SubjectData,
)
from sidecar.stores.sending import DeadLetterStore, LeaseStore, OutboxStore, SendStore

__all__ = [
    "ENCRYPTED_KINDS",
    "OUTCOME_IN_DOUBT",
    "OUTCOME_REJECTED",
    "OUTCOME_SENT",
    "AuditRecord",
    "AuditStore",
    "ConsentAction",
    "ConsentRecord",
    "ConsentSnapshot",
    "ConsentStore",
    "DeadLetterRecord",
    "DeadLetterStore",
    "DedupStore",
    "EngagementStore",
    "KeyRotationStore",
    "LeaseStore",
    "OperationRecord",
    "OperationState",
    "OperationStore",
    "OutboxStore",
    "QuotaStore",
    "SendContext",
    "SendRecord",
    "SendState",
    "SendStore",
    "StartVerdict",
    "StateStore",
    "StatusRecord",
    "Subject",
    "SubjectData",
    "SubjectStore",
    "WindowStore",
]

# --------------------------------------------------------------------------- state


@runtime_checkable
class SubjectStore(Protocol):
    """Phone numbers as subjects: lookup by truncated blind index returns
    candidates, which the caller decrypts and compares."""

    async def subjects_by_index(self, blind_index: str) -> list[Subject]: ...

    async def create_subject(self, subject: Subject, same: Callable[[Subject], bool]) -> Subject:
        """Return the existing subject with ``subject.blind_index`` for which
        ``same(candidate)`` is true (the caller decrypts and compares), else
        insert ``subject`` and return it. Serialised per blind index, so two
        replicas creating one number at once end with one subject."""
        ...

    async def delete_subject(self, subject_id: str) -> dict[str, int]:
        """Delete the subject, its wrapped data key and every row keyed by it
        (consent, windows, sends, dead letters); returns counts per kind."""
        ...

    async def subject_data(self, subject_id: str, suppression_index: str = "") -> SubjectData:
        """Everything keyed by ``subject_id``; ``suppressed`` needs the
        subject's ``suppression_index`` (suppression is not keyed by subject)."""
        ...


@runtime_checkable
class ConsentStore(Protocol):
    """Append-only consent history, current state and the suppression list."""

    async def append_consent(
        self,
        record: ConsentRecord,
        suppression_index: str,
        *,
        lift_suppression: bool,
        by_user: bool = True,
    ) -> bool:
        """Append ``record`` and update current state in one transaction.

        Current state is last-writer-by-``recorded_at``; a REVOKE wins a tie.
        A REVOKE adds ``(suppression_index, category)`` to the suppression
        list, as the user's entry when ``by_user`` (an app's entry becomes
        the user's; the user's never becomes the app's). A GRANT that became
        current removes the entry only if ``lift_suppression`` and the entry
        is not the user's: only the user, or ``unsuppress``, lifts that.
        Returns False (and changes nothing) when ``record.event_key`` was
        applied before.
        """
        ...

    async def consent_history(self, subject_id: str) -> list[ConsentRecord]: ...

    async def snapshot(self, subject_id: str | None, suppression_index: str) -> ConsentSnapshot:
        """Suppressed categories and current action per category, one round trip."""
        ...

    async def suppress(self, suppression_index: str, categories: Sequence[str], now: float) -> None:
        """Add suppression entries without a subject (erasure keeps these); a
        new entry counts as the user's."""
        ...

    async def unsuppress(self, suppression_index: str, categories: Sequence[str]) -> None:
        """Remove suppression entries whoever created them (a re-subscription
        that config allows, or an approved override)."""
        ...


@runtime_checkable
class WindowStore(Protocol):
    """Last inbound message time per (business phone number id, subject)."""

    async def touch_window(self, phone_number_id: str, subject_id: str, at: float) -> None:
        """Record an inbound message; keeps the maximum time (idempotent)."""
        ...

    async def last_inbound(self, phone_number_id: str, subject_id: str) -> float | None: ...


@runtime_checkable
class AuditStore(Protocol):
    async def append_audit(
        self, time: float, actor: str, action: str, subject_index: str, detail_json: str
    ) -> AuditRecord:
        """Append one entry, chaining it to the previous one atomically."""
        ...

    async def audit_entries(
        self, after_seq: int, limit: int, subject_index: str = ""
    ) -> list[AuditRecord]: ...


@runtime_checkable
class OperationStore(Protocol):
    """Four-eyes operations: requested by one principal, run once another approves."""

    async def put_operation(self, record: OperationRecord) -> None:
        """Insert ``record`` (committed when it returns); a duplicate id is a bug."""
        ...

    async def get_operation(self, operation_id: str) -> OperationRecord | None: ...

    async def approve_operation(
        self, operation_id: str, approver: str, now: float
    ) -> OperationRecord | None:
        """Atomically move a PENDING, unexpired (``expires_at > now``) operation
        whose ``requested_by != approver`` to APPROVED with ``approved_by =
        approver``, and return the updated record. Also return the record
        unchanged when it is already APPROVED by this same approver (a retry
        after a crash mid-operation). Otherwise (unknown, expired,
        self-approval, approved by someone else, completed) return None and
        change nothing; the caller reads the record to say why. Two concurrent
        approvals by different principals: exactly one wins."""
        ...

    async def complete_operation(self, operation_id: str, result: bytes) -> None:
        """APPROVED → COMPLETED, store ``result`` and set ``payload`` to b""
        (the encrypted personal data is no longer needed). An operation in
        any other state (or unknown) is left unchanged."""
        ...

    async def purge_operations(self, older_than: float) -> int:
        """Delete operations with ``expires_at < older_than`` that are not
        APPROVED (an approved one that never completed is evidence of a
        crash; it is kept). Returns the number deleted."""
        ...


ENCRYPTED_KINDS = ("subject_dek", "dead_letter", "send_request", "operation_payload")
"""Blobs under the keyring: wrapped subject data keys (``subjects.wrapped_dek``),
dead-letter requests and queued send requests (``request_ct``), and the
number and reason of pending four-eyes operations (``operations.payload``)."""


@runtime_checkable
class KeyRotationStore(Protocol):
    """Online key rotation: page through keyring-encrypted blobs and swap them."""

    async def encrypted_rows(self, kind: str, after_id: str, limit: int) -> list[tuple[str, bytes]]:
        """``(row id, blob)`` of ``kind`` (one of ``ENCRYPTED_KINDS``) with id >
        ``after_id``, ordered by id; empty blobs are skipped."""
        ...

    async def replace_encrypted(self, kind: str, row_id: str, old: bytes, new: bytes) -> bool:
        """Compare-and-set one blob; False (nothing written) if it is no
        longer ``old`` (changed or deleted meanwhile)."""
        ...


@runtime_checkable
class StateStore(
    KeyRotationStore,
    SubjectStore,
    ConsentStore,
    WindowStore,
    SendStore,
    DeadLetterStore,
    OutboxStore,
    LeaseStore,
    AuditStore,
    OperationStore,
    EngagementStore,
    Protocol,
):
    """The durable state of one deployment (SQLite or PostgreSQL)."""

    async def open(self) -> None:
        """Connect and apply migrations (under a lock where shared)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    async def get_meta(self, key: str) -> str | None:
        """Small key/value settings kept with the state (e.g. key ids in use)."""
        ...

    async def set_meta(self, key: str, value: str) -> None: ...
