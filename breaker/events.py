"""Breaker state changes seen by this process: logged at once, counted, written to the DB in batches.

The data plane only appends to a bounded deque; ``flush`` (run by the health board's thread about
once a second) writes the batch, so a slow database never slows a request. A change is written by
the one process whose call made it (Redis runs each transition once), so it is recorded once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

log = logging.getLogger("breaker")

PROCESS = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class BreakerChange:
    at: float
    service_id: int
    service: str
    target_id: int
    address: str
    from_state: str
    to_state: str
    reason: str


class EventRecorder:
    def __init__(self, limit: int = 10_000) -> None:
        self.pending: deque[BreakerChange] = deque(maxlen=limit)
        # gateway_breaker_transitions_total{service, to_state}, for this process
        self.transitions: Counter[tuple[str, str]] = Counter()

    def note(self, change: BreakerChange) -> None:
        self.pending.append(change)
        self.transitions[(change.service, change.to_state)] += 1
        if settings.GATEWAY_METRICS:
            from breaker.metrics import TRANSITIONS

            TRANSITIONS.labels(change.service, change.to_state).inc()
        log.warning(
            "breaker %s (%s): %s -> %s (%s)",
            change.address,
            change.service,
            change.from_state,
            change.to_state,
            change.reason,
        )

    def metrics(self) -> list[dict[str, object]]:
        return [
            {"service": service, "to_state": to_state, "value": count}
            for (service, to_state), count in sorted(self.transitions.items())
        ]

    def flush(self) -> int:
        """Write what is pending. While the database is unreachable keep it for the next flush."""
        from django.db import DatabaseError, OperationalError

        from breaker.models import BreakerEvent
        from registry.models import Service, Target

        batch = []
        while self.pending:
            batch.append(self.pending.popleft())
        if not batch:
            return 0
        try:
            # A target or service deleted since keeps its events, without the link.
            targets = set(Target.objects.filter(pk__in={c.target_id for c in batch}).values_list("pk", flat=True))
            services = set(Service.objects.filter(pk__in={c.service_id for c in batch}).values_list("pk", flat=True))
            BreakerEvent.objects.bulk_create(
                [
                    BreakerEvent(
                        at=datetime.fromtimestamp(c.at, tz=UTC),
                        service_id=c.service_id if c.service_id in services else None,
                        target_id=c.target_id if c.target_id in targets else None,
                        address=c.address,
                        from_state=c.from_state,
                        to_state=c.to_state,
                        reason=c.reason,
                        process=PROCESS,
                    )
                    for c in batch
                ]
            )
        except OperationalError as exc:
            log.warning("could not write %d breaker events (%r); retrying at the next flush", len(batch), exc)
            self.pending.extendleft(reversed(batch))
            return 0
        except DatabaseError:
            log.exception("dropped %d breaker events the database refused", len(batch))
            return 0
        return len(batch)


def change(service_id: int, service: str, target_id: int, address: str, frm: str, to: str, why: str) -> BreakerChange:
    return BreakerChange(time.time(), service_id, service, target_id, address, frm, to, why)


recorder = EventRecorder()
