"""The fast, shared, forgettable stores: quota buckets and webhook dedup
(memory or SQLite embedded, Redis scaled out). Losing their content costs a
short burst or a redelivered webhook applied twice to idempotent effects,
never an acknowledged change.

``stores.base`` re-exports them beside the state roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sidecar.stores.admission import Admission, Bucket, UniqueCap

# --------------------------------------------------------------------------- quotas


@runtime_checkable
class QuotaStore(Protocol):
    """Rate limits shared by every replica that points at the same backend.

    ``acquire`` is GCRA (a token bucket in one timestamp per key): ``rate``
    tokens per second, at most ``burst`` at once. Atomic per key. The clock is
    the backend's own (Redis ``TIME``), so replica clocks do not matter.
    """

    async def acquire(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Take ``cost`` tokens if available and return 0.0; otherwise take
        nothing and return the seconds until they would be available."""
        ...

    async def peek(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Like ``acquire`` but never takes a token (for ``Check``)."""
        ...

    async def add_unique(self, key: str, member: str, window: float, limit: int) -> bool:
        """Rolling-window distinct-member cap (messaging tier): record ``member``
        and return True if, counting it, at most ``limit`` distinct members were
        seen in the last ``window`` seconds; a member already inside the window
        always passes. Returns False (recording nothing) when over the cap."""
        ...

    async def admit(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        *,
        take: bool = True,
    ) -> Admission:
        """All or nothing, atomically: if ``unique`` and every bucket would
        grant, take them all (unless ``take`` is False) and return ``GRANTED``;
        otherwise take nothing and name the first refusing limit. The keys are
        those of ``group`` (a business number), apart from ``acquire``'s; one
        call is one round trip."""
        ...

    async def hit_window(self, key: str, limit: int, period: float) -> bool:
        """Moving-window hit counter (per-source webhook limit): record a hit
        and return True if fewer than ``limit`` hits were recorded under
        ``key`` in the last ``period`` seconds; otherwise record nothing and
        return False (a ``limit`` below 1 refuses every hit). Atomic per key."""
        ...

    async def refund(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        added: float | None = None,
    ) -> None:
        """Give back what a granted ``admit`` of ``group`` took for a send that
        then did not go: each bucket's ``cost`` in time (a bucket never holds
        more than its burst), and ``unique``'s member when ``added`` (that
        admission's ``Admission.added``) is still its mark — a member another
        admission recorded since stays. One round trip; atomic."""
        ...

    async def share(self, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds (the last write wins),
        for every replica on this backend: what one replica learnt (a number's
        capacity, read from Graph) the others read with ``shared``."""
        ...

    async def shared(self, key: str) -> str | None:
        """The value ``share`` left under ``key``, or None once it expired."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable if the backend cannot be reached."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- dedup


@runtime_checkable
class DedupStore(Protocol):
    """Remembers processed webhook event keys for a TTL (Meta re-delivers)."""

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        """Atomically mark each key as seen; True where this call was first.

        Two concurrent claims of one key: exactly one gets True.
        """
        ...

    async def purge_expired(self, now: float) -> int: ...

    async def close(self) -> None: ...
