"""The per-source webhook limit fails open: with its quota store (Redis)
unreachable a delivery is not refused for it — the signature still guards
the door — and the miss is logged."""

from __future__ import annotations

import logging

import pytest

from sidecar.service.webhooks import RateLimiter
from sidecar.stores.redis import RedisQuotaStore
from sidecar.testing import free_port

pytestmark = pytest.mark.integration


async def test_an_unreachable_quota_store_limits_nothing_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisQuotaStore(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    limiter = RateLimiter(store, limit=1, period=60.0)
    try:
        with caplog.at_level(logging.WARNING, logger="sidecar.service.webhooks"):
            allowed = [await limiter.allow("203.0.113.7") for _ in range(3)]
    finally:
        await store.close()
    assert allowed == [True, True, True]
    events = [getattr(r, "event", "") for r in caplog.records]
    assert events.count("webhook_limit_unavailable") == 3
