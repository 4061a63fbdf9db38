"""A client that reads slowly slows the backend down: the gateway does not buffer without bound."""

from __future__ import annotations

import time

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend

COUNT, SIZE = 2000, 64 * 1024  # 128 MiB if the gateway took it all


def test_a_client_that_does_not_read_stops_the_backend_from_writing(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x", max_queue=4) as ws:
        ws.send(f"flood:{COUNT}:{SIZE}")
        time.sleep(2)  # the client reads nothing meanwhile
        stalled_at = ws_backend.flood_sent
        # Kernel socket buffers on both legs plus small queues: about 10 MiB here, far from the 128 MiB sent.
        assert stalled_at < 400, f"the backend wrote {stalled_at * SIZE >> 20} MiB to a client that reads nothing"

        for i in range(COUNT):
            assert ws.recv(timeout=10) == i.to_bytes(4, "big") * (SIZE // 4)
    assert ws_backend.flood_sent == COUNT
