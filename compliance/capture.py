"""Traffic capture: the observer that buffers every answered request, and this process's drainer.

``observe_request`` runs on the event loop after each response; it only appends to the bounded
buffer. Routes with ``audit`` off are not recorded (PHI routes always are).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from compliance.buffer import RESERVED, AuditBuffer
from compliance.drain import Drainer
from compliance.records import set_rules
from compliance.redaction import compile_rules
from proxy.observe import Finished

buffer = AuditBuffer(settings.GATEWAY_AUDIT_BUFFER_SIZE)
drainer = Drainer(buffer)


def observe_request(finished: Finished) -> None:
    route = finished.route
    if route is not None and not route.audit:
        return
    if finished.scope.get(RESERVED):
        buffer.put_reserved(finished)
    else:
        buffer.offer(finished)


def load_rules(snapshot: Any) -> Any:
    """Routing-snapshot loader: the enabled redaction rules. They apply from the moment they are read
    (a stricter rule should not wait for the rest of the table to compile)."""
    from compliance.models import RedactionRule

    rules = compile_rules(RedactionRule.objects.filter(enabled=True).values_list("kind", "name"))
    set_rules(rules)
    return rules


async def start() -> None:
    await drainer.start()


async def stop() -> None:
    await drainer.stop()
