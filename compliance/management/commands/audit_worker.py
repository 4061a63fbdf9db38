"""``manage.py audit_worker``: write audit records into the audit chain, until stopped.

With Redis (``GATEWAY_AUDIT_REDIS_URL``, default ``REDIS_URL``) it consumes the audit stream: run one
or more next to the gateway processes (each is a consumer of the same group; entries stuck with a
dead worker are claimed after a minute), and once a second it ships the spools that stopped gateway
processes left on its host into the stream. Without Redis (the embedded default) it is the chain's
writer: it ships every gateway process's spool on this host into the chain, in order; ``make run``
starts one either way. SIGTERM finishes the batch in hand and exits.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from compliance.services import redis_client, ship_local_spools
from compliance.stream import StreamConsumer
from registry.actors import acting_as

SPOOL_INTERVAL = 1.0  # with a stream: how often the spools of stopped processes are looked for


class Command(BaseCommand):
    help = "Write audit records into the audit chain: the Redis audit stream, or (without Redis) the spools."

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = {"now": False}

        def stop(signum: int, frame: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        with acting_as("audit-worker", "gateway"):
            if settings.GATEWAY_AUDIT_REDIS_URL:
                self.stdout.write(f"audit worker consuming {settings.GATEWAY_AUDIT_STREAM}")
                self._consume(lambda: stopping["now"])
            else:
                self.stdout.write(f"audit worker writing the spools in {settings.GATEWAY_AUDIT_SPOOL_DIR}")
                self._write_spools(lambda: stopping["now"])

    def _consume(self, should_stop: Any) -> None:
        last = {"spools": 0.0}

        def stop_or_ship() -> bool:
            # Between reads of the stream: the spools of stopped processes join it (same code path).
            if time.monotonic() - last["spools"] >= SPOOL_INTERVAL:
                last["spools"] = time.monotonic()
                try:
                    ship_local_spools()
                except Exception as exc:
                    self.stderr.write(f"audit worker: spools not shipped yet ({exc!r})")
            return bool(should_stop())

        with redis_client() as client:
            StreamConsumer(client, settings.GATEWAY_AUDIT_STREAM).run_forever(stop_or_ship)

    def _write_spools(self, should_stop: Any) -> None:
        interval = max(settings.GATEWAY_AUDIT_FLUSH_INTERVAL, 0.05)
        delay, failing = interval, False
        while not should_stop():
            try:
                written = ship_local_spools()
            except Exception as exc:  # the database is down: the records wait in the spools
                if not failing:
                    self.stderr.write(f"audit worker cannot write the chain ({exc!r}); retrying")
                    failing = True
                delay = min(delay * 2, 5.0)
            else:
                if failing:
                    self.stderr.write("audit worker recovered: writing the chain again")
                    failing = False
                delay = interval
                if written:
                    continue
            time.sleep(delay)
