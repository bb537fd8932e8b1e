"""What can go wrong when calling the sidecar, as a small exception tree.

::

    SidecarError
    ├── Refused                the sidecar answered, and the answer is "no"
    │   ├── SendRefused        policy said no (outcome REJECTED): .reason "REASON_OPTED_OUT"
    │   ├── SendFailed         Graph said no, or retries ran out: .error (a SendError)
    │   └── WebhookRejected    not a genuine delivery: .reason "REJECTION_BAD_SIGNATURE"
    └── RpcError               the call itself failed: .code (grpc.StatusCode), .detail
        ├── InvalidArgument    .field names the bad field ("to", "category", ...)
        ├── FailedPrecondition an idempotency key reused with other content, ...
        ├── NotFound
        ├── Unauthenticated    no or an unknown bearer token
        ├── PermissionDenied   the token's principal lacks the method's role
        ├── Unavailable        the sidecar could not be reached (after the retries)
        └── DeadlineExceeded   the call's timeout passed

Refusals are answers in the sidecar's API (``Outcome``, ``Decision.reason``,
``WebhookResult.reason``); the helpers raise them as ``Refused`` unless called
with ``check=False``. Everything the sidecar reports as a gRPC status becomes
an ``RpcError`` carrying the status message, which names the field first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import grpc

if TYPE_CHECKING:
    from wa_sidecar_client._gen.wasidecar.v1 import send_pb2

__all__ = [
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Refused",
    "RpcError",
    "SendFailed",
    "SendRefused",
    "SidecarError",
    "Unauthenticated",
    "Unavailable",
    "WebhookRejected",
    "from_rpc_error",
]


class SidecarError(Exception):
    """Base of every error this client raises."""


class Refused(SidecarError):
    """The sidecar answered the call, and the answer is a refusal.

    ``reason`` is the enum name from the answer, ``detail`` its explanation
    (never a phone number or a secret).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class SendRefused(Refused):
    """Policy refused the send (``OUTCOME_REJECTED``); nothing reached Meta.

    ``retry_after`` (seconds) is set for quota and pair-limit refusals.

        try:
            client.send_text("+16505551234", "Your order shipped")
        except SendRefused as exc:
            if exc.reason == "REASON_OUTSIDE_SERVICE_WINDOW":
                ...  # send an approved template instead
    """

    def __init__(
        self, reason: str, detail: str = "", *, retry_after: float | None = None, key: str = ""
    ) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after
        self.idempotency_key = key


class SendFailed(Refused):
    """Graph refused the message (``OUTCOME_FAILED``) or the sidecar's retries ran
    out (``OUTCOME_DEAD_LETTERED``); ``error`` holds Graph's code and class."""

    def __init__(self, outcome: str, error: send_pb2.SendError, *, key: str = "") -> None:
        detail = f"Graph error {error.code}: {error.message}" if error.code else error.message
        super().__init__(outcome, detail)
        self.outcome = outcome
        self.error = error
        self.idempotency_key = key


class WebhookRejected(Refused):
    """The webhook POST did not verify; answer the HTTP request with an error.

    ``reason`` is a ``Rejection`` name such as ``REJECTION_BAD_SIGNATURE``;
    ``http_status`` is what the sidecar's own ingress answers Meta for it
    (413, 403, 429, 400, else 401).
    """

    _HTTP: Final = {
        "REJECTION_TOO_LARGE": 413,
        "REJECTION_IP_NOT_ALLOWED": 403,
        "REJECTION_RATE_LIMITED": 429,
        "REJECTION_MALFORMED_PAYLOAD": 400,
    }

    @property
    def http_status(self) -> int:
        return self._HTTP.get(self.reason, 401)


class RpcError(SidecarError):
    """A gRPC status other than OK. ``detail`` is the sidecar's message."""

    def __init__(self, code: grpc.StatusCode, detail: str) -> None:
        super().__init__(f"{code.name}: {detail}")
        self.code = code
        self.detail = detail


_FIELD: Final = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


class InvalidArgument(RpcError):
    """The request is malformed; ``field`` is the field the sidecar named first
    (``to`` in "to: must be a valid E.164 number"), or ``""``."""

    def __init__(self, code: grpc.StatusCode, detail: str) -> None:
        super().__init__(code, detail)
        match = _FIELD.match(detail)
        self.field = match.group(1) if match else ""


class FailedPrecondition(RpcError):
    """The call cannot run in the current state (a reused idempotency key with
    different content, StreamEvents without the webhook ingress, ...)."""


class NotFound(RpcError):
    """The named thing does not exist."""


class Unauthenticated(RpcError):
    """No bearer token, or one the sidecar does not know."""


class PermissionDenied(RpcError):
    """The token's principal lacks the role this method needs."""


class Unavailable(RpcError):
    """The sidecar could not be reached, or a store it needs is down; raised
    after the client's retries."""


class DeadlineExceeded(RpcError):
    """The call's timeout passed before an answer came."""


_BY_CODE: Final[dict[grpc.StatusCode, type[RpcError]]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def from_rpc_error(exc: grpc.RpcError) -> RpcError:
    """The client error for a failed gRPC call (sync or asyncio)."""
    # Every RpcError a call raises is also a grpc.Call (sync) or an AioRpcError.
    code: grpc.StatusCode = exc.code()
    detail: str = exc.details() or ""
    return _BY_CODE.get(code, RpcError)(code, detail)
