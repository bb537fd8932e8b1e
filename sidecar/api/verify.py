"""VerifyService servicer: validation and translation only."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sidecar.api import convert_events
from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc
from sidecar.api.status import stream, unary
from sidecar.errors import PreconditionFailed
from sidecar.service.events import EventHub
from sidecar.service.webhooks import WebhookHandler

_MAX_HEADER = 8192
_FORWARDED = "x-forwarded-for"


def _headers(raw: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; long values cut to ``_MAX_HEADER``.

    ``X-Forwarded-For`` keeps its *end*: it is read from the right, and the
    hops nearest to us are the ones our proxies wrote. Keeping the start
    would let a client pad the header until its own forged hop is the last
    one left.
    """
    headers: dict[str, str] = {}
    for name, value in raw.items():
        key = name.lower()
        if key == _FORWARDED:
            # Two spellings of the name are two lines of one list.
            joined = f"{headers[key]}, {value}" if key in headers else value
            headers[key] = joined[-_MAX_HEADER:]
        else:
            headers[key] = value[:_MAX_HEADER]
    return headers


class VerifyServicer(verify_pb2_grpc.VerifyServiceServicer):
    def __init__(
        self,
        handler: WebhookHandler,
        verify_token: Callable[[], str],
        events: EventHub | None = None,
    ) -> None:
        self._handler = handler
        self._verify_token = verify_token  # asked per call: it may be rotated
        self._events = events

    @unary
    async def VerifyWebhook(
        self, request: verify_pb2.WebhookRequest, context: Any
    ) -> verify_pb2.WebhookResult:
        outcome = await self._handler.handle(
            request.body,
            request.signature[:_MAX_HEADER],
            request.remote_ip[:_MAX_HEADER],
            _headers(request.headers) if request.headers else None,
        )
        return convert_events.webhook_result(outcome)

    @unary
    async def VerifySubscription(
        self, request: verify_pb2.SubscriptionRequest, context: Any
    ) -> verify_pb2.SubscriptionResult:
        expected = self._verify_token().encode()
        ok = (
            request.mode == "subscribe"
            and bool(expected)
            and hmac.compare_digest(request.verify_token.encode(), expected)
        )
        return verify_pb2.SubscriptionResult(ok=ok, challenge=request.challenge if ok else "")

    @stream
    async def StreamEvents(
        self, request: verify_pb2.StreamEventsRequest, context: Any
    ) -> AsyncIterator[verify_pb2.Event]:
        if self._events is None:
            raise PreconditionFailed(
                "StreamEvents needs the webhook ingress (WA_SIDECAR_WEBHOOK_INGRESS=true)"
            )
        async with self._events.subscribe() as events:
            async for applied in events:
                yield convert_events.event_pb(applied)
