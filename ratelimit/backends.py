"""Where counters live: this process's memory, or Redis shared by every process.

Both take every counter that applies to one request at once and run the same algorithms
(``ratelimit.algorithms``): each counter is decided first, and counters are only consumed when every
enforced one admits, so a rejected request costs no quota anywhere. Redis does it in one Lua script
(one EVALSHA, one round trip) on the server's clock (``TIME``), so processes on different machines
share exact counts without clock skew. Shadow counters that would have limited add one to a per-policy
hash by consumer, for the admin's "would have limited" view.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from proxy.pipelined_redis import ScriptClient, bulk
from ratelimit.algorithms import SLIDING_WINDOW, Limit, State, Verdict, decide, expires_after_us, sliding_window_refund

# Every counter and shadow hash carries the hash tag {rl}: on a Redis Cluster they share one slot, so
# the one script that decides all of a request's counters may touch them together. No narrower tag
# would do: one policy's counter meets other policies' counters on different requests and routes.
KEY_PREFIX = "gateway:{rl}:"
SHADOW_PREFIX = "gateway:{rl}-shadow:"
SHADOW_TTL_MS = 7 * 86_400_000
PRUNE_EVERY = 10_000  # memory backend: drop expired counters after this many writes


@dataclass(frozen=True, slots=True)
class Check:
    key: str  # the counter: policy id, algorithm and subject (never a config version)
    limit: Limit
    shadow_key: str = ""  # set for shadow policies: the per-policy "would have limited" hash
    shadow_field: str = ""  # the consumer it counts under


class CounterBackend(Protocol):
    async def check(self, checks: Sequence[Check]) -> list[Verdict]: ...


class MemoryBackend:
    """One process's counters. ``clock`` is injectable so tests move time instead of sleeping."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.states: dict[str, tuple[State, int]] = {}  # key -> (state, expires at µs)
        self.shadow: dict[str, dict[str, int]] = {}
        self._writes = 0

    async def check(self, checks: Sequence[Check]) -> list[Verdict]:
        return self.check_now(checks)

    def check_now(self, checks: Sequence[Check]) -> list[Verdict]:
        now = int(self.clock() * 1_000_000)
        verdicts, writes = [], []
        admitted = True
        for check in checks:
            stored = self.states.get(check.key)
            state = stored[0] if stored is not None and stored[1] > now else None
            verdict, new = decide(check.limit, state, now)
            verdicts.append(verdict)
            writes.append(new)
            if not verdict.admitted and not check.shadow_key:
                admitted = False
        if admitted:
            for check, verdict, new in zip(checks, verdicts, writes, strict=True):
                if new is not None:
                    self.states[check.key] = (new, now + expires_after_us(check.limit, new, now))
                elif check.shadow_key and not verdict.admitted:
                    per = self.shadow.setdefault(check.shadow_key, {})
                    per[check.shadow_field] = per.get(check.shadow_field, 0) + 1
            self._writes += 1
            if self._writes % PRUNE_EVERY == 0:
                self.prune(now)
        return verdicts

    def refund(self, check: Check, age_us: int) -> bool:
        """Give back one request a sliding-window counter admitted ``age_us`` ago (``REFUND_LUA``)."""
        assert check.limit.algorithm == SLIDING_WINDOW
        now = int(self.clock() * 1_000_000)
        stored = self.states.get(check.key)
        if stored is None or stored[1] <= now:
            return False
        new = sliding_window_refund(check.limit, stored[0], now - age_us)
        if new is not None:
            self.states[check.key] = (new, stored[1])
        return new is not None

    def prune(self, now: int) -> None:
        for key in [k for k, (_, until) in self.states.items() if until <= now]:
            del self.states[key]


# ARGV: n, then per counter: algorithm, limit, period µs, burst, shadow field ("" when enforced).
# KEYS: n counters, then n shadow hashes (the counter key again for enforced ones; unused).
# Mirrors ratelimit.algorithms; integers are written with %d (tostring would use 14 digits).
LUA = """
local n = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out, writes, ok = {}, {}, true
local function ms(us) local v = math.ceil(us / 1000) if v < 0 then return 0 end return v end
for i = 1, n do
  local b = 1 + (i - 1) * 5
  local alg, limit, period = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local burst, shadow = tonumber(ARGV[b + 4]), ARGV[b + 5]
  local key = KEYS[i]
  local admitted, remaining, reset, retry, write = 0, 0, 0, 0, nil
  if alg == 'gcra' then
    local interval = math.floor(period / limit)
    local cap = limit
    if burst > 0 then cap = burst end
    local tau = interval * cap
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local new = tat + interval
    if new - now <= tau then
      admitted, remaining, reset = 1, math.floor((tau - (new - now)) / interval), ms(new - now)
      write = {new, new - now + 1}
    else
      reset, retry = ms(tat - now), ms(new - now - tau)
    end
  else
    local window = math.floor(now / period)
    local elapsed = now - window * period
    local h = redis.call('HMGET', key, 'w', 'c', 'p', 'lc', 'lp')
    -- A counter written before the last offsets existed: its requests spread over the whole window.
    local w, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
    local lc, lp = tonumber(h[4]) or period, tonumber(h[5]) or period
    local curr, prev, last_curr, last_prev = 0, 0, 0, 0
    if w == window then
      curr, prev, last_curr, last_prev = c, p, lc, lp
    elseif w == window - 1 then
      prev, last_prev = c, lc
    end
    local count = curr
    if elapsed < last_prev then count = prev * (last_prev - elapsed) / last_prev + curr end
    reset = ms(period - elapsed)
    if count + 1 <= limit then
      admitted, remaining = 1, math.floor(limit - count - 1)
      write = {window, curr + 1, prev, 2 * period, w == window, elapsed, last_prev}
    else
      local wait
      if curr + 1 > limit then
        wait = (period - elapsed) + math.ceil(last_curr - last_curr * (limit - 1) / curr)
      else
        wait = math.ceil(last_prev - elapsed - last_prev * (limit - 1 - curr) / prev)
      end
      if wait > period then wait = period end
      retry = ms(wait)
    end
  end
  if admitted == 0 and shadow == '' then ok = false end
  out[#out + 1], out[#out + 2], out[#out + 3], out[#out + 4] = admitted, remaining, reset, retry
  writes[i] = write or false
end
if ok then
  for i = 1, n do
    local b = 1 + (i - 1) * 5
    local write = writes[i]
    if write then
      if ARGV[b + 1] == 'gcra' then
        redis.call('SET', KEYS[i], string.format('%d', write[1]), 'PX', string.format('%d', math.ceil(write[2] / 1000)))
      else
        local offset = string.format('%d', write[6])
        if write[5] then  -- same window: the expiry set when it began still holds
          redis.call('HSET', KEYS[i], 'c', string.format('%d', write[2]), 'lc', offset)
        else
          redis.call('HSET', KEYS[i], 'w', string.format('%d', write[1]), 'c', write[2], 'p', write[3],
                     'lc', offset, 'lp', string.format('%d', write[7]))
          redis.call('PEXPIRE', KEYS[i], string.format('%d', math.ceil(write[4] / 1000)))
        end
      end
    elseif ARGV[b + 5] ~= '' then
      redis.call('HINCRBY', KEYS[n + i], ARGV[b + 5], 1)
      redis.call('PEXPIRE', KEYS[n + i], %(shadow_ttl)d)
    end
  end
end
return out
""".replace("%(shadow_ttl)d", str(SHADOW_TTL_MS))


# KEYS[1]: a sliding-window counter; ARGV: its period µs, the age µs of the admission to give back.
# Mirrors ratelimit.algorithms.sliding_window_refund; answers 1 when something was given back.
REFUND_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = math.floor((now - tonumber(ARGV[2])) / tonumber(ARGV[1]))
local h = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local w, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
if w == window and c > 0 then
  redis.call('HINCRBY', KEYS[1], 'c', -1)
  return 1
end
if w == window + 1 and p > 0 then
  redis.call('HINCRBY', KEYS[1], 'p', -1)
  return 1
end
return 0
"""


def _encode_limit(limit: Limit) -> bytes:
    fields = (limit.algorithm.encode(), b"%d" % limit.limit, b"%d" % limit.period_us, b"%d" % limit.burst)
    return b"".join(bulk(f) for f in fields)


class RedisBackend:
    """Shared counters: one EVALSHA per request for all of them. Raises when Redis does not answer in time."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._client: ScriptClient | None = None
        self._encoded: dict[Limit, bytes] = {}  # the constant part of each counter's arguments

    def _ready(self) -> ScriptClient:
        if self._client is None:
            # A connect outlives the request that started it (shielded), so it may take longer.
            self._client = ScriptClient(self.url, LUA, self.timeout, connect_timeout=max(self.timeout, 1.0))
        return self._client

    async def check(self, checks: Sequence[Check]) -> list[Verdict]:
        n = len(checks)
        parts = [bulk(b"%d" % (2 * n))]
        parts += [bulk(c.key.encode()) for c in checks]
        parts += [bulk((c.shadow_key or c.key).encode()) for c in checks]
        parts.append(bulk(b"%d" % n))
        encoded = self._encoded
        for c in checks:
            limit = encoded.get(c.limit)
            if limit is None:
                limit = encoded[c.limit] = _encode_limit(c.limit)
            parts += [limit, bulk(c.shadow_field.encode())]
        # TimeoutError past self.timeout (ratelimit.resp)
        reply = await self._ready().evalsha(1 + 2 * n + 1 + 5 * n, b"".join(parts))
        return [
            Verdict(bool(reply[i]), int(reply[i + 1]), int(reply[i + 2]), int(reply[i + 3]))
            for i in range(0, len(reply), 4)
        ]

    async def connect(self) -> None:
        """Open the connection and load the script ahead of the first request (raises if Redis is down)."""
        await self._ready().connect()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = None
