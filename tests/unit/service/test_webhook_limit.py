"""The per-source webhook limit, counted in the quota store (SPEC §3.2):
a source over its limit is refused before anything is verified or applied,
other sources are not, and the window moves with the clock."""

from __future__ import annotations

import pytest
from support.service import TO, FakeTime, Rig

from sidecar.service.webhooks import RateLimiter, Rejection
from sidecar.testing import inbound_text, signature

pytestmark = pytest.mark.unit

WA_ID = TO.removeprefix("+")
SOURCE, OTHER = "203.0.113.7", "198.51.100.9"


def delivery(clock: FakeTime, wamid: str) -> tuple[bytes, str]:
    body = inbound_text(WA_ID, "hello", wamid=wamid, timestamp=int(clock()))
    return body, signature(body)


async def test_a_source_over_its_limit_is_refused_until_its_window_moves_on(
    rig: Rig, clock: FakeTime
) -> None:
    handler = rig.webhooks(limiter=RateLimiter(rig.quota, limit=2, period=60.0))

    first = [await handler.handle(*delivery(clock, f"wamid.{n}"), SOURCE) for n in range(2)]
    refused = await handler.handle(*delivery(clock, "wamid.2"), SOURCE)
    other = await handler.handle(*delivery(clock, "wamid.3"), OTHER)

    assert [o.valid for o in first] == [True, True]
    assert refused.rejection is Rejection.RATE_LIMITED
    assert refused.events == ()
    assert other.valid
    assert rig.metric("wa_sidecar_webhook_rejections_total", reason="rate_limited") == 1

    clock.advance(30.0)
    assert (await handler.handle(*delivery(clock, "wamid.4"), SOURCE)).rejection is (
        Rejection.RATE_LIMITED
    )
    clock.advance(30.5)  # both hits of the first second have left the window
    assert (await handler.handle(*delivery(clock, "wamid.5"), SOURCE)).valid
