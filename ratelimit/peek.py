"""A read-only look at rate-limit counters, for the route simulator: what the next request would be
told, without counting it.

The same keys as the data plane (``policies.Rule``) and the same algorithms (``algorithms.decide``,
which ``backends.LUA`` mirrors), fed with the stored state: GET (GCRA) or HMGET (sliding window) on
Redis's own clock (``TIME``), or this process's memory counters without Redis. Nothing is written.
The simulator runs in a sync Django view, so this uses a sync client with short timeouts, never the
gateway's async connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ratelimit.algorithms import GCRA, State, Verdict, decide
from ratelimit.backends import Check, MemoryBackend

TIMEOUT = 0.5  # seconds for the connect and each read: an admin page, never a hung one


class Unreachable(Exception):
    """Redis did not answer (the message says how)."""


def peek(checks: Sequence[Check], url: str, memory: MemoryBackend) -> list[Verdict]:
    """Each counter's verdict for one more request now. Raises ``Unreachable`` when Redis fails."""
    if not url:
        now = int(memory.clock() * 1_000_000)
        verdicts = []
        for check in checks:
            stored = memory.states.get(check.key)
            state = stored[0] if stored is not None and stored[1] > now else None
            verdicts.append(decide(check.limit, state, now)[0])
        return verdicts
    from proxy.redis_clients import sync_client

    try:
        with sync_client(url, timeout=TIMEOUT, connect_timeout=TIMEOUT) as client:
            seconds, micros = client.time()
            pipe = client.pipeline(transaction=False)
            for check in checks:
                if check.limit.algorithm == GCRA:
                    pipe.get(check.key)
                else:
                    pipe.hmget(check.key, "w", "c", "p", "lc", "lp")
            rows = pipe.execute()
    except Exception as exc:  # ConnectionError, TimeoutError, a reply error: a sentence, never a 500
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    now = int(seconds) * 1_000_000 + int(micros)
    return [decide(c.limit, _state(c, row), now)[0] for c, row in zip(checks, rows, strict=True)]


def _state(check: Check, row: Any) -> State | None:
    """The stored state as ``algorithms`` reads it, with the Lua script's defaults for missing fields."""
    if check.limit.algorithm == GCRA:
        return (int(row),) if row is not None else None
    w, c, p, lc, lp = row
    if w is None:
        return None
    period = check.limit.period_us
    return (int(w), int(c or 0), int(p or 0), int(lc or period), int(lp or period))


def left(verdict: Verdict) -> int:
    """Requests still admitted now: this one and those after it."""
    return verdict.remaining + 1 if verdict.admitted else 0
