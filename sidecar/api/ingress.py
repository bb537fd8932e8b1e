"""Optional webhook ingress on the admin listener (``WA_SIDECAR_WEBHOOK_INGRESS``).

``GET /webhook`` answers Meta's subscription handshake; ``POST /webhook``
verifies and processes the delivery through the same ``WebhookHandler`` as
``VerifyWebhook``, answers Meta 200 only after durable processing, and hands
the new events to the app through ``VerifyService.StreamEvents``. With no app
subscribed (or a full buffer) the delivery is refused with 503 *before*
anything is applied, so Meta re-delivers later and nothing is lost.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web

from sidecar.errors import StoreUnavailable
from sidecar.service.events import EventHub
from sidecar.service.webhooks import Rejection, WebhookHandler

log = logging.getLogger(__name__)

_STATUS = {
    Rejection.TOO_LARGE: 413,
    Rejection.IP_NOT_ALLOWED: 403,
    Rejection.RATE_LIMITED: 429,
    Rejection.MALFORMED_PAYLOAD: 400,
}
# Meta batches at most 1,000 updates per delivery.
_MAX_EVENTS_PER_DELIVERY = 1000


def add_ingress_routes(
    app: web.Application,
    handler: WebhookHandler,
    hub: EventHub,
    *,
    verify_token: Callable[[], str],
    max_body: int,
) -> None:
    async def handshake(request: web.Request) -> web.Response:
        q = request.query
        token = verify_token().encode()  # asked per request: it may be rotated
        ok = (
            q.get("hub.mode") == "subscribe"
            and bool(token)
            and hmac.compare_digest(q.get("hub.verify_token", "").encode(), token)
        )
        if not ok:
            return web.Response(status=403, text="verification failed\n")
        return web.Response(text=q.get("hub.challenge", ""))

    async def deliver(request: web.Request) -> web.Response:
        if not hub.room_for(_MAX_EVENTS_PER_DELIVERY):
            return web.Response(status=503, text="no event subscriber; retry later\n")
        if request.content_length is not None and request.content_length > max_body:
            return web.Response(status=413, text="too large\n")
        body = await _read_body(request, max_body)
        if body is None:
            return web.Response(status=413, text="too large\n")
        # Every X-Forwarded-For line, in order: together they are one list.
        forwarded = request.headers.getall("X-Forwarded-For", [])
        try:
            outcome = await handler.handle(
                body,
                request.headers.get("X-Hub-Signature-256", ""),
                request.remote or "",
                {"x-forwarded-for": forwarded} if forwarded else None,
            )
        except StoreUnavailable:
            log.warning("webhook not processed: store unavailable", extra={"event": "ingress_503"})
            return web.Response(status=503, text="store unavailable; retry later\n")
        if not outcome.valid:
            return web.Response(status=_STATUS.get(outcome.rejection, 401), text="rejected\n")
        hub.publish(outcome.events)
        return web.Response(text="ok\n")

    app.add_routes([web.get("/webhook", handshake), web.post("/webhook", deliver)])


async def _read_body(request: web.Request, max_body: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``max_body`` bytes.

    ``content.read(n)`` returns what happens to be buffered (about 64 KiB), not
    ``n`` bytes: a larger delivery arriving in several TCP segments would be cut
    and fail its signature. Chunks are gathered until the stream ends; a body
    without a Content-Length (chunked) is stopped at the cap, never buffered
    beyond it.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > max_body:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
