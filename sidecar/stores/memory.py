"""In-process backends: quotas for one replica, dedup for tests and dev.

These are real backends (they pass the contract suite), not mocks. Nothing
awaits inside a method, so every method is atomic on the event loop.

GCRA as used here, for rate ``r`` and burst ``b``: the emission interval is
``T = 1/r``; each key keeps one *theoretical arrival time* ``tat`` (when the
bucket would be full again). A request of cost ``c`` at time ``now`` would
move it to ``new = max(tat, now) + c·T`` and is granted when
``new - now <= b·T``. So ``b`` requests may go back to back from a full
bucket, then one every ``T`` seconds; a refused request waits
``new - now - b·T``. A key whose ``tat`` has passed behaves exactly like an
absent key, which is what lets us forget it. A refund moves ``tat`` back by
``c·T``, never before ``now``: the bucket is then at most full.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

from sidecar.stores.admission import GRANTED, Admission, Bucket, UniqueCap

_EPSILON = 1e-9  # float slack so that exact multiples of T are not refused
_MIN_SWEEP = 1024


class MemoryQuotaStore:
    """``QuotaStore`` in this process's memory (``memory://``).

        quotas = MemoryQuotaStore()
        wait = await quotas.acquire("pnid:123", rate=80, burst=80)
        if wait:
            ...  # refused: retry after ``wait`` seconds

    ``clock`` is monotonic seconds; tests inject a fake one. Memory stays
    bounded: after as many calls as there are keys, keys that carry no state
    any more (full buckets, empty windows) are dropped, so the sweep costs
    O(1) per call amortised.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._unique: dict[str, tuple[float, OrderedDict[str, float]]] = {}
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._notes: dict[str, tuple[str, float]] = {}  # key -> (value, expires at)
        self._calls = 0

    async def acquire(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Take ``cost`` tokens and return 0.0, or take nothing and return the wait."""
        now = self._clock()
        new_tat, wait = self._gcra(key, rate, burst, cost, now)
        if wait == 0.0:
            self._tat[key] = new_tat
        self._maybe_sweep(now)
        return wait

    async def peek(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """The wait ``acquire`` would return, without taking anything."""
        return self._gcra(key, rate, burst, cost, self._clock())[1]

    async def add_unique(self, key: str, member: str, window: float, limit: int) -> bool:
        """Rolling-window distinct-member cap; see ``QuotaStore.add_unique``."""
        now = self._clock()
        entry = self._unique.get(key)
        if entry is None:
            entry = (window, OrderedDict())
        seen = _expire(entry[1], now - window)
        self._unique[key] = (window, seen)
        admitted = member in seen or len(seen) < limit
        if admitted:
            seen[member] = now
            seen.move_to_end(member)
        self._maybe_sweep(now)
        return admitted

    async def admit(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        *,
        take: bool = True,
    ) -> Admission:
        """All of the limits or none; see ``QuotaStore.admit``."""
        now = self._clock()
        seen: OrderedDict[str, float] | None = None
        if unique is not None:
            ukey = f"{group}|{unique.key}"
            entry = self._unique.get(ukey)
            seen = _expire(entry[1] if entry else OrderedDict(), now - unique.window)
            self._unique[ukey] = (unique.window, seen)
            if unique.member not in seen and len(seen) >= unique.limit:
                oldest = next(iter(seen.values()), now)
                return Admission(unique.key, max(oldest + unique.window - now, 0.0))
        added = None
        tats: list[tuple[str, float]] = []
        for bucket in buckets:
            key = f"{group}|{bucket.key}"
            new_tat, wait = self._gcra(key, bucket.rate, bucket.burst, bucket.cost, now)
            if wait > 0.0:
                return Admission(bucket.key, wait)
            tats.append((key, new_tat))
        if take:
            self._tat.update(tats)
            if unique is not None and seen is not None:
                last = seen.get(unique.member)
                # Marks of one member only grow, so a refund can tell them apart.
                mark = now if last is None or last < now else math.nextafter(last, math.inf)
                added = mark if last is None else None
                seen[unique.member] = mark
                seen.move_to_end(unique.member)
            self._maybe_sweep(now)
        return GRANTED if added is None else Admission(added=added)

    async def refund(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        added: float | None = None,
    ) -> None:
        """Give back what a granted ``admit`` took; see ``QuotaStore.refund``."""
        now = self._clock()
        if unique is not None and added is not None:
            entry = self._unique.get(f"{group}|{unique.key}")
            if entry is not None and entry[1].get(unique.member) == added:
                del entry[1][unique.member]
        for bucket in buckets:
            if bucket.rate <= 0 or bucket.cost < 0:
                raise ValueError("need rate > 0 and cost >= 0")
            key = f"{group}|{bucket.key}"
            tat = self._tat.get(key)
            if tat is None:
                continue
            back = tat - bucket.cost / bucket.rate
            if back > now:
                self._tat[key] = back
            else:  # full again: the same as no key
                del self._tat[key]

    async def hit_window(self, key: str, limit: int, period: float) -> bool:
        """Moving-window hit counter; see ``QuotaStore.hit_window``."""
        if limit < 1:
            return False
        now = self._clock()
        entry = self._hits.get(key)
        hits = entry[1] if entry is not None else deque()
        while len(hits) > limit:  # the limit shrank: only the newest ``limit`` matter
            hits.popleft()
        # The limit-th newest hit still inside the window refuses this one.
        if len(hits) == limit and hits[0] >= now - period:
            return False
        hits.append(now)
        if len(hits) > limit:
            hits.popleft()
        self._hits[key] = (period, hits)
        self._maybe_sweep(now)
        return True

    async def share(self, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds; see ``QuotaStore.share``."""
        self._notes[key] = (value, self._clock() + ttl)

    async def shared(self, key: str) -> str | None:
        note = self._notes.get(key)
        if note is None:
            return None
        if note[1] <= self._clock():
            del self._notes[key]
            return None
        return note[0]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._notes.clear()
        self._tat.clear()
        self._unique.clear()
        self._hits.clear()

    def __len__(self) -> int:
        """Keys currently held (for tests of the memory bound)."""
        return len(self._tat) + len(self._unique) + len(self._hits)

    def _gcra(
        self, key: str, rate: float, burst: float, cost: int, now: float
    ) -> tuple[float, float]:
        if rate <= 0 or cost < 0 or cost > burst:
            raise ValueError("need rate > 0 and 0 <= cost <= burst")
        interval = 1.0 / rate
        new_tat = max(self._tat.get(key, now), now) + cost * interval
        excess = new_tat - now - burst * interval
        return new_tat, (excess if excess > _EPSILON else 0.0)

    def _maybe_sweep(self, now: float) -> None:
        self._calls += 1
        if self._calls < max(_MIN_SWEEP, len(self)):
            return
        self._calls = 0
        self._tat = {k: tat for k, tat in self._tat.items() if tat > now}
        for key, (window, seen) in list(self._unique.items()):
            if not _expire(seen, now - window):
                del self._unique[key]
        self._hits = {k: e for k, e in self._hits.items() if e[1][-1] >= now - e[0]}


def _expire(seen: OrderedDict[str, float], horizon: float) -> OrderedDict[str, float]:
    """Drop members last seen at or before ``horizon`` (oldest are first)."""
    while seen:
        member, last = next(iter(seen.items()))
        if last > horizon:
            break
        del seen[member]
    return seen


class MemoryDedupStore:
    """``DedupStore`` in this process's memory: for tests and single-process dev.

        dedup = MemoryDedupStore()
        firsts = await dedup.claim(["wamid.A", "wamid.A"], ttl=3600, now=t)  # [True, False]

    Lost on restart, so production uses the SQLite or Redis one.
    """

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._calls = 0

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        """Mark each key seen until ``now + ttl``; True where this call was first."""
        firsts = []
        for key in keys:
            first = self._expiry.get(key, now) <= now
            if first:
                self._expiry[key] = now + ttl
            firsts.append(first)
        self._calls += len(keys)
        if self._calls >= max(_MIN_SWEEP, len(self._expiry)):
            await self.purge_expired(now)
        return firsts

    async def purge_expired(self, now: float) -> int:
        """Forget keys whose TTL has run out; returns how many."""
        before = len(self._expiry)
        self._expiry = {k: exp for k, exp in self._expiry.items() if exp > now}
        self._calls = 0
        return before - len(self._expiry)

    async def close(self) -> None:
        self._expiry.clear()
