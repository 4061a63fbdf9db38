"""The two algorithms as pure functions on integer microseconds; ``backends.LUA`` mirrors them line by line.

Sliding window: a counter for the current fixed window and the previous one, each with the offset of
its last admission; the previous window's requests are taken as spread evenly from its start to its
last admission, and those the rolling window still covers are counted with the current ones (the
approximation Cloudflare and Redis's own docs describe, with the last admission as the spread's end
so that a request is never held longer than one period: ``Retry-After <= period``). O(1) memory.
What it admits, exactly: at most ``limit`` per fixed window, and at most ``2 * limit - 1`` in any
rolling period (when the previous window's requests all came at its end); docs/rate-limiting.md.

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


# A counter's state: sliding window (window, current, previous, current's last offset, previous's last
# offset), offsets in µs from their window's start; GCRA (tat_us,).
State = tuple[int, ...]


def sliding_window(limit: Limit, state: State | None, now: int) -> tuple[Verdict, State | None]:
    period = limit.period_us
    window = now // period
    elapsed = now - window * period
    curr = prev = last_curr = last_prev = 0
    if state is not None:
        w, c, p, lc, lp = state
        if w == window:
            curr, prev, last_curr, last_prev = c, p, lc, lp
        elif w == window - 1:
            prev, last_prev = c, lc
    count = float(curr)
    if elapsed < last_prev:  # previous requests the rolling window still covers (doubles, as in Lua)
        count = float(prev) * float(last_prev - elapsed) / last_prev + curr
    reset = period - elapsed
    if count + 1 <= limit.limit:
        new = (window, curr + 1, prev, elapsed, last_prev)
        return Verdict(True, math.floor(limit.limit - count - 1), _ms(reset), 0), new
    if curr + 1 > limit.limit:
        # The current window alone is full: into the next one, until enough of this one has left.
        retry = (period - elapsed) + math.ceil(last_curr - last_curr * (limit.limit - 1) / curr)
    else:
        retry = math.ceil(last_prev - elapsed - last_prev * (limit.limit - 1 - curr) / prev)
    # Never above the period; only a counter written before the last-offset fields could need more.
    return Verdict(False, 0, _ms(reset), _ms(min(retry, period))), None


def sliding_window_refund(limit: Limit, state: State | None, attempted_at: int) -> State | None:
    """Give back one request admitted at ``attempted_at`` (µs): taken off the window it was counted in
    (still the current one, or by now the previous one); None when there is nothing to give back."""
    if state is None:
        return None
    window = attempted_at // limit.period_us
    w, c, p, lc, lp = state
    if w == window and c > 0:
        return (w, c - 1, p, lc, lp)
    if w == window + 1 and p > 0:
        return (w, c, p - 1, lc, lp)
    return None


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
