"""What the sync and asyncio clients share: call metadata, request building,
reading answers, and the retry decision. No I/O here."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final, TypeAlias

from wa_sidecar_client._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, verify_pb2
from wa_sidecar_client.errors import (
    RpcError,
    SendFailed,
    SendRefused,
    Unavailable,
    WebhookRejected,
)
from wa_sidecar_client.options import ClientOptions, RetryPolicy

try:  # the `otel` extra; without it no trace context is sent
    from opentelemetry import propagate as _propagate
except ImportError:  # pragma: no cover - exercised by the client-only venv test
    _propagate = None  # type: ignore[assignment]  # the module is optional

CategoryLike: TypeAlias = "str | common_pb2.Category.ValueType"
"""``"MARKETING"`` (any case, ``CATEGORY_`` optional) or ``common_pb2.CATEGORY_MARKETING``."""
JurisdictionLike: TypeAlias = "str | consent_pb2.Jurisdiction.ValueType"
"""``"GDPR"`` or ``consent_pb2.JURISDICTION_GDPR``."""
Metadata: TypeAlias = tuple[tuple[str, str], ...]

log = logging.getLogger("wa_sidecar_client")

_SENT_OR_PENDING: Final = frozenset(
    {send_pb2.OUTCOME_SENT, send_pb2.OUTCOME_IN_DOUBT, send_pb2.OUTCOME_DRY_RUN}
)


def metadata(options: ClientOptions) -> Metadata:
    """The bearer token and, when OpenTelemetry is installed, the current trace context."""
    pairs: list[tuple[str, str]] = []
    if options.token:
        pairs.append(("authorization", f"Bearer {options.token}"))
    if options.propagate_trace and _propagate is not None:
        carrier: dict[str, str] = {}
        _propagate.inject(carrier)
        pairs.extend((k.lower(), v) for k, v in carrier.items())
    return tuple(pairs)


def new_key() -> str:
    """A fresh idempotency key, so that a retried send cannot reach the user twice."""
    return f"py-{uuid.uuid4().hex}"


def to_category(value: CategoryLike) -> common_pb2.Category.ValueType:
    if isinstance(value, str):
        name = value.upper()
        name = name if name.startswith("CATEGORY_") else f"CATEGORY_{name}"
        try:
            return common_pb2.Category.Value(name)
        except ValueError:
            raise ValueError(f"category: unknown category {value!r}") from None
    return value


def to_jurisdiction(value: JurisdictionLike | None) -> consent_pb2.Jurisdiction.ValueType:
    if value is None:
        return consent_pb2.JURISDICTION_UNSPECIFIED
    if isinstance(value, str):
        name = value.upper()
        name = name if name.startswith("JURISDICTION_") else f"JURISDICTION_{name}"
        try:
            return consent_pb2.Jurisdiction.Value(name)
        except ValueError:
            raise ValueError(f"jurisdiction: unknown jurisdiction {value!r}") from None
    return value


def with_key(request: send_pb2.SendRequest) -> send_pb2.SendRequest:
    """``request``, or a copy of it carrying a new idempotency key when it has none."""
    if request.idempotency_key:
        return request
    copy = send_pb2.SendRequest()
    copy.CopyFrom(request)
    copy.idempotency_key = new_key()
    return copy


def text_request(
    to: str,
    body: str,
    *,
    category: CategoryLike,
    idempotency_key: str | None,
    preview_url: bool,
    phone_number_id: str,
    tags: Mapping[str, str] | None,
) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=idempotency_key or new_key(),
        to=to,
        category=to_category(category),
        text=send_pb2.TextBody(body=body, preview_url=preview_url),
        phone_number_id=phone_number_id,
        tags=dict(tags or {}),
    )


def template_request(
    to: str,
    name: str,
    *,
    category: CategoryLike,
    language: str,
    params: Sequence[str],
    components: Iterable[send_pb2.TemplateComponent],
    idempotency_key: str | None,
    phone_number_id: str,
    tags: Mapping[str, str] | None,
) -> send_pb2.SendRequest:
    parts = list(components)
    if params:
        texts = [send_pb2.TemplateParameter(type="text", text=p) for p in params]
        parts.insert(0, send_pb2.TemplateComponent(type="body", parameters=texts))
    return send_pb2.SendRequest(
        idempotency_key=idempotency_key or new_key(),
        to=to,
        category=to_category(category),
        template=send_pb2.Template(
            name=name, language=send_pb2.TemplateLanguage(code=language), components=parts
        ),
        phone_number_id=phone_number_id,
        tags=dict(tags or {}),
    )


def webhook_request(
    raw_body: bytes, signature: str | None, remote_ip: str, headers: Mapping[str, str] | None
) -> verify_pb2.WebhookRequest:
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        # A parsed and re-serialised body never matches Meta's signature.
        raise TypeError(
            "raw_body: pass the request body bytes exactly as received, "
            f"not a {type(raw_body).__name__}"
        )
    return verify_pb2.WebhookRequest(
        body=bytes(raw_body),
        signature=signature or "",
        remote_ip=remote_ip,
        headers={k.lower(): v for k, v in (headers or {}).items()},
    )


def grant_request(
    phone_number: str,
    categories: Iterable[CategoryLike],
    *,
    source: str,
    evidence: str,
    notice_version: str,
    jurisdiction: JurisdictionLike | None,
) -> consent_pb2.GrantRequest:
    return consent_pb2.GrantRequest(
        phone_number=phone_number,
        categories=[to_category(c) for c in categories],
        source=source,
        evidence=evidence,
        notice_version=notice_version,
        jurisdiction=to_jurisdiction(jurisdiction),
    )


def revoke_request(
    phone_number: str, categories: Iterable[CategoryLike], *, source: str, reason: str
) -> consent_pb2.RevokeRequest:
    return consent_pb2.RevokeRequest(
        phone_number=phone_number,
        categories=[to_category(c) for c in categories],
        source=source,
        reason=reason,
    )


def checked_send(reply: send_pb2.SendResponse) -> send_pb2.SendResponse:
    """``reply`` when sent, in doubt or a dry run; else the refusal raised."""
    if reply.outcome in _SENT_OR_PENDING:
        return reply
    if reply.outcome == send_pb2.OUTCOME_REJECTED:
        decision = reply.decision
        retry_after = (
            decision.retry_after.ToTimedelta().total_seconds()
            if decision.HasField("retry_after")
            else None
        )
        raise SendRefused(
            common_pb2.Reason.Name(decision.reason),
            decision.detail,
            retry_after=retry_after,
            key=reply.idempotency_key,
        )
    raise SendFailed(send_pb2.Outcome.Name(reply.outcome), reply.error, key=reply.idempotency_key)


def checked_webhook(result: verify_pb2.WebhookResult) -> verify_pb2.WebhookResult:
    if not result.valid:
        raise WebhookRejected(verify_pb2.Rejection.Name(result.reason), result.detail)
    return result


class Attempts:
    """One call's deadline and retry budget.

        attempts = Attempts(options.retry, timeout)
        while True:
            try: return stub.Method(request, timeout=attempts.remaining(), ...)
            except grpc.RpcError as exc: error = from_rpc_error(exc)
            wait = attempts.retry_after(error)   # None: raise error

    ``timeout=None`` is a call without a deadline (an event subscription).
    """

    def __init__(self, retry: RetryPolicy, timeout: float | None) -> None:
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._backoffs: Iterator[float] = retry.backoffs()
        self.retries = 0

    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    def retry_after(self, error: RpcError) -> float | None:
        """Seconds to wait before trying again, or ``None`` to give up."""
        if not isinstance(error, Unavailable):
            return None
        wait = next(self._backoffs, None)
        left = self.remaining()
        if wait is None or (left is not None and wait >= left):
            return None
        self.retries += 1
        log.info(
            "sidecar unavailable (%s); retry %d in %.3f s",
            error.detail,
            self.retries,
            wait,
            extra={"event": "retry", "retry": self.retries},
        )
        return wait
