"""What only the in-memory backends promise: bounded memory and argument checks.
Their behaviour under the store contract is tested in
``tests/integration/test_store_contract.py``."""

from __future__ import annotations

import pytest

from sidecar.stores.memory import MemoryDedupStore, MemoryQuotaStore

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_full_buckets_and_empty_windows_are_forgotten() -> None:
    clock = Clock()
    quotas = MemoryQuotaStore(clock=clock)
    for i in range(5000):
        await quotas.acquire(f"pair:{i}", rate=1, burst=1)
    await quotas.add_unique("tier", "m", window=10, limit=5)
    assert len(quotas) == 5001
    clock.now = 20.0  # every bucket is full again, the window is empty
    for _ in range(5001):
        await quotas.acquire("busy", rate=1000, burst=1000)
    assert len(quotas) <= 2


async def test_forgetting_a_key_does_not_change_its_answers() -> None:
    clock = Clock()
    quotas = MemoryQuotaStore(clock=clock)
    assert await quotas.acquire("k", rate=1, burst=2) == 0.0
    assert await quotas.acquire("k", rate=1, burst=2) == 0.0
    clock.now = 0.5
    for _ in range(2000):  # long enough for a sweep; "k" still holds state
        await quotas.acquire("other", rate=10_000, burst=10_000)
    assert await quotas.acquire("k", rate=1, burst=2) == pytest.approx(0.5)


@pytest.mark.parametrize(("rate", "burst", "cost"), [(0, 1, 1), (-1, 1, 1), (1, 1, 2), (1, 1, -1)])
async def test_impossible_quota_arguments_are_programming_errors(
    rate: float, burst: float, cost: int
) -> None:
    with pytest.raises(ValueError, match="rate"):
        await MemoryQuotaStore().acquire("k", rate, burst, cost)


async def test_expired_dedup_keys_are_dropped_without_an_explicit_purge() -> None:
    dedup = MemoryDedupStore()
    await dedup.claim([f"e{i}" for i in range(3000)], ttl=1, now=0.0)
    for i in range(4000):
        await dedup.claim([f"late{i % 10}"], ttl=1, now=10.0)
    assert await dedup.purge_expired(now=10.0) == 0
