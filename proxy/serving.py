"""What this process serves: the current routing table, swapped in whole by the config watcher.

The data plane reads ``serving.table`` on every request; ``registry.watch`` assigns a new table
(one attribute assignment, atomic for readers) when the configuration changed. ``process_id``
names this process in shared stores (served versions, live counts).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proxy.table import RoutingTable


class Serving:
    def __init__(self) -> None:
        self.table: RoutingTable | None = None
        self.process_id = f"{socket.gethostname()}:{os.getpid()}"
        # Set when a graceful shutdown begins: /ready answers 503 so load balancers stop sending
        # new requests while the ones in flight finish (gateway_project.serve).
        self.draining = False

    @property
    def version(self) -> int | None:
        return self.table.version if self.table is not None else None


serving = Serving()
