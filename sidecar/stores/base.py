"""Store contracts: one small Protocol per concern.

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
       dead letters, outbox, audit, four-eyes operations)

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

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sidecar.stores.admission import Admission, Bucket, UniqueCap

# --------------------------------------------------------------------------- quotas


@runtime_checkable
class QuotaStore(Protocol):
    """Rate limits shared by every replica that points at the same backend.

    ``acquire`` is GCRA (a token bucket in one timestamp per key): ``rate``
    tokens per second, at most ``burst`` at once. Atomic per key. The clock is
    the backend's own (Redis ``TIME``), so replica clocks do not matter.
    """

    async def acquire(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Take ``cost`` tokens if available and return 0.0; otherwise take
        nothing and return the seconds until they would be available."""
        ...

    async def peek(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Like ``acquire`` but never takes a token (for ``Check``)."""
        ...

    async def add_unique(self, key: str, member: str, window: float, limit: int) -> bool:
        """Rolling-window distinct-member cap (messaging tier): record ``member``
        and return True if, counting it, at most ``limit`` distinct members were
        seen in the last ``window`` seconds; a member already inside the window
        always passes. Returns False (recording nothing) when over the cap."""
        ...

    async def admit(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        *,
        take: bool = True,
    ) -> Admission:
        """All or nothing, atomically: if ``unique`` and every bucket would
        grant, take them all (unless ``take`` is False) and return ``GRANTED``;
        otherwise take nothing and name the first refusing limit. The keys are
        those of ``group`` (a business number), apart from ``acquire``'s; one
        call is one round trip."""
        ...

    async def hit_window(self, key: str, limit: int, period: float) -> bool:
        """Moving-window hit counter (per-source webhook limit): record a hit
        and return True if fewer than ``limit`` hits were recorded under
        ``key`` in the last ``period`` seconds; otherwise record nothing and
        return False (a ``limit`` below 1 refuses every hit). Atomic per key."""
        ...

    async def refund(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        added: float | None = None,
    ) -> None:
        """Give back what a granted ``admit`` of ``group`` took for a send that
        then did not go: each bucket's ``cost`` in time (a bucket never holds
        more than its burst), and ``unique``'s member when ``added`` (that
        admission's ``Admission.added``) is still its mark — a member another
        admission recorded since stays. One round trip; atomic."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable if the backend cannot be reached."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- dedup


@runtime_checkable
class DedupStore(Protocol):
    """Remembers processed webhook event keys for a TTL (Meta re-delivers)."""

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        """Atomically mark each key as seen; True where this call was first.

        Two concurrent claims of one key: exactly one gets True.
        """
        ...

    async def purge_expired(self, now: float) -> int: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- state records


class ConsentAction(enum.Enum):
    GRANT = "grant"
    REVOKE = "revoke"


@dataclass(frozen=True, slots=True)
class Subject:
    """A phone number we hold data about: blind index + ciphertexts only."""

    id: str
    blind_index: str
    number_ct: bytes
    wrapped_dek: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One append-only consent event. ``proof_ct`` is the encrypted proof JSON
    (source, notice_version, jurisdiction, evidence, reason) under the subject's
    data key; ``event_key`` makes re-application of one webhook event a no-op."""

    id: str
    subject_id: str
    category: str
    action: ConsentAction
    recorded_at: float
    actor: str
    proof_ct: bytes
    event_key: str = ""


@dataclass(frozen=True, slots=True)
class ConsentSnapshot:
    """What ``Check`` needs, read in one round trip."""

    suppressed: frozenset[str]
    current: dict[str, ConsentAction]


class SendState(enum.Enum):
    """Lifecycle of an idempotent send; only what was on the wire may be in doubt.

        Enqueue ─► QUEUED ─claim_queued─► RESERVED ─start_send─► IN_FLIGHT ─finish_send─► DONE
                     ▲                      │    │                  │
                     └────release_send──────┘    │ suppressed       ├─ status webhook ─► DONE
                                                 ▼                  └─ resolve_in_doubt ─► DONE
                                          DONE (rejected)              (owner's lease lapsed)
        Send / SendBatch (after decision and quota wait):
            begin_send ─► IN_FLIGHT ─► … as above      (suppressed: DONE rejected at once)
        RESERVED under an owner whose lease lapsed: claim_queued takes it over.
        IN_FLIGHT whose Graph call got no usable answer: hold_in_doubt ─► IN_DOUBT
            (maybe sent; resolved by the status webhook, resolve_in_doubt, or the
            opt-in resend: list_resendable / claim_resend).
        IN_FLIGHT whose Graph call was cut off: abandon_send clears the owner (in doubt).
        A Send cut off before its Graph call: release_send deletes it (no request kept).

    ``owner`` is the sending process incarnation (``Sender.owner``), which
    holds a lease (``LeaseStore``). A QUEUED or RESERVED record never reached
    Graph, so it is sent again safely (RESERVED once its owner's lease has
    lapsed). A record turns IN_FLIGHT in the store operation right before its
    first Graph call, after every wait; it is *in doubt* when IN_DOUBT (its
    own Graph call got no usable answer) or while IN_FLIGHT under an owner
    whose lease has lapsed (or who has none: ``abandon_send`` clears the owner
    of a send whose Graph call was cut off). ``finish_send``
    writes only under the expected owner, so a record resolved meanwhile
    (status webhook, ``resolve_in_doubt``) stays resolved.
    """

    QUEUED = "queued"  # in the outbox, no owner, Graph not called
    RESERVED = "reserved"  # claimed from the outbox by ``owner``; Graph not called
    IN_FLIGHT = "in_flight"  # a Graph call is starting or under way
    DONE = "done"  # final outcome stored
    IN_DOUBT = "in_doubt"  # a Graph call ended with no usable answer: maybe sent


OUTCOME_IN_DOUBT = "in_doubt"
"""The outcome an IN_DOUBT record carries until it is resolved.

IN_DOUBT is a durable marker, not a guess about a process: the send's own
Graph call was written and got no usable answer (read timeout, connection
lost mid-answer, a 2xx without a message id), so Meta may have it. No
process owns such a record and no lease or owner liveness changes that: it
is listed by ``list_in_doubt`` whoever asks, resolved by the status webhook
that carries its key (``resolve_by_callback``) or by a person
(``resolve_in_doubt``), and resent at most once, only when the operator opted
in (``list_resendable``/``claim_resend``). It is never dead-lettered and
never purged by retention."""


OUTCOME_SENT = "sent"
"""The outcome ``resolve_by_callback`` stores (``service.models.Outcome.SENT``)."""
OUTCOME_REJECTED = "rejected"
"""The outcome of a send refused at its start (``service.models.Outcome.REJECTED``)."""


class StartVerdict(enum.Enum):
    """What ``start_send`` did with a RESERVED record."""

    GO = "go"  # now IN_FLIGHT under the caller: call Graph
    SUPPRESSED = "suppressed"  # the recipient is suppressed: finished as rejected
    LOST = "lost"  # no longer RESERVED under the caller (taken over, erased)


@dataclass(frozen=True, slots=True)
class SendRecord:
    """The idempotency/message record of one send (no plaintext number)."""

    key: str
    fingerprint: str
    state: SendState
    owner: str
    phone_number_id: str
    category: str
    subject_id: str = ""
    to_masked: str = ""
    outcome: str = ""
    message_id: str = ""
    response: bytes = b""
    delivery_status: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    request_ct: bytes = b""


@dataclass(frozen=True, slots=True)
class SendContext:
    """What a send or a check reads before its decision (``prepare_send``)."""

    existing: SendRecord | None
    candidates: list[Subject]
    snapshot: ConsentSnapshot


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    id: str
    key: str
    phone_number_id: str
    category: str
    to_masked: str
    error_json: str
    attempts: int
    created_at: float
    request_ct: bytes


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One hash-chained audit entry; ``hash`` commits to ``prev_hash``."""

    seq: int
    time: float
    actor: str
    action: str
    subject_index: str
    detail_json: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A delivery status from a webhook, kept for KPIs."""

    message_id: str
    status: str
    timestamp: int
    phone_number_id: str
    error_code: int = 0
    category: str = ""


@dataclass(slots=True)
class SubjectData:
    """Everything held about one subject, for export and erasure receipts."""

    subject: Subject | None
    consent: list[ConsentRecord] = field(default_factory=list)
    windows: dict[str, float] = field(default_factory=dict)
    sends: list[SendRecord] = field(default_factory=list)
    suppressed: frozenset[str] = frozenset()


class OperationState(enum.Enum):
    """Lifecycle of a four-eyes operation (values are stored as text)."""

    PENDING = "pending"  # requested, waiting for a second principal
    APPROVED = "approved"  # a second principal approved; the operation is running / ran
    COMPLETED = "completed"  # finished; ``result`` holds its answer


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """A sensitive operation waiting for (or past) a second principal's approval.

    ``payload`` is the caller's ciphertext of the operation's arguments and
    ``result`` the finished operation's answer; both are opaque to the store.
    """

    id: str  # random, chosen by the caller (unique)
    kind: str  # e.g. "erase_subject"
    payload: bytes
    requested_by: str
    created_at: float
    expires_at: float
    state: OperationState = OperationState.PENDING
    approved_by: str = ""
    result: bytes = b""


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
