"""``manage.py audit_worker``: write the Redis audit stream into the audit chain, until stopped.

Run one or more next to the gateway processes in production (each is a consumer of the same group;
entries stuck with a dead worker are claimed after a minute). ``make run`` starts one when
``REDIS_URL`` is set. SIGTERM finishes the batch in hand and exits.
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from compliance.services import redis_client
from compliance.stream import StreamConsumer
from registry.actors import acting_as


class Command(BaseCommand):
    help = "Consume the Redis audit stream into the audit chain (acknowledging after each commit)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.GATEWAY_AUDIT_REDIS_URL:
            raise CommandError(
                "Neither GATEWAY_AUDIT_REDIS_URL nor REDIS_URL is set: without Redis, gateway processes write "
                "the chain themselves."
            )
        stopping = {"now": False}

        def stop(signum: int, frame: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"audit worker consuming {settings.GATEWAY_AUDIT_STREAM}")
        with redis_client() as client, acting_as("audit-worker", "gateway"):
            StreamConsumer(client, settings.GATEWAY_AUDIT_STREAM).run_forever(lambda: stopping["now"])
