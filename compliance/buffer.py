"""What stands between the observer and the spool: the memory bridge and the PHI reservations.

Every record goes into the spool (``compliance.spool``) the moment it is made. Only when the spool
has no room right now (its next segment is still being made, or it is at
``GATEWAY_AUDIT_SPOOL_MAX_BYTES``) does a record wait in the bounded memory bridge, in order, for the
drainer to move it into the spool. PHI requests reserve spool room before they are served
(``AuditPolicy``), so their records always have a place: in the spool, else in the bridge whatever
its size. Other records that find both full are dropped, counted and logged (once a minute).
"""

from __future__ import annotations

import logging
import time
from collections import deque

from compliance.metrics import DROPPED

log = logging.getLogger(__name__)

# Set in the ASGI scope by AuditPolicy when it reserved this request's room.
RESERVED = "gateway.audit_reserved"
# Spool room held for each PHI request in flight: more than a record needs (headers are capped at
# GATEWAY_MAX_HEADER_BYTES, 32 KiB by default; a typical record is under 1 KiB).
RESERVE_BYTES = 64 * 1024
DROP_LOG_INTERVAL = 60.0


class MemoryBridge:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[bytes] = deque()
        self.reserved_bytes = 0
        self.dropped = 0
        self._last_drop_log = -DROP_LOG_INTERVAL

    def __len__(self) -> int:
        return len(self.items)

    def put(self, payload: bytes, reserved: bool) -> bool:
        if reserved or len(self.items) < self.size:
            self.items.append(payload)
            return True
        self._drop()
        return False

    def _drop(self) -> None:
        self.dropped += 1
        DROPPED.inc()
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.error(
                "audit spool full and memory bridge full (%d records): dropping audit records (%d so far in "
                "this process); the durable path is down or too slow",
                self.size,
                self.dropped,
            )
