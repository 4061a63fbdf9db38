"""A shared store's outage as one step of the data plane sees it (the rate limiter's counters, the
response cache): after a failure the step stops asking Redis for ``retry_seconds``, so a dead or slow
Redis costs no timeout per request; then the next request tries again. A warning is logged at most once
per ``WARN_EVERY`` seconds of trouble, an info line when the store answers again.

The hot path reads ``failing`` first: it is False unless a failure happened, so a healthy store costs one
attribute read per request.
"""

from __future__ import annotations

import logging
import time

WARN_EVERY = 60.0


class Outage:
    __slots__ = ("back", "consequence", "down_until", "failing", "log", "retry_seconds", "warned_at", "what")

    def __init__(self, retry_seconds: float, log: logging.Logger, what: str, consequence: str, back: str) -> None:
        """The warning reads "<what> (<error>); <consequence> and Redis is tried again every N s";
        ``back`` is the info line when the store answers again."""
        self.retry_seconds = retry_seconds
        self.log = log
        self.what = what
        self.consequence = consequence
        self.back = back
        self.failing = False
        self.down_until = 0.0
        self.warned_at = -WARN_EVERY

    def skipping(self) -> bool:
        """Whether to answer without asking the store (it failed less than ``retry_seconds`` ago)."""
        return self.failing and time.monotonic() < self.down_until

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.failing = True
        self.down_until = now + self.retry_seconds
        if now - self.warned_at >= WARN_EVERY:
            self.warned_at = now
            self.log.warning(
                "%s (%s: %s); %s and Redis is tried again every %.1f s",
                self.what,
                type(exc).__name__,
                exc,
                self.consequence,
                self.retry_seconds,
            )

    def answered(self) -> None:
        """The store answered: call only when ``failing`` (the hot path tests it first)."""
        self.failing = False
        self.log.info(self.back)
