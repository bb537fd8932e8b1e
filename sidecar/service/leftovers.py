"""Store work a send leaves behind, finished in the background.

Two kinds:

- ``later``: what a send cut off by its caller or by shutdown still has to
  record (release its record, hand it over as in doubt, store the outcome it
  had). One try; a failure is logged.
- ``until_stored``: the outcome of a send Graph answered while the store
  could not take it (the store went down between the intent and the
  outcome). The caller has already been told what Graph said — SENT, or
  IN_DOUBT for a maybe-sent call — so that it does not send again, and the
  store write is retried with backoff until the store is back. At shutdown
  each gets one last try; one that still fails leaves the record IN_FLIGHT,
  which the message's status webhook (carrying the key) finishes as sent
  once the store is back, or which is listed in doubt once this process's
  owner lease has lapsed.

``settle`` (shutdown, before the owner lease is released) waits for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sidecar.errors import StoreUnavailable

log = logging.getLogger(__name__)

FIRST_RETRY = 0.5
"""Seconds before the first retry of an outcome the store refused."""
RETRY_CAP = 5.0
"""The longest pause between retries."""


class Leftovers:
    """The background store work of one ``Sender``."""

    def __init__(self, *, first_retry: float = FIRST_RETRY, retry_cap: float = RETRY_CAP) -> None:
        self._first = first_retry
        self._cap = retry_cap
        self._tasks: set[asyncio.Future[object]] = set()
        self._stopping = asyncio.Event()

    def __len__(self) -> int:
        """Store work not finished yet."""
        return len(self._tasks)

    def later(self, work: Awaitable[object]) -> None:
        """Run ``work`` once, in the background."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def until_stored(self, store: Callable[[], Awaitable[object]], key: str) -> None:
        """Run ``store`` until the store takes it (``StoreUnavailable`` retried)."""
        log.warning(
            "send outcome not stored yet: the store is unavailable; retrying",
            extra={"event": "outcome_store_deferred", "idempotency_key": key},
        )
        self.later(self._retry(store, key))

    async def _retry(self, store: Callable[[], Awaitable[object]], key: str) -> None:
        pause = self._first
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            try:
                await store()
            except StoreUnavailable:
                if self._stopping.is_set():
                    log.warning(
                        "send outcome not stored before shutdown; its status webhook finishes it",
                        extra={"event": "outcome_store_abandoned", "idempotency_key": key},
                    )
                    return
                pause = min(pause * 2, self._cap)
                continue
            log.info(
                "send outcome stored after the store came back",
                extra={"event": "outcome_store_caught_up", "idempotency_key": key},
            )
            return

    def _done(self, task: asyncio.Future[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "store work left by a send failed: %s",
                type(task.exception()).__name__,
                extra={"event": "send_cleanup_failed"},
            )

    async def settle(self) -> None:
        """Stop retrying after one last try each, and wait for all the work."""
        self._stopping.set()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
