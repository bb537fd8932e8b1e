"""Webhook deliveries of the Graph API simulator: statuses, inbound messages and
account changes (``simulator/account.py`` builds their values).

Updates are queued without waiting (a bounded queue, so a send is never slowed
down) and a single background task posts them to the configured URL, batching
whatever has queued up (Meta batches up to 1000 updates per POST). Bodies are
ASCII JSON signed like Meta's, ``X-Hub-Signature-256: sha256=<hex>``, when an
app secret is set. A failed delivery is logged and dropped, never retried.

    dispatcher = WebhookDispatcher(secret=b"s", url="http://127.0.0.1:9000/wh")
    await dispatcher.start()
    item = status_item("wamid.X", "sent", "16505551234", int(time.time()))
    dispatcher.submit(WebhookUpdate("106540352242922", "statuses", item))
    await dispatcher.flush(within=5)
    await dispatcher.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from sidecar.policy.signature import sign

logger = logging.getLogger(__name__)

META_BATCH_LIMIT = 1000

UpdateKind = Literal["statuses", "messages", "account"]


@dataclass(frozen=True, slots=True)
class WebhookUpdate:
    """One ``statuses[]`` or ``messages[]`` item, plus the sender of a message;
    or (kind ``account``) the whole ``value`` of a change of ``field``
    (``message_template_status_update`` …)."""

    phone_number_id: str
    kind: UpdateKind
    item: dict[str, Any]
    contact: dict[str, Any] | None = None
    field: str = "messages"


def status_item(
    wamid: str,
    status: str,
    recipient_id: str,
    timestamp: int,
    *,
    biz_opaque_callback_data: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    pricing_category: str | None = None,
) -> dict[str, Any]:
    """A ``statuses[]`` item shaped like ``samples/status_sent.json`` (v24+, no conversation)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if pricing_category is not None:
        item["pricing"] = {
            "billable": pricing_category != "service",
            "pricing_model": "PMP",
            "type": "regular" if pricing_category != "service" else "free_customer_service",
            "category": pricing_category,
        }
    if errors:
        item["errors"] = errors
    return item


def inbound_message_item(
    wamid: str,
    sender: str,
    timestamp: int,
    *,
    text: str | None = None,
    button_payload: str | None = None,
    button_text: str | None = None,
    context: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ``messages[]`` item: a text, or a template quick-reply button tap."""
    item: dict[str, Any] = {}
    if context is not None:
        item["context"] = context
    item.update({"from": sender, "id": wamid, "timestamp": str(timestamp)})
    if button_payload is not None:
        item["type"] = "button"
        item["button"] = {
            "payload": button_payload,
            "text": button_text if button_text is not None else button_payload,
        }
    else:
        item["type"] = "text"
        item["text"] = {"body": text if text is not None else ""}
    return item


def build_payload(
    updates: list[WebhookUpdate], *, waba_id: str, display_phone_number: str
) -> dict[str, Any]:
    """One ``whatsapp_business_account`` payload; a change per (number, kind), and
    one per account change (the entry then carries ``time``, as Meta's do)."""
    values: dict[tuple[str, str], dict[str, Any]] = {}
    account: list[dict[str, Any]] = []
    for update in updates:
        if update.kind == "account":
            account.append({"value": update.item, "field": update.field})
            continue
        key = (update.phone_number_id, update.kind)
        value = values.get(key)
        if value is None:
            value = {
                "messaging_product": "whatsapp",
                "metadata": {
                    "display_phone_number": display_phone_number,
                    "phone_number_id": update.phone_number_id,
                },
            }
            if update.kind == "messages":
                value["contacts"] = []
            value[update.kind] = []
            values[key] = value
        if update.contact is not None and update.contact not in value["contacts"]:
            value["contacts"].append(update.contact)
        value[update.kind].append(update.item)
    changes = [{"value": value, "field": "messages"} for value in values.values()]
    entry: dict[str, Any] = {"id": waba_id, "changes": changes + account}
    if account:
        entry["time"] = int(time.time())
    return {"object": "whatsapp_business_account", "entry": [entry]}


@dataclass(slots=True)
class WebhookCounters:
    """What happened to queued updates (exposed in the simulator's stats)."""

    queued: int = 0
    delivered: int = 0
    posts_ok: int = 0
    posts_failed: int = 0
    dropped_queue_full: int = 0
    dropped_no_url: int = 0
    dropped_failed: int = 0

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class WebhookDispatcher:
    """Posts queued updates to ``url`` from one background task."""

    def __init__(
        self,
        *,
        secret: bytes | None,
        url: str | None = None,
        waba_id: str = "102290129340398",
        display_phone_number: str = "15550783881",
        queue_size: int = 100_000,
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.counters = WebhookCounters()
        self._secret = secret
        self._waba_id = waba_id
        self._display = display_phone_number
        self._queue: asyncio.Queue[WebhookUpdate] = asyncio.Queue(maxsize=queue_size)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._worker is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._worker = asyncio.create_task(self._run(), name="simulator-webhooks")

    async def close(self) -> None:
        """Stop delivering; anything still queued is discarded."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def submit(self, update: WebhookUpdate) -> bool:
        """Queue one update without waiting; ``False`` if it had to be dropped."""
        if self.url is None:
            self.counters.dropped_no_url += 1
            return False
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            self.counters.dropped_queue_full += 1
            if self.counters.dropped_queue_full % 1000 == 1:
                logger.warning(
                    "webhook queue full; %d updates dropped so far",
                    self.counters.dropped_queue_full,
                )
            return False
        self.counters.queued += 1
        return True

    def clear(self) -> None:
        """Forget queued updates and counters (the simulator's reset)."""
        while True:
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self._queue.task_done()
        self.counters = WebhookCounters()

    async def flush(self, within: float) -> bool:
        """Wait until every queued update has been posted or dropped."""
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < META_BATCH_LIMIT:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._post(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug in one batch must not stop later deliveries.
                logger.exception("webhook delivery crashed; batch dropped")
                self.counters.dropped_failed += len(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _post(self, batch: list[WebhookUpdate]) -> None:
        url, session = self.url, self._session
        if url is None or session is None:
            self.counters.dropped_no_url += len(batch)
            return
        payload = build_payload(batch, waba_id=self._waba_id, display_phone_number=self._display)
        # ensure_ascii (the default) gives \uXXXX escapes, as Meta's bodies have.
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers["X-Hub-Signature-256"] = sign(body, self._secret)
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                ok = 200 <= response.status < 300
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            logger.warning("webhook delivery failed: %s", type(exc).__name__)
            ok, status = False, 0
        if ok:
            self.counters.posts_ok += 1
            self.counters.delivered += len(batch)
            return
        if status:
            logger.warning("webhook delivery refused with HTTP %d", status)
        self.counters.posts_failed += 1
        self.counters.dropped_failed += len(batch)
