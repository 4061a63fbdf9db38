"""The two algorithms as pure functions on integer microseconds; ``backends.LUA`` mirrors them line by line.

Sliding window: a counter for the current fixed window and the previous one; the previous window's
count is weighted by how much of it still overlaps the sliding window (the approximation Cloudflare and
Redis's own docs describe: exact at the edges, within a fraction of one request in between, O(1) memory).

GCRA (a token bucket kept as one timestamp, the theoretical arrival time): a request costs
``period / limit``; the bucket holds ``burst`` requests (``limit`` when burst is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SLIDING_WINDOW = "sliding_window"
GCRA = "gcra"


@dataclass(frozen=True, slots=True)
class Limit:
    algorithm: str
    limit: int
    period_us: int
    burst: int = 0

    def scaled(self, processes: int) -> Limit:
        """This limit split across ``processes`` (the local fallback): at least one request each."""
        if processes <= 1:
            return self
        burst = max(1, self.burst // processes) if self.burst else 0
        return Limit(self.algorithm, max(1, self.limit // processes), self.period_us, burst)


@dataclass(frozen=True, slots=True)
class Verdict:
    admitted: bool
    remaining: int
    reset_ms: int  # until the window ends (sliding window) or the bucket is full again (GCRA)
    retry_ms: int  # until a request would be admitted again (0 when admitted)


# A counter's state: ("sw", window, current, previous) or ("gcra", tat_us).
State = tuple[int, ...]


def sliding_window(limit: Limit, state: State | None, now: int) -> tuple[Verdict, State | None]:
    period = limit.period_us
    window = now // period
    elapsed = now - window * period
    curr = prev = 0
    if state is not None:
        w, c, p = state
        if w == window:
            curr, prev = c, p
        elif w == window - 1:
            prev = c
    count = float(prev) * float(period - elapsed) / period + curr  # doubles, as in Lua
    reset = period - elapsed
    if count + 1 <= limit.limit:
        return Verdict(True, math.floor(limit.limit - count - 1), _ms(reset), 0), (window, curr + 1, prev)
    if curr + 1 > limit.limit:
        retry = (period - elapsed) + math.ceil(period * (1 - (limit.limit - 1) / curr))
    else:
        retry = math.ceil((period - elapsed) - period * (limit.limit - 1 - curr) / prev)
    return Verdict(False, 0, _ms(reset), _ms(retry)), None


def gcra(limit: Limit, state: State | None, now: int) -> tuple[Verdict, State | None]:
    interval = limit.period_us // limit.limit
    tau = interval * (limit.burst or limit.limit)
    tat = state[0] if state is not None else now
    if tat < now:
        tat = now
    new = tat + interval
    if new - now <= tau:
        return Verdict(True, (tau - (new - now)) // interval, _ms(new - now), 0), (new,)
    return Verdict(False, 0, _ms(tat - now), _ms(new - now - tau)), None


def decide(limit: Limit, state: State | None, now: int) -> tuple[Verdict, State | None]:
    return gcra(limit, state, now) if limit.algorithm == GCRA else sliding_window(limit, state, now)


def expires_after_us(limit: Limit, state: State, now: int) -> int:
    """How long a counter must be kept after this write."""
    if limit.algorithm == GCRA:
        return state[0] - now + 1
    return 2 * limit.period_us


def _ms(us: float) -> int:
    return max(0, math.ceil(us / 1000))
