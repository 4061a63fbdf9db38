"""What happens when Redis cannot answer: per-process state shared by every rate-limit step.

``Counters.check`` asks Redis within ``GATEWAY_RATELIMIT_REDIS_TIMEOUT``. When Redis fails or is slow,
it returns None and, for ``GATEWAY_RATELIMIT_RETRY_SECONDS``, answers None at once without trying
Redis (so a dead Redis costs no timeout per request); then the next request tries again, and
limiting resumes on its own. Each policy then follows its failure mode (``ratelimit.policies``);
local mode counts in ``Counters.local``. A warning is logged once per ``WARN_EVERY`` seconds of
trouble; an info line says when Redis answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ratelimit.algorithms import Verdict
from ratelimit.backends import Check, CounterBackend, MemoryBackend, RedisBackend

log = logging.getLogger(__name__)

WARN_EVERY = 60.0


class Counters:
    def __init__(self, primary: CounterBackend, retry_seconds: float, local: MemoryBackend | None = None) -> None:
        self.primary = primary
        self.retry_seconds = retry_seconds
        self.local = local or MemoryBackend()
        self.shared = isinstance(primary, RedisBackend)
        self.down_until = 0.0
        self.warned_at = -WARN_EVERY
        self.failing = False

    @property
    def degraded(self) -> bool:
        return self.failing and time.monotonic() < self.down_until

    async def check(self, checks: Sequence[Check]) -> list[Verdict] | None:
        if self.failing and time.monotonic() < self.down_until:
            return None
        try:
            verdicts = await self.primary.check(checks)
        except Exception as exc:  # RedisError, OSError, TimeoutError: never a 500 over Redis
            self._failed(exc)
            return None
        if self.failing:
            self.failing = False
            log.info("rate-limit counters in Redis answer again; shared limiting resumed")
        return verdicts

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.failing = True
        self.down_until = now + self.retry_seconds
        if now - self.warned_at >= WARN_EVERY:
            self.warned_at = now
            log.warning(
                "rate-limit counters in Redis unavailable (%s: %s); policies follow their failure mode "
                "(open, closed or local) and Redis is tried again every %.1f s",
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )


_counters: Counters | None = None


def get_counters() -> Counters:
    """This process's counters: Redis when ``GATEWAY_RATELIMIT_REDIS_URL`` is set, else memory."""
    global _counters
    if _counters is None:
        from django.conf import settings

        url = settings.GATEWAY_RATELIMIT_REDIS_URL
        retry = settings.GATEWAY_RATELIMIT_RETRY_SECONDS
        primary: CounterBackend = RedisBackend(url, settings.GATEWAY_RATELIMIT_REDIS_TIMEOUT) if url else memory
        _counters = Counters(primary, retry)
    return _counters


async def start() -> None:
    counters = get_counters()
    if isinstance(counters.primary, RedisBackend):
        # Connect now, so the first requests do not pay for it (or fall back while it happens).
        try:
            await counters.primary.connect()
        except Exception as exc:
            counters._failed(exc)


async def stop() -> None:
    global _counters
    if _counters is not None and isinstance(_counters.primary, RedisBackend):
        await _counters.primary.close()
    _counters = None


# The embedded default's counters (also what the admin reads for shadow counts without Redis).
memory = MemoryBackend()
