"""The background store work of a send: retried until the store takes it,
one last try at shutdown."""

from __future__ import annotations

import asyncio

from sidecar.errors import StoreUnavailable
from sidecar.service.leftovers import Leftovers


class Store:
    """Refuses the first ``refusals`` writes, then takes them."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.tries = 0
        self.taken = asyncio.Event()

    async def write(self) -> None:
        self.tries += 1
        if self.tries <= self.refusals:
            raise StoreUnavailable("down")
        self.taken.set()


async def test_an_outcome_is_retried_until_the_store_takes_it() -> None:
    leftovers = Leftovers(first_retry=0.001, retry_cap=0.004)
    store = Store(refusals=5)
    leftovers.until_stored(store.write, "k")
    await asyncio.wait_for(store.taken.wait(), 5)
    await leftovers.settle()
    assert (store.tries, len(leftovers)) == (6, 0)


async def test_shutdown_makes_one_last_try_and_does_not_wait_for_the_store() -> None:
    leftovers = Leftovers(first_retry=3600, retry_cap=3600)
    store = Store(refusals=1_000)
    leftovers.until_stored(store.write, "k")
    await asyncio.wait_for(leftovers.settle(), 5)
    assert (store.tries, len(leftovers), store.taken.is_set()) == (1, 0, False)


async def test_shutdown_stores_an_outcome_the_store_takes_at_the_last_try() -> None:
    leftovers = Leftovers(first_retry=3600, retry_cap=3600)
    store = Store(refusals=0)
    leftovers.until_stored(store.write, "k")
    await asyncio.wait_for(leftovers.settle(), 5)
    assert (store.tries, store.taken.is_set()) == (1, True)


async def test_work_left_by_a_cancelled_send_runs_once_and_settle_waits_for_it() -> None:
    leftovers = Leftovers()
    store = Store(refusals=1)
    leftovers.later(store.write())  # fails: logged, not retried
    leftovers.later(store.write())
    await leftovers.settle()
    assert (store.tries, store.taken.is_set(), len(leftovers)) == (2, True, 0)
