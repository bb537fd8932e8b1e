"""The state roles of the send path: a send's record and its lifecycle, dead
letters, the outbox queue and the owner leases that tell a live sender from a
crashed one. ``stores.base`` re-exports them beside the other state roles;
the lifecycle itself is drawn in ``stores.records.SendState``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sidecar.stores.records import (
    DeadLetterRecord,
    SendContext,
    SendRecord,
    StartVerdict,
    StatusRecord,
)


@runtime_checkable
class SendStore(Protocol):
    """Idempotency records, which double as message records (retention applies)."""

    async def begin_send(
        self, record: SendRecord, suppression_index: str = "", refusal: bytes = b""
    ) -> SendRecord | None:
        """Insert ``record`` if its key is new and return None; otherwise
        return the existing record unchanged. Atomic.

        With ``suppression_index``: when the suppression list holds it for
        ``record.category`` (an opt-out arrived after the caller's decision),
        the record is stored finished instead — DONE, outcome
        ``OUTCOME_REJECTED``, response ``refusal`` — and returned."""
        ...

    async def begin_sends(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        """``begin_send`` for many records in one transaction (same semantics)."""
        ...

    async def finish_send(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        """Store the final outcome (state DONE) of a RESERVED or IN_FLIGHT
        record owned by ``owner``; False (nothing written) otherwise, e.g. a
        record a status webhook or a review resolved meanwhile."""
        ...

    async def finish_sends(
        self, results: Sequence[tuple[str, str, str, bytes]], owner: str, now: float
    ) -> None:
        """``finish_send`` for many (key, outcome, message_id, response) at once."""
        ...

    async def start_send(
        self, key: str, owner: str, suppression_index: str, refusal: bytes, now: float
    ) -> StartVerdict:
        """Right before the first Graph call of a claimed outbox record:
        RESERVED under ``owner`` → IN_FLIGHT (GO), unless the suppression list
        holds ``suppression_index`` for the record's category — then it is
        finished as ``OUTCOME_REJECTED`` with ``refusal`` (SUPPRESSED). LOST
        when the record is no longer RESERVED under ``owner``. Atomic."""
        ...

    async def release_send(self, key: str, owner: str) -> None:
        """Undo a start that never reached Graph: a RESERVED or IN_FLIGHT
        record of ``owner`` goes back to QUEUED (outbox records, which keep
        their request) or is deleted (a ``Send``: a repeat sends afresh)."""
        ...

    async def abandon_send(self, key: str, owner: str, now: float) -> None:
        """A Graph call of ``owner`` was cut off: the IN_FLIGHT record loses
        its owner, so it is in doubt at once (listed, resolvable)."""
        ...

    async def get_send(self, key: str) -> SendRecord | None: ...

    async def prepare_send(
        self,
        key: str | None,
        subject_id: str | None,
        blind_index: str | None,
        suppression_index: str,
    ) -> SendContext:
        """In one round trip: the send recorded under ``key`` (None: not
        asked), the subject candidates under ``blind_index`` (None: not asked)
        and ``snapshot(subject_id, suppression_index)``."""
        ...

    async def list_in_doubt(
        self, owner: str, limit: int, after_key: str = "", *, now: float
    ) -> list[SendRecord]:
        """By key: IN_DOUBT records (maybe sent, whoever asks), and IN_FLIGHT
        records not owned by ``owner`` whose owner holds no lease alive at
        ``now`` (a crashed or cut-off incarnation)."""
        ...

    async def resolve_in_doubt(
        self, key: str, owner: str, outcome: str, message_id: str, response: bytes, now: float
    ) -> bool:
        """Finish ``key`` like ``finish_send`` only if it is in doubt (IN_DOUBT,
        or IN_FLIGHT not owned by ``owner`` with its owner's lease lapsed at
        ``now``); False otherwise (unknown, done, queued, reserved, live in any
        owner, or resolved meanwhile). ``message_id`` "" keeps the stored one.
        A kept request (``request_ct``) is dropped."""
        ...

    async def resolve_by_callback(
        self, key: str, message_id: str, delivery_status: str, now: float
    ) -> bool:
        """A status webhook carried ``key`` back: set the delivery status and,
        if the record was IN_FLIGHT or IN_DOUBT, finish it as sent (response
        emptied, a kept request dropped). Returns True if found."""
        ...

    async def hold_in_doubt(
        self, key: str, owner: str, response: bytes, request_ct: bytes, now: float
    ) -> bool:
        """The Graph call of ``key`` got no usable answer: IN_FLIGHT under
        ``owner`` → IN_DOUBT with outcome ``OUTCOME_IN_DOUBT``, ``response``
        and ``request_ct`` (the sealed request, kept for an opted-in resend;
        b"" keeps none). False, changing nothing, when the record is not
        IN_FLIGHT under ``owner`` (its status webhook resolved it first)."""
        ...

    async def list_resendable(self, before: float, limit: int) -> list[SendRecord]:
        """IN_DOUBT records that kept their request and were last updated at
        or before ``before``, oldest first."""
        ...

    async def claim_resend(self, key: str, owner: str, now: float) -> bool:
        """IN_DOUBT with a kept request → IN_FLIGHT under ``owner``, the
        request dropped (so a send is resent at most once). Atomic: of two
        replicas claiming one key, exactly one gets True; False as well when
        a status webhook resolved it meanwhile."""
        ...

    async def record_status(self, status: StatusRecord) -> None:
        """Keep a delivery status for KPIs; also updates the matching send's
        ``delivery_status`` by message id."""
        ...

    async def record_statuses(
        self,
        statuses: Sequence[StatusRecord],
        callbacks: Sequence[tuple[str, str, str]],
        now: float,
    ) -> list[bool]:
        """``record_status`` for every status and ``resolve_by_callback(key,
        message_id, status)`` for every callback, in ONE transaction (a whole
        webhook delivery is one store round trip).

        Returns, per status, True where this call recorded it first: the
        ``(message_id, status)`` pair is the status event's dedup key, so the
        record itself is the atomic claim (two concurrent deliveries of one
        status: exactly one gets True). Callbacks of statuses recorded before
        are not applied again.
        """
        ...

    async def status_counts(self, since: float) -> dict[str, int]:
        """Count of statuses by status name since ``since`` (KPIs)."""
        ...

    async def purge_sends(self, older_than: float) -> int: ...


@runtime_checkable
class DeadLetterStore(Protocol):
    async def put_dead_letter(self, record: DeadLetterRecord) -> None: ...

    async def list_dead_letters(self, limit: int, after_id: str = "") -> list[DeadLetterRecord]: ...

    async def take_dead_letter(self, dead_letter_id: str) -> DeadLetterRecord | None:
        """Remove and return one dead letter (for requeueing)."""
        ...


@runtime_checkable
class OutboxStore(Protocol):
    async def enqueue(self, records: Sequence[SendRecord]) -> list[SendRecord | None]:
        """Like ``begin_sends`` with state QUEUED and the encrypted request."""
        ...

    async def claim_queued(self, owner: str, limit: int, now: float) -> list[SendRecord]:
        """Atomically move up to ``limit`` QUEUED records — and RESERVED ones
        whose owner's lease lapsed at ``now`` — to RESERVED for ``owner``
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), oldest first."""
        ...


@runtime_checkable
class LeaseStore(Protocol):
    """Owner leases: a heartbeat per sending process incarnation. A send of
    an owner whose lease is alive is never in doubt nor taken over."""

    async def renew_lease(self, owner: str, expires_at: float) -> None:
        """Create or extend ``owner``'s lease until ``expires_at``."""
        ...

    async def release_lease(self, owner: str) -> None:
        """Drop ``owner``'s lease (clean shutdown): what it left IN_FLIGHT is
        in doubt at once, what it left RESERVED can be claimed at once."""
        ...

    async def lease_expiry(self, owner: str) -> float | None:
        """When ``owner``'s lease runs out (None: it holds none)."""
        ...
