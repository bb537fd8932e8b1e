"""``QuotaStore.share``/``shared``: what one replica learnt, every replica on the
same backend reads (memory and Redis; expiry with the memory store's fake clock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sidecar.stores.base import QuotaStore

if TYPE_CHECKING:
    from tests.conftest import FakeClock

pytestmark = pytest.mark.integration


async def test_a_shared_value_is_read_back_and_the_last_write_wins(
    quota_store: QuotaStore,
) -> None:
    assert await quota_store.shared("capacity:pn") is None
    await quota_store.share("capacity:pn", '{"rate": 80}', 60.0)
    assert await quota_store.shared("capacity:pn") == '{"rate": 80}'
    await quota_store.share("capacity:pn", '{"rate": 1000}', 60.0)
    assert await quota_store.shared("capacity:pn") == '{"rate": 1000}'
    assert await quota_store.shared("capacity:other") is None


async def test_a_shared_value_lives_for_its_ttl(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    await quota_store.share("capacity:pn", "v", 10.0)
    fake_clock.advance(9.9)
    assert await quota_store.shared("capacity:pn") == "v"
    fake_clock.advance(0.2)
    assert await quota_store.shared("capacity:pn") is None


async def test_shared_values_and_bucket_keys_do_not_meet(quota_store: QuotaStore) -> None:
    await quota_store.share("rate", "note", 60.0)
    assert await quota_store.acquire("rate", 1.0, 1.0) == 0.0
    assert await quota_store.shared("rate") == "note"
