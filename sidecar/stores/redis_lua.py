"""The Lua scripts of the Redis backends (``stores/redis.py``), one per
operation, each atomic on its keys; ``redis.py`` registers and runs them."""

from __future__ import annotations

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
