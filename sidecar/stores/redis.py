"""Redis backends: quotas and webhook dedup shared by every replica (``redis://``).

    quotas = RedisQuotaStore("redis://redis:6379/0")
    await quotas.ping()
    wait = await quotas.acquire("rate:106540352242922", rate=80, burst=80)
    admission = await quotas.admit("106540352242922", [Bucket("rate", rate=80, burst=80)])
    dedup = quotas.dedup()  # same connection pool
    ...
    await quotas.close()

Every operation is one Lua script run with ``EVALSHA`` (registered once;
redis-py reloads it after a ``NOSCRIPT``, e.g. when Redis restarted), so each
decision is atomic per key. Quota scripts read the clock with Redis ``TIME``:
replica clocks do not matter. The GCRA is the one ``memory.py`` describes,
computed in microseconds; a bucket key expires when the bucket would be full
again, so idle keys cost nothing.

Keys carry a Redis Cluster hash tag around the caller's key (``wa:{rate:123}``,
``wa:uniq:{tier:…}``, ``wa:hits:{webhook:…}``, ``wa:dedup:{wamid…}``): those
scripts touch one key,
which therefore lives in one slot. ``admit`` touches a send's few limits at
once; they share the group's tag (``wa:{123}:rate``, ``wa:{123}:pair:…``,
``wa:{123}:uniq:tier``), so they too live in one slot.

A slow Redis must not stall requests: connect and socket timeouts are short
(``timeout``, 0.25 s by default), the pool is bounded and waits at most
``timeout`` for a free connection, and after a timeout the store fails fast
for ``cooldown`` seconds instead of letting every request wait out its own.
Failures raise ``StoreUnavailable`` naming the error class only (never the URL,
which may hold a password); ``sidecar/service/send.py`` applies the configured
fail mode.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis import exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from sidecar.errors import StoreUnavailable
from sidecar.stores.admission import GRANTED, Admission, Bucket, UniqueCap
from sidecar.stores.redis_lua import (
    ACQUIRE_LUA,
    ADMIT_LUA,
    CLAIM_LUA,
    HIT_WINDOW_LUA,
    PEEK_LUA,
    PURGE_LUA,
    REFUND_LUA,
    UNIQUE_LUA,
)

T = TypeVar("T")

_MAX_CONNECTIONS = 64
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    rx.ConnectionError,  # includes BusyLoadingError and "no connection available"
    rx.TimeoutError,
    rx.ReadOnlyError,  # talking to a replica after a failover
    OSError,
    TimeoutError,
)
_SLOW: tuple[type[BaseException], ...] = (rx.TimeoutError, TimeoutError)


class RedisLink:
    """One bounded connection pool plus the fail-fast breaker; shared by the
    quota and dedup stores of a process."""

    def __init__(self, url: str, *, timeout: float = 0.25, cooldown: float = 1.0) -> None:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=_MAX_CONNECTIONS,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One immediate retry on a broken pooled connection (Redis restarted);
            # a timeout is not retried: the deadline is the point.
            retry=Retry(NoBackoff(), 1, supported_errors=(rx.ConnectionError,)),
        )
        self.client: Redis = Redis(connection_pool=pool)
        self._cooldown = cooldown
        self._open_until = 0.0

    async def run(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op``; a connection failure or timeout becomes ``StoreUnavailable``."""
        if time.monotonic() < self._open_until:
            raise StoreUnavailable("Redis store unavailable (timed out recently)")
        try:
            return await op()
        except _UNAVAILABLE as exc:
            if isinstance(exc, _SLOW):
                self._open_until = time.monotonic() + self._cooldown
            raise StoreUnavailable(f"Redis store unavailable ({type(exc).__name__})") from None

    async def ping(self) -> None:
        await self.run(self.client.ping)

    async def close(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()


class RedisQuotaStore:
    """``QuotaStore`` on Redis, shared by every replica using the same URL and prefix.

    ``key_prefix`` namespaces this deployment's keys (tests use a random one);
    ``timeout`` bounds connect, each command and the wait for a pooled
    connection.
    """

    def __init__(self, url: str, *, key_prefix: str = "wa:", timeout: float = 0.25) -> None:
        self._link = RedisLink(url, timeout=timeout)
        self._prefix = key_prefix
        client = self._link.client
        self._acquire = client.register_script(ACQUIRE_LUA)
        self._peek = client.register_script(PEEK_LUA)
        self._unique = client.register_script(UNIQUE_LUA)
        self._admit = client.register_script(ADMIT_LUA)
        self._hits = client.register_script(HIT_WINDOW_LUA)
        self._refund = client.register_script(REFUND_LUA)

    def dedup(self) -> RedisDedupStore:
        """A dedup store on this store's connection pool (closed with it)."""
        return RedisDedupStore(link=self._link, key_prefix=self._prefix)

    async def acquire(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """Take ``cost`` tokens and return 0.0, or take nothing and return the wait."""
        return await self._gcra(self._acquire, key, rate, burst, cost)

    async def peek(self, key: str, rate: float, burst: float, cost: int = 1) -> float:
        """The wait ``acquire`` would return, without taking anything."""
        return await self._gcra(self._peek, key, rate, burst, cost)

    async def add_unique(self, key: str, member: str, window: float, limit: int) -> bool:
        """Rolling-window distinct-member cap; see ``QuotaStore.add_unique``."""
        script = self._unique
        args: list[str | int] = [member, repr(float(window)), int(limit)]
        keys = [f"{self._prefix}uniq:{{{key}}}"]
        admitted = await self._link.run(lambda: script(keys=keys, args=args))
        return int(admitted) == 1

    async def admit(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        *,
        take: bool = True,
    ) -> Admission:
        """All of the limits or none, in one script; see ``QuotaStore.admit``."""
        tag = f"{self._prefix}{{{group}}}:"
        keys: list[str] = []
        args: list[str | int] = [int(take), int(unique is not None)]
        if unique is not None:
            keys.append(f"{tag}uniq:{unique.key}")
            args += [unique.member, repr(float(unique.window)), int(unique.limit)]
        else:
            args += ["", "0", 0]
        for bucket in buckets:
            _check_bucket(bucket.rate, bucket.burst, bucket.cost)
            keys.append(tag + bucket.key)
            args += [f"{1e6 / bucket.rate:.6f}", repr(float(bucket.burst)), int(bucket.cost)]
        script = self._admit
        index, wait_us, *added = await self._link.run(lambda: script(keys=keys, args=args))
        index = int(index)
        if index < 0:
            return Admission(added=float(added[0])) if added and added[0] else GRANTED
        refused = unique.key if index == 0 and unique is not None else buckets[index - 1].key
        return Admission(refused, int(wait_us) / 1e6)

    async def hit_window(self, key: str, limit: int, period: float) -> bool:
        """Moving-window hit counter; see ``QuotaStore.hit_window``."""
        if limit < 1:
            return False
        script = self._hits
        keys = [f"{self._prefix}hits:{{{key}}}"]
        args: list[str | int] = [int(limit), repr(float(period))]
        counted = await self._link.run(lambda: script(keys=keys, args=args))
        return int(counted) == 1

    async def refund(
        self,
        group: str,
        buckets: Sequence[Bucket],
        unique: UniqueCap | None = None,
        added: float | None = None,
    ) -> None:
        """Give back what a granted ``admit`` took, in one script; see
        ``QuotaStore.refund``."""
        tag = f"{self._prefix}{{{group}}}:"
        keys: list[str] = []
        args: list[str | int] = []
        if unique is not None and added is not None:
            keys.append(f"{tag}uniq:{unique.key}")
            args += [1, unique.member, repr(float(added))]
        else:
            args += [0, "", "0"]
        for bucket in buckets:
            if bucket.rate <= 0 or bucket.cost < 0:
                raise ValueError("need rate > 0 and cost >= 0")
            keys.append(tag + bucket.key)
            args += [f"{1e6 / bucket.rate:.6f}", int(bucket.cost)]
        if not keys:
            return
        script = self._refund
        await self._link.run(lambda: script(keys=keys, args=args))

    async def share(self, key: str, value: str, ttl: float) -> None:
        """``SET key value PX ttl`` under ``<prefix>note:{key}``; see ``QuotaStore.share``."""
        name, ms = f"{self._prefix}note:{{{key}}}", max(1, int(ttl * 1000))
        client = self._link.client
        await self._link.run(lambda: client.set(name, value, px=ms))

    async def shared(self, key: str) -> str | None:
        name = f"{self._prefix}note:{{{key}}}"
        client = self._link.client
        raw = await self._link.run(lambda: client.get(name))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    async def ping(self) -> None:
        await self._link.ping()

    async def close(self) -> None:
        await self._link.close()

    async def _gcra(self, script: Any, key: str, rate: float, burst: float, cost: int) -> float:
        _check_bucket(rate, burst, cost)
        keys = [f"{self._prefix}{{{key}}}"]
        args: list[str | int] = [f"{1e6 / rate:.6f}", repr(float(burst)), int(cost)]
        wait_us = await self._link.run(lambda: script(keys=keys, args=args))
        return int(wait_us) / 1e6


class RedisDedupStore:
    """``DedupStore`` on Redis: one key per event id, expired by Redis itself.

    A batch is one pipeline of single-key scripts (cluster-safe), so each key's
    claim is atomic: of concurrent claims exactly one gets True.
    """

    def __init__(
        self,
        url: str = "",
        *,
        key_prefix: str = "wa:",
        timeout: float = 0.25,
        link: RedisLink | None = None,
    ) -> None:
        self._owns = link is None
        self._link = link if link is not None else RedisLink(url, timeout=timeout)
        self._prefix = key_prefix
        self._claim = self._link.client.register_script(CLAIM_LUA)
        self._purge = self._link.client.register_script(PURGE_LUA)

    async def claim(self, keys: Sequence[str], ttl: float, now: float) -> list[bool]:
        """Mark each key seen until ``now + ttl``; True where this call was first."""
        if not keys:
            return []
        args: list[str | int] = [repr(float(now)), repr(float(now + ttl)), max(1, int(ttl * 1000))]

        async def batch() -> list[Any]:
            async with self._link.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    await self._claim(keys=[self._key(key)], args=args, client=pipe)
                return await pipe.execute()

        return [int(first) == 1 for first in await self._link.run(batch)]

    async def purge_expired(self, now: float) -> int:
        """Delete keys expired on the caller's clock (Redis drops the others
        by their own TTL); scans this prefix, so it is an admin-time operation."""
        pattern = _glob_escape(f"{self._prefix}dedup:{{") + "*"

        async def scan() -> int:
            purged = 0
            client = self._link.client
            cursor: int = 0
            while True:
                cursor, found = await client.scan(cursor, match=pattern, count=500)
                if found:
                    async with client.pipeline(transaction=False) as pipe:
                        for key in found:
                            await self._purge(keys=[key], args=[repr(float(now))], client=pipe)
                        purged += sum(int(n) for n in await pipe.execute())
                if not cursor:
                    return purged

        return await self._link.run(scan)

    async def close(self) -> None:
        if self._owns:
            await self._link.close()

    def _key(self, key: str) -> str:
        return f"{self._prefix}dedup:{{{key}}}"


def _check_bucket(rate: float, burst: float, cost: int) -> None:
    if rate <= 0 or cost < 0 or cost > burst:
        raise ValueError("need rate > 0 and 0 <= cost <= burst")


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
