"""The opt-in resend of sends held in doubt (``WA_SIDECAR_AMBIGUOUS_RESEND_AFTER``).

A send whose Graph call may have reached Meta is held IN_DOUBT and, by
default, never sent again: Graph has no idempotency key, so a resend can
deliver the message twice. An operator who prefers a possible duplicate to
a possible loss sets ``after`` seconds: a held send whose status webhook
(which carries its key and resolves it as sent) has not come within that
time is sent once more. Each held send keeps its request sealed
(``service/sealed.py``) only until that one resend: the claim drops it, so a
resend that again gets no usable answer stays in doubt for a person.

Every replica may run this loop: ``claim_resend`` is atomic, so one replica
resends a given send. The resend goes through policy again (an opt-out that
arrived meanwhile wins) and through the normal retry loop.

    resender = Resender(sender, state, cipher, after=600.0)
    task = asyncio.create_task(resender.run(stop))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sidecar.crypto.fields import FieldCipher
from sidecar.errors import SidecarError, StoreUnavailable
from sidecar.service.models import SendResult
from sidecar.service.sealed import open_request
from sidecar.service.send import Sender
from sidecar.stores.base import SendRecord, StateStore

log = logging.getLogger(__name__)

_BATCH = 50
"""Held sends looked at per round."""
_MIN_POLL, _MAX_POLL = 0.2, 30.0


class Resender:
    """Resends held sends whose status webhook did not come within ``after`` s."""

    def __init__(
        self,
        sender: Sender,
        state: StateStore,
        cipher: FieldCipher,
        *,
        after: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not after > 0:
            raise ValueError("after must be positive")
        self._sender = sender
        self._state = state
        self._cipher = cipher
        self._after = after
        self._clock = clock
        self._poll = min(max(after / 4, _MIN_POLL), _MAX_POLL)

    async def run(self, stop: asyncio.Event) -> None:
        """Resend what is due every poll interval until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.resend_due()
            except StoreUnavailable as exc:
                log.warning("resend round skipped: %s", exc, extra={"event": "resend_store_down"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._poll)

    async def resend_due(self) -> list[SendResult]:
        """One round: resend every held send that is due; their results."""
        due = await self._state.list_resendable(self._clock() - self._after, _BATCH)
        results = []
        for record in due:
            result = await self._resend(record)
            if result is not None:
                results.append(result)
        return results

    async def _resend(self, record: SendRecord) -> SendResult | None:
        try:
            cmd = open_request(self._cipher, record)
        except (SidecarError, ValueError, KeyError):
            # Unreadable (its key was retired): it stays in doubt, for a person.
            log.error(
                "held request unreadable; not resent",
                extra={"event": "resend_unreadable", "idempotency_key": record.key},
            )
            owner, now = self._sender.owner, self._clock()
            if await self._state.claim_resend(record.key, owner, now):
                await self._state.hold_in_doubt(record.key, owner, record.response, b"", now)
            return None
        if not await self._state.claim_resend(record.key, self._sender.owner, self._clock()):
            return None  # resolved meanwhile, or another replica took it
        log.warning(
            "resending a send held in doubt: no status webhook came",
            extra={"event": "resend_in_doubt", "idempotency_key": record.key},
        )
        return await self._sender.resend(cmd)
