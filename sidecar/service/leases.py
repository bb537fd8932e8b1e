"""The owner lease of this process: a heartbeat in the state store.

Each ``Sender`` incarnation owns the sends it starts (``Sender.owner``). Other
replicas treat an IN_FLIGHT send as in doubt, and a RESERVED outbox record as
free to claim, only once its owner's lease has lapsed — never while the owner
is alive and may still finish it. The lease is taken before the process
serves, renewed every ``interval`` seconds to ``now + ttl``, and dropped on a
clean shutdown (after the dispatcher drained), so what a stopped process left
behind is handled at once rather than after ``ttl``.

    lease = OwnerLease(state, sender.owner, ttl=30.0, interval=10.0)
    await lease.take()
    task = asyncio.create_task(lease.run(stop))
    ...
    await lease.release()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sidecar.errors import StoreUnavailable
from sidecar.stores.base import LeaseStore

log = logging.getLogger(__name__)


class OwnerLease:
    """Keeps ``owner``'s lease alive while the process runs."""

    def __init__(
        self,
        store: LeaseStore,
        owner: str,
        *,
        ttl: float,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._owner = owner
        self._ttl = ttl
        self._interval = interval
        self._clock = clock

    async def take(self) -> None:
        """The first renewal; raises ``StoreUnavailable`` (the process must not
        send without a lease, or its live sends would look crashed)."""
        await self._store.renew_lease(self._owner, self._clock() + self._ttl)

    async def run(self, stop: asyncio.Event) -> None:
        """Renew every ``interval`` until ``stop`` is set. A failed renewal is
        logged and tried again at the next beat; the lease lapses only after
        ``ttl`` without one."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
                return
            try:
                await self._store.renew_lease(self._owner, self._clock() + self._ttl)
            except StoreUnavailable as exc:
                log.warning(
                    "owner lease not renewed: %s", exc, extra={"event": "lease_renewal_failed"}
                )

    async def release(self) -> None:
        """Drop the lease (clean shutdown); a store that is down lets it lapse."""
        try:
            await self._store.release_lease(self._owner)
        except StoreUnavailable:
            log.warning("owner lease not released; it lapses", extra={"event": "lease_lapses"})

    @contextlib.asynccontextmanager
    async def held(self, settle: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
        """Taken before serving, renewed throughout, released after the drain
        and after ``settle`` (the store work of cut-off sends)."""
        await self.take()
        stop = asyncio.Event()
        heartbeat = asyncio.create_task(self.run(stop))
        try:
            yield
        finally:
            await settle()
            stop.set()
            await heartbeat
            await self.release()
