"""Background health pings of the stores, exported as ``wa_sidecar_store_up``.

    await watch_stores({"state": stores.state.ping, "quota": stores.quota.ping},
                       metrics, stop)

Each ping gets ``ping_timeout`` seconds; a ping that raises or times out sets the
store's gauge to 0 (and logs once per outage), a later success sets it back
to 1. The alert ``WaSidecarQuotaStoreDown`` (``deploy/prometheus/rules.yaml``)
watches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from sidecar.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

Ping = Callable[[], Awaitable[None]]
OnChange = Callable[[str, bool], Awaitable[None]]


async def watch_stores(
    pings: Mapping[str, Ping],
    metrics: Metrics,
    stop: asyncio.Event,
    *,
    interval: float = 5.0,
    ping_timeout: float = 1.0,
    on_change: OnChange | None = None,
    looked: asyncio.Event | None = None,
) -> None:
    """Ping every store each ``interval`` seconds until ``stop`` is set;
    ``on_change(name, up)`` hears every flip (e.g. to set gRPC health);
    ``looked`` is set once the first round is recorded (serving waits for it,
    so the gauge and the health components say something true from the start)."""
    down: set[str] = set()
    try:
        while not stop.is_set():
            results = await asyncio.gather(*(_ping(ping, ping_timeout) for ping in pings.values()))
            for name, ok in zip(pings, results, strict=True):
                metrics.store_up.labels(name).set(1.0 if ok else 0.0)
                if not ok and name not in down:
                    down.add(name)
                    log.warning("store not answering", extra={"event": "store_down", "store": name})
                    if on_change is not None:
                        await on_change(name, False)
                elif ok and name in down:
                    down.discard(name)
                    log.info("store answering again", extra={"event": "store_up", "store": name})
                    if on_change is not None:
                        await on_change(name, True)
            if looked is not None:
                looked.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        if looked is not None:  # stopped before a first round: nobody waits in vain
            looked.set()


async def _ping(ping: Ping, limit: float) -> bool:
    try:
        await asyncio.wait_for(ping(), limit)
    except asyncio.CancelledError:
        raise
    except Exception:  # any failure means "down"; the store logs its own detail
        return False
    return True
