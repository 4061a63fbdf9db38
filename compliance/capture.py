"""Traffic capture: the observer that buffers every answered request, and this process's drainer.

``observe_request`` runs on the event loop after each response; it only appends to the bounded
buffer. Routes with ``audit`` off are not recorded (PHI routes always are).
"""

from __future__ import annotations

from django.conf import settings

from compliance import records
from compliance.buffer import RESERVED, AuditBuffer
from compliance.drain import Drainer
from proxy.observe import Finished

buffer = AuditBuffer(settings.GATEWAY_AUDIT_BUFFER_SIZE)
drainer = Drainer(buffer)


def observe_request(finished: Finished) -> None:
    route = finished.route
    if route is not None and route.id in records.current().unaudited:
        return
    if finished.scope.get(RESERVED):
        buffer.put_reserved(finished)
    else:
        buffer.offer(finished)
