"""Traffic capture: the witness that writes every answered request into this process's spool.

``observe_request`` is subscribed with ``before_last_byte=True`` (``proxy.observe``): it runs on the
event loop just before the last part of each response goes out, turns the request into its redacted
record and copies it into the spool's shared memory (``compliance.spool``): no I/O, no waiting. So a
process killed right after answering has the record on disk already. Routes with ``audit`` off are
not recorded (PHI routes always are).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from compliance import records
from compliance.buffer import RESERVE_BYTES, RESERVED, MemoryBridge
from compliance.drain import Drainer
from compliance.spool import SpoolWriter
from proxy.observe import Finished

spool = SpoolWriter(
    Path(settings.GATEWAY_AUDIT_SPOOL_DIR),
    settings.GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES,
    settings.GATEWAY_AUDIT_SPOOL_MAX_BYTES,
)
bridge = MemoryBridge(settings.GATEWAY_AUDIT_BUFFER_SIZE)
drainer = Drainer(spool, bridge)
_header_mode = settings.GATEWAY_AUDIT_HEADERS
_pseudonymize_ip = settings.GATEWAY_AUDIT_PSEUDONYMIZE_IP
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


def observe_request(finished: Finished) -> None:
    route = finished.route
    if route is not None and route.id in records.current().unaudited:
        return
    record = records.record_of(finished, header_mode=_header_mode, pseudonymize_ip=_pseudonymize_ip)
    reserved = bool(finished.scope.get(RESERVED))
    if reserved:
        bridge.reserved_bytes = max(bridge.reserved_bytes - RESERVE_BYTES, 0)
    payload = _dumps(record).encode()
    # Behind records already waiting in memory, never ahead of them: the spool keeps their order.
    if bridge.items or not spool.append(payload):
        bridge.put(payload, reserved)


def reserve() -> bool:
    """Hold spool room for a PHI request's record before it is served; False when the spool is full."""
    if spool.capacity() - bridge.reserved_bytes - RESERVE_BYTES < 0:
        return False
    bridge.reserved_bytes += RESERVE_BYTES
    return True
