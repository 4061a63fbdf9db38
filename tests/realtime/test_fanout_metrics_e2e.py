"""The channel fan-out in the metrics: its connections are route "ws" (not "refused before routing",
route "-"), and its messages are counted under route "ws" as the docs say."""

from __future__ import annotations

import time
import urllib.request

from tests.metrics.scrape import parse, value
from tests.realtime.fanout_helpers import channel, command, connect_client, next_message, publish, publisher, subscriber
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess


def _figures(gateway: GatewayProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"{gateway.url}/metrics", timeout=5) as response:
        samples = parse(response.read().decode())

    def get(name: str, **labels: str) -> float:
        try:
            return float(value(samples, name, **labels))
        except (KeyError, AssertionError, StopIteration):
            return 0.0

    return {
        "in": get("gateway_websocket_messages_total", route="ws", direction="in"),
        "out": get("gateway_websocket_messages_total", route="ws", direction="out"),
        "ws": get("gateway_requests_total", service="-", route="ws", status_class="1xx"),
        "unrouted": get("gateway_requests_total", service="-", route="-", status_class="1xx"),
    }


def test_fanout_connections_and_messages_are_counted_as_route_ws(config: ConfigHelper, gateway: GatewayProcess) -> None:
    channel("metrics.*", roles="orders:read")
    alice, key = subscriber(config)
    pub = publisher(config)
    config.sync()
    before = _figures(gateway)

    with connect_client(gateway, str(alice.pk), key) as ws:
        assert command(ws, "subscribe", "metrics.1")["type"] == "subscribed"
        assert publish(gateway, pub, channel="metrics.1", data=1).status == 202
        assert next_message(ws)["data"] == 1

    deadline = time.monotonic() + 5
    after = _figures(gateway)
    while after["ws"] == before["ws"] and time.monotonic() < deadline:
        time.sleep(0.1)
        after = _figures(gateway)
    assert after["ws"] == before["ws"] + 1
    assert after["unrouted"] == before["unrouted"]
    assert after["in"] == before["in"] + 1 and after["out"] == before["out"] + 1
