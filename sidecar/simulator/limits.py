"""Rate limiters of the Graph API simulator; time is always a parameter.

Two limits that Meta enforces on sends (FACTS §5):

* per business phone number, a throughput of 80 msg/s by default, modelled as
  a token bucket whose burst equals the rate (error 130429);
* per (phone number, recipient) pair, 1 message every 6 s with a burst of 45,
  modelled with GCRA so a burst "borrows" from the future (error 131056).

    >>> bucket = ThroughputLimiter(rate=80.0)
    >>> bucket.allow("106540352242922", now=0.0)
    True
"""

from __future__ import annotations

# Idle keys are swept once the table grows past this many entries, so a long
# benchmark with millions of recipients keeps memory bounded by live keys.
_SWEEP_AT = 65_536


class ThroughputLimiter:
    """Token bucket per key: ``rate`` tokens per second, holding at most ``burst``."""

    __slots__ = ("_buckets", "_next_sweep", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = rate if burst is None else burst
        # key -> [tokens, last refill time]; lists avoid allocating per call.
        self._buckets: dict[str, list[float]] = {}
        self._next_sweep = _SWEEP_AT

    def allow(self, key: str, now: float) -> bool:
        """Take one token for ``key`` if one is available."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._next_sweep:
                self._sweep(now)
            bucket = [self.burst, now]
            self._buckets[key] = bucket
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        tokens = min(tokens, self.burst)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False

    def clear(self) -> None:
        self._buckets.clear()

    def _sweep(self, now: float) -> None:
        full = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        self._next_sweep = max(_SWEEP_AT, 2 * len(self._buckets))


class PairLimiter:
    """GCRA per key: one message per ``interval`` seconds, bursts of up to ``burst``."""

    __slots__ = ("_next_sweep", "_tat", "_tolerance", "burst", "interval")

    def __init__(self, interval: float, burst: int) -> None:
        if interval <= 0 or burst < 1:
            raise ValueError("interval must be positive and burst at least 1")
        self.interval = interval
        self.burst = burst
        self._tolerance = interval * (burst - 1)
        # key -> theoretical arrival time of the next conforming message.
        self._tat: dict[tuple[str, str], float] = {}
        self._next_sweep = _SWEEP_AT

    def allow(self, key: tuple[str, str], now: float) -> bool:
        """Admit one message for ``key`` if it conforms; a refusal costs nothing."""
        tat = self._tat.get(key)
        if tat is None:
            if len(self._tat) >= self._next_sweep:
                self._sweep(now)
            tat = now
        elif tat < now:
            tat = now
        if tat - self._tolerance > now:
            return False
        self._tat[key] = tat + self.interval
        return True

    def clear(self) -> None:
        self._tat.clear()

    def _sweep(self, now: float) -> None:
        # A key whose TAT has passed behaves exactly like a fresh key.
        idle = [k for k, tat in self._tat.items() if tat <= now]
        for key in idle:
            del self._tat[key]
        self._next_sweep = max(_SWEEP_AT, 2 * len(self._tat))
