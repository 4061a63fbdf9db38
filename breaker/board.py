"""This process's view of active health checks: which targets are down right now.

A background task (``breaker.apps``) reloads it every ``GATEWAY_HEALTH_POLL_INTERVAL`` seconds, and
at startup and shutdown (one query, in a thread), and flushes breaker events; the data plane only
reads ``board.down``, a frozenset swapped in one assignment. A target counts as down when its last
check failed and that result is not stale, so a dead sweep worker can neither keep a target out
forever nor mark everything unhealthy: stale results are ignored and the passive breaker alone
decides.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from django.utils import timezone

from breaker.events import recorder

log = logging.getLogger(__name__)


class HealthBoard:
    def __init__(self) -> None:
        self.down: frozenset[int] = frozenset()
        self.last_error: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")

    async def refresh(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.down = await loop.run_in_executor(self._executor, self._refresh_sync)
            self.last_error = None
        except Exception as exc:  # no fresh results: the passive breaker alone decides
            if self.last_error is None:
                log.warning("could not reload health check results; ignoring them until it works: %r", exc)
            self.down = frozenset()
            self.last_error = repr(exc)

    def _refresh_sync(self) -> frozenset[int]:
        from breaker.services import down_targets

        close_old_connections()
        recorder.flush()
        return down_targets(timezone.now())


board = HealthBoard()
