"""Two gateway processes sharing real Redis: a publish through one reaches subscribers on the other."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.realtime.fanout_helpers import channel, command, connect_client, next_message, publish, publisher, subscriber
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres]


@pytest.fixture
def second_gateway(transactional_db: None, gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess().start()
    yield process
    process.stop()


def test_a_publish_through_one_process_reaches_subscribers_on_another(
    gateway: GatewayProcess, second_gateway: GatewayProcess
) -> None:
    config = ConfigHelper(gateways=[gateway, second_gateway])
    channel("orders.*", roles="orders:read")
    alice, key = subscriber(config)
    bob, bob_key = subscriber(config, "bob")
    pub = publisher(config)
    config.sync()

    with (
        connect_client(second_gateway, str(alice.pk), key) as on_b,
        connect_client(gateway, str(bob.pk), bob_key) as on_a,
    ):
        assert command(on_b, "subscribe", "orders.7")["type"] == "subscribed"
        assert command(on_a, "subscribe", "orders.7")["type"] == "subscribed"

        assert publish(gateway, pub, channel="orders.7", data={"n": 1}).status == 202
        assert next_message(on_b) == {"type": "message", "channel": "orders.7", "data": {"n": 1}}
        assert next_message(on_a) == {"type": "message", "channel": "orders.7", "data": {"n": 1}}

        assert publish(gateway, pub, client_id=str(alice.pk), data="only alice").status == 202
        assert next_message(on_b)["data"] == "only alice"


def test_an_unauthorized_subscription_on_another_process_receives_nothing(
    gateway: GatewayProcess, second_gateway: GatewayProcess
) -> None:
    config = ConfigHelper(gateways=[gateway, second_gateway])
    channel("orders.*", roles="orders:read")
    channel("news")
    eve, key = subscriber(config, "eve", roles="")
    pub = publisher(config)
    config.sync()

    with connect_client(second_gateway, str(eve.pk), key) as ws:
        assert command(ws, "subscribe", "orders.7") == {"type": "error", "error": "forbidden", "channel": "orders.7"}
        assert command(ws, "subscribe", "news")["type"] == "subscribed"
        publish(gateway, pub, channel="orders.7", data="secret")
        publish(gateway, pub, channel="news", data="public")
        assert json.loads(ws.recv(timeout=5)) == {"type": "message", "channel": "news", "data": "public"}
