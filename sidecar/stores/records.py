"""The records state stores keep and return: plain frozen values, no I/O.

``stores.base`` re-exports them beside the store protocols.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
