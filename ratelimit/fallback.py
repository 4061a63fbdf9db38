"""What happens when Redis cannot answer: per-process state shared by every rate-limit step.

``Counters.check`` asks Redis within ``GATEWAY_RATELIMIT_REDIS_TIMEOUT``. When Redis fails or is slow,
it returns None and, for ``GATEWAY_RATELIMIT_RETRY_SECONDS``, answers None at once without trying
Redis (so a dead Redis costs no timeout per request); then the next request tries again, and
limiting resumes on its own. Each policy then follows its failure mode (``ratelimit.policies``);
local mode counts in ``Counters.local``. A warning is logged once per minute of trouble; an info line
says when Redis answers again (``proxy.outage``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from proxy.outage import Outage
from ratelimit.algorithms import Verdict
from ratelimit.backends import Check, CounterBackend, MemoryBackend, RedisBackend

log = logging.getLogger(__name__)


class Counters:
    def __init__(self, primary: CounterBackend, retry_seconds: float, local: MemoryBackend | None = None) -> None:
        self.primary = primary
        self.retry_seconds = retry_seconds
        self.local = local or MemoryBackend()
        self.shared = isinstance(primary, RedisBackend)
        self.outage = Outage(
            retry_seconds,
            log,
            "rate-limit counters in Redis unavailable",
            "policies follow their failure mode (open, closed or local)",
            "rate-limit counters in Redis answer again; shared limiting resumed",
        )

    @property
    def degraded(self) -> bool:
        return self.outage.skipping()

    async def check(self, checks: Sequence[Check]) -> list[Verdict] | None:
        outage = self.outage
        if outage.failing and outage.skipping():
            return None
        try:
            verdicts = await self.primary.check(checks)
        except Exception as exc:  # RedisError, OSError, TimeoutError: never a 500 over Redis
            outage.failed(exc)
            return None
        if outage.failing:
            outage.answered()
        return verdicts


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
            counters.outage.failed(exc)


async def stop() -> None:
    global _counters
    if _counters is not None and isinstance(_counters.primary, RedisBackend):
        await _counters.primary.close()
    _counters = None


# The embedded default's counters (also what the admin reads for shadow counts without Redis).
memory = MemoryBackend()
