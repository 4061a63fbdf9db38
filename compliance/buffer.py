"""The bounded in-memory buffer between the observer (hot path) and the drainer.

The observer only appends a ``Finished`` (no conversion, no I/O). PHI requests reserve their slot
before the request is served (``AuditPolicy``), so their record is never dropped; other records
are dropped, counted and logged (once a minute) when the buffer is full.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from compliance.metrics import DROPPED
from proxy.observe import Finished

log = logging.getLogger(__name__)

# Set in the ASGI scope by AuditPolicy when it reserved this request's slot.
RESERVED = "gateway.audit_reserved"
DROP_LOG_INTERVAL = 60.0


class AuditBuffer:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[Finished] = deque()
        self.reserved = 0
        self.dropped = 0
        self._last_drop_log = -DROP_LOG_INTERVAL

    def __len__(self) -> int:
        return len(self.items)

    def has_room(self) -> bool:
        return len(self.items) + self.reserved < self.size

    def offer(self, record: Finished) -> bool:
        if len(self.items) + self.reserved >= self.size:
            self._drop()
            return False
        self.items.append(record)
        return True

    def reserve(self) -> bool:
        if len(self.items) + self.reserved >= self.size:
            return False
        self.reserved += 1
        return True

    def put_reserved(self, record: Finished) -> None:
        self.reserved = max(self.reserved - 1, 0)
        self.items.append(record)

    def take(self, count: int) -> list[Finished]:
        items = self.items
        return [items.popleft() for _ in range(min(count, len(items)))]

    def _drop(self) -> None:
        self.dropped += 1
        DROPPED.inc()
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.error(
                "audit buffer full (%d records): dropping audit records (%d so far in this process); "
                "the durable path is down or too slow",
                self.size,
                self.dropped,
            )
