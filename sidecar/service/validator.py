"""Optional external number validator (off by default).

Some deployments keep a service that knows whether a number can receive
WhatsApp. When ``WA_SIDECAR_NUMBER_VALIDATOR_URL`` is set, each send asks it
``GET <url>?number=<E.164>`` and expects ``{"whatsapp": true|false}``. Answers
are cached per number (keyed by the suppression hash, not the number) for
``..._CACHE_TTL`` seconds, and calls are held to ``..._QPS`` by a local token
bucket. The validator is advisory: when it is slow, down, rate-limited or
answers nonsense, the send proceeds (fail open) and the miss is logged.

    bucket = MemoryQuotaStore()  # this process's: the qps is per replica
    validator = NumberValidator(session, url, bucket, qps=10, cache_ttl=86400, timeout=2)
    await validator.reachable("+16505551234", key=suppression_hash)   # True/False/None
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import aiohttp

from sidecar.stores.base import QuotaStore

log = logging.getLogger(__name__)

_CACHE_SIZE = 100_000


class NumberValidator:
    """Asks an external HTTP validator whether a number is on WhatsApp."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        bucket: QuotaStore,
        *,
        qps: float,
        cache_ttl: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._url = url
        self._qps = qps
        self._ttl = cache_ttl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._bucket = bucket
        self._cache: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self.calls = 0

    async def reachable(self, e164: str, *, key: str) -> bool | None:
        """True/False from the validator (or its cache); None when unknown."""
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        if await self._bucket.acquire("validator", self._qps, max(self._qps, 1.0)) > 0:
            log.info("number validator skipped: over its QPS", extra={"event": "validator_busy"})
            return None
        self.calls += 1
        try:
            async with self._session.get(
                self._url, params={"number": e164}, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning(
                "number validator unavailable: %s",
                type(exc).__name__,
                extra={"event": "validator_failed"},
            )
            return None
        verdict = data.get("whatsapp") if isinstance(data, dict) else None
        if not isinstance(verdict, bool):
            log.warning(
                "number validator answered without a boolean", extra={"event": "validator_bad"}
            )
            return None
        self._cache[key] = (verdict, now + self._ttl)
        self._cache.move_to_end(key)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return verdict
