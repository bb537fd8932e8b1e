"""Waiting on another process: poll a condition it exposes until it holds.

A sidecar or OpenBao in its own process has no event a test could await, only
what it answers (a health status, a scrape, a verified webhook). The condition
ends the wait; ``timeout`` bounds it, and the period only paces the polling.
In-process objects (the simulator) offer real events instead: use those.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0, period: float = 0.02
) -> float:
    """Poll ``check()`` until it is true; the seconds it took. Fails naming
    ``what`` when ``timeout`` passes first."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        await asyncio.sleep(period)
    return time.monotonic() - started
