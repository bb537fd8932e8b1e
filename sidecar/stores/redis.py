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

# GCRA in microseconds (see memory.py for the maths). KEYS[1] = bucket;
# ARGV = emission interval (µs), burst, cost. Returns the wait in µs (0: granted).
# Doubles hold epoch µs to 0.25 µs, so 1 µs of slack stands in for memory.py's epsilon.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[3]) * interval
local wait = new_tat - now - tonumber(ARGV[2]) * interval
if wait > 1 then return math.ceil(wait) end
{take}
return 0
"""
_TAKE = (
    "redis.call('SET', KEYS[1], string.format('%.3f', new_tat),"
    " 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))"
)
ACQUIRE_LUA = _GCRA.format(take=_TAKE)
PEEK_LUA = _GCRA.format(take="")

# Rolling-window distinct members. KEYS[1] = sorted set member → last seen (s);
# ARGV = member, window (s), limit. Returns 1 when admitted (and recorded).
UNIQUE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now - window))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""

# Moving-window hit counter. KEYS[1] = list of hit times (s), newest first, at
# most ``limit`` long; ARGV = limit, period (s). Returns 1 when the hit counted.
HIT_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and tonumber(oldest) >= now - period then return 0 end
redis.call('LPUSH', KEYS[1], string.format('%.6f', now))
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000))
return 1
"""

# All-or-nothing admission (``QuotaStore.admit``): the unique cap, then each
# bucket, are checked; only when every one grants are they all taken. Every key
# of a call carries the group's hash tag, so the script touches one slot.
# KEYS = [unique set,] buckets...; ARGV = take (1/0), has unique (1/0), member,
# window (s), limit, then interval (µs), burst, cost per bucket.
# Returns {index, wait µs}: index -1 granted, 0 the unique cap, i the i-th bucket;
# a grant that took and recorded the member anew adds its mark (the score).
ADMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local first = 1
local new_member = false
if ARGV[2] == '1' then
  local window = tonumber(ARGV[4])
  local secs = now / 1000000
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', secs - window))
  if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
    new_member = true
    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then
      local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
      local ends = now
      if oldest[2] then ends = (tonumber(oldest[2]) + window) * 1000000 end
      return {0, math.max(0, math.ceil(ends - now))}
    end
  end
  first = 2
end
local tats = {}
for i = first, #KEYS do
  local b = 6 + (i - first) * 3
  local interval = tonumber(ARGV[b])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local new_tat = tat + tonumber(ARGV[b + 2]) * interval
  local wait = new_tat - now - tonumber(ARGV[b + 1]) * interval
  if wait > 1 then return {i - first + 1, math.ceil(wait)} end
  tats[i] = new_tat
end
if ARGV[1] == '1' then
  local added = ''
  if first == 2 then
    local mark = string.format('%.6f', now / 1000000)
    if new_member then added = mark end
    redis.call('ZADD', KEYS[1], mark, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) * 1000))
  end
  for i = first, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.3f', tats[i]),
      'PX', math.max(1, math.ceil((tats[i] - now) / 1000)))
  end
  return {-1, 0, added}
end
return {-1, 0}
"""

# Give back what a granted admit took (``QuotaStore.refund``): the unique cap's
# member only while its score is still the admission's mark, and each bucket's
# cost moved back off its TAT, never before now (a bucket is at most full).
# KEYS = [unique set,] buckets...; ARGV = has unique (1/0), member, mark, then
# interval (µs), cost per bucket.
REFUND_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local first = 1
if ARGV[1] == '1' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if score and tonumber(score) == tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[1], ARGV[2])
  end
  first = 2
end
for i = first, #KEYS do
  local b = 4 + (i - first) * 2
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat then
    local back = tat - tonumber(ARGV[b + 1]) * tonumber(ARGV[b])
    if back > now then
      redis.call('SET', KEYS[i], string.format('%.3f', back),
        'PX', math.max(1, math.ceil((back - now) / 1000)))
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
return 1
"""

# Dedup claim of one key. The value is the expiry on the caller's clock (the
# contract passes ``now``); PX lets Redis forget the key by itself.
# KEYS[1]; ARGV = now, expires_at, ttl (ms). Returns 1 when this call was first.
CLAIM_LUA = """
local seen = tonumber(redis.call('GET', KEYS[1]))
if seen and seen > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS[1]; ARGV = now. Deletes the key if it has expired on the caller's clock.
PURGE_LUA = """
local seen = tonumber(redis.call('GET', KEYS[1]))
if seen and seen <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


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
