"""Where breaker state lives: in this process's memory, or in Redis shared by every process.

Both run the state machine of ``breaker.state``; Redis runs it as one Lua script (atomic, on the
server's clock: ``TIME``), so every process sees one state per target. When Redis does not answer
within ``GATEWAY_BREAKER_REDIS_TIMEOUT``, the Redis backend falls back to its own in-memory breakers
for ``GATEWAY_BREAKER_FALLBACK_SECONDS`` and logs a warning once per such period; it never fails the
request because of Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from breaker.state import CLOSED, Admission, BreakerSettings, BreakerState, Transition, admit, record
from proxy.redis_clients import async_client, sync_client

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:breaker:"


class BreakerBackend(Protocol):
    async def admit(self, target_id: int, cfg: BreakerSettings) -> tuple[Admission, Transition | None]: ...

    async def record(self, target_id: int, cfg: BreakerSettings, failed: bool, probe: bool) -> Transition | None: ...


class MemoryBackend:
    """One process's breakers. ``clock`` is injectable so tests move time instead of sleeping."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.states: dict[int, BreakerState] = {}

    async def admit(self, target_id: int, cfg: BreakerSettings) -> tuple[Admission, Transition | None]:
        return self.admit_now(target_id, cfg)

    def admit_now(self, target_id: int, cfg: BreakerSettings) -> tuple[Admission, Transition | None]:
        current = self.states.get(target_id)
        if current is None:
            return Admission(True), None
        state, answer, transition = admit(current, cfg, self.clock())
        self.states[target_id] = state
        return answer, transition

    async def record(self, target_id: int, cfg: BreakerSettings, failed: bool, probe: bool) -> Transition | None:
        return self.record_now(target_id, cfg, failed, probe)

    def record_now(self, target_id: int, cfg: BreakerSettings, failed: bool, probe: bool) -> Transition | None:
        current = self.states.get(target_id)
        if current is None:
            if not failed and not cfg.failure_ratio:
                return None  # a success on a clean breaker changes nothing
            current = BreakerState(window_start=self.clock())
        state, transition = record(current, cfg, self.clock(), failed, probe)
        self.states[target_id] = state
        return transition

    def describe(self, target_id: int) -> dict[str, Any]:
        s = self.states.get(target_id) or BreakerState()
        return {"state": s.state, "failures": s.failures, "open_until": s.open_until or None, "trips": s.trips}

    def reset(self, target_id: int) -> bool:
        return self.states.pop(target_id, None) is not None


# One script, two entry points (ARGV[1] = "admit" or "record"); it mirrors breaker.state line by line.
LUA = """
local key = KEYS[1]
local mode = ARGV[1]
local cfg_failures, ratio, min_calls = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local window, open_s, max_open = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local cfg_probes, cfg_successes, probe_timeout = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local failed, probe = ARGV[11] == '1', ARGV[12] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', key, 's', 'f', 'c', 'fc', 'ws', 'ou', 'tr', 'p', 'ps', 'pd')
local st = h[1] or 'closed'
local f, c, fc = tonumber(h[2]) or 0, tonumber(h[3]) or 0, tonumber(h[4]) or 0
local ws, ou, tr = tonumber(h[5]) or now, tonumber(h[6]) or 0, tonumber(h[7]) or 0
local p, ps, pd = tonumber(h[8]) or 0, tonumber(h[9]) or 0, tonumber(h[10]) or 0
local from, to, reason = '', '', ''
local function fmt(x) return string.format('%.6f', x) end
local function save()
  redis.call('HSET', key, 's', st, 'f', f, 'c', c, 'fc', fc, 'ws', fmt(ws), 'ou', fmt(ou),
             'tr', tr, 'p', p, 'ps', ps, 'pd', fmt(pd))
  redis.call('PEXPIRE', key, 86400000)
end
local function trip(why)
  from, to, reason = st, 'open', why
  ou = now + math.min(open_s * 2 ^ math.min(tr, 30), max_open)
  st, f, c, fc, ws, tr, p, ps, pd = 'open', 0, 0, 0, now, tr + 1, 0, 0, 0
end
if mode == 'admit' then
  if st == 'closed' then return {1, 0, '0', st, f, '', '', ''} end
  if st == 'open' then
    if now < ou then return {0, 0, fmt(ou - now), st, 0, '', '', ''} end
    from, to, reason = 'open', 'half_open', 'open period over'
    st, p, ps = 'half_open', 0, 0
  end
  if p < cfg_probes then
    p, pd = p + 1, now + probe_timeout
    save()
    return {1, 1, '0', st, 0, from, to, reason}
  end
  if now >= pd then
    trip('probe timed out')
    save()
    return {0, 0, fmt(ou - now), st, 0, from, to, reason}
  end
  if from ~= '' then save() end
  return {0, 0, '1', st, 0, from, to, reason}
end
if st == 'closed' then
  if now - ws >= window then c, fc, ws = 0, 0, now end
  c = c + 1
  if not failed then
    f = 0
  else
    f, fc = f + 1, fc + 1
    if cfg_failures > 0 and f >= cfg_failures then
      trip(f .. ' consecutive failures')
    elseif ratio > 0 and c >= min_calls and fc / c >= ratio then
      trip(fc .. ' of ' .. c .. ' calls failed')
    end
  end
  save()
elseif st == 'half_open' and probe then
  if failed then
    trip('probe failed')
  else
    ps = ps + 1
    if ps >= cfg_successes then
      from, to, reason = 'half_open', 'closed', ps .. ' probes succeeded'
      st, f, c, fc, ws, ou, tr, p, ps, pd = 'closed', 0, 0, 0, now, 0, 0, 0, 0, 0
    else
      p = math.max(p - 1, 0)
    end
  end
  save()
end
return {0, 0, '0', st, f, from, to, reason}
"""


def _args(mode: str, cfg: BreakerSettings, failed: bool = False, probe: bool = False) -> list[str]:
    return [
        mode,
        str(cfg.failures),
        repr(cfg.failure_ratio),
        str(cfg.min_calls),
        repr(cfg.window),
        repr(cfg.open_seconds),
        repr(cfg.max_open_seconds),
        str(cfg.half_open_probes),
        str(cfg.half_open_successes),
        repr(cfg.probe_timeout),
        "1" if failed else "0",
        "1" if probe else "0",
    ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _transition(reply: list[Any]) -> Transition | None:
    from_state = _text(reply[5])
    return Transition(from_state, _text(reply[6]), _text(reply[7])) if from_state else None


class RedisBackend:
    """Shared breakers: one Lua call to ask, one to report (skipped when it would change nothing)."""

    def __init__(
        self,
        url: str,
        timeout: float,
        fallback_seconds: float,
        fallback: MemoryBackend | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.fallback_seconds = fallback_seconds
        self.fallback = fallback or MemoryBackend()
        self.down_until = 0.0
        self._client: Any = None
        self._script: Any = None

    def _ready(self) -> Any:
        if self._script is None:
            self._client = async_client(self.url, timeout=self.timeout, connect_timeout=self.timeout)
            self._script = self._client.register_script(LUA)
        return self._script

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self.down_until

    def _failed(self, exc: BaseException) -> None:
        already = self.degraded  # calls in flight when Redis failed all land here: warn once
        self.down_until = time.monotonic() + self.fallback_seconds
        if already:
            return
        log.warning(
            "breaker state in Redis unavailable (%r); this process uses its own in-memory breakers for %.0f s",
            exc,
            self.fallback_seconds,
        )

    async def admit(self, target_id: int, cfg: BreakerSettings) -> tuple[Admission, Transition | None]:
        if self.degraded:
            return self.fallback.admit_now(target_id, cfg)
        try:
            reply = await self._ready()(keys=[f"{KEY_PREFIX}{target_id}"], args=_args("admit", cfg))
        except Exception as exc:  # RedisError, OSError, TimeoutError: never fail a request over Redis
            self._failed(exc)
            return self.fallback.admit_now(target_id, cfg)
        answer = Admission(
            allowed=bool(reply[0]),
            probe=bool(reply[1]),
            retry_after=float(_text(reply[2])),
            state=_text(reply[3]),
            failures=int(reply[4]),
        )
        return answer, _transition(reply)

    async def record(self, target_id: int, cfg: BreakerSettings, failed: bool, probe: bool) -> Transition | None:
        if self.degraded:
            return self.fallback.record_now(target_id, cfg, failed, probe)
        try:
            reply = await self._ready()(keys=[f"{KEY_PREFIX}{target_id}"], args=_args("record", cfg, failed, probe))
        except Exception as exc:
            self._failed(exc)
            return self.fallback.record_now(target_id, cfg, failed, probe)
        return _transition(reply)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = self._script = None


# --- Control plane: read and reset (sync, for the admin and /health/services) --------------------


def read_states(target_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each target's breaker as the data plane sees it (Redis, or this process's memory)."""
    from django.conf import settings

    ids = list(target_ids)
    if not settings.REDIS_URL:
        return {i: memory.describe(i) for i in ids}
    with sync_client() as client:
        pipe = client.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(f"{KEY_PREFIX}{i}", "s", "f", "ou", "tr")
        rows = pipe.execute()
    found = {}
    for i, (state, failures, open_until, trips) in zip(ids, rows, strict=True):
        found[i] = {
            "state": _text(state) if state else CLOSED,
            "failures": int(failures or 0),
            "open_until": float(open_until) if open_until and float(open_until) else None,
            "trips": int(trips or 0),
        }
    return found


def reset_state(target_id: int) -> None:
    from django.conf import settings

    memory.reset(target_id)
    if settings.REDIS_URL:
        with sync_client() as client:
            client.delete(f"{KEY_PREFIX}{target_id}")


# The process's in-memory breakers: the embedded default's store, and the Redis backend's fallback.
memory = MemoryBackend()
_backend: BreakerBackend | None = None


def get_backend() -> BreakerBackend:
    global _backend
    if _backend is None:
        from django.conf import settings

        if settings.REDIS_URL:
            _backend = RedisBackend(
                settings.REDIS_URL,
                settings.GATEWAY_BREAKER_REDIS_TIMEOUT,
                settings.GATEWAY_BREAKER_FALLBACK_SECONDS,
                fallback=memory,
            )
        else:
            _backend = memory
    return _backend
