"""/ws/{client_id} on one gateway process (the embedded default uses the in-memory channel layer,
production the Redis one): subscriptions, channel permissions, client ids, publishing."""

from __future__ import annotations

from tests.realtime.fanout_helpers import (
    channel,
    command,
    connect_client,
    next_message,
    publish,
    publisher,
    subscriber,
)
from tests.realtime.test_handshake_refusals_e2e import refused
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess


def test_a_subscriber_receives_what_a_backend_publishes_to_its_channel(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    channel("orders.*", roles="orders:read")
    alice, key = subscriber(config)
    pub = publisher(config)
    config.sync()

    with connect_client(gateway, str(alice.pk), key) as ws:
        assert command(ws, "subscribe", "orders.42") == {"type": "subscribed", "channel": "orders.42"}
        reply = publish(gateway, pub, channel="orders.42", data={"status": "shipped"})
        assert reply.status == 202, reply
        assert next_message(ws) == {"type": "message", "channel": "orders.42", "data": {"status": "shipped"}}

        assert command(ws, "unsubscribe", "orders.42") == {"type": "unsubscribed", "channel": "orders.42"}
        publish(gateway, pub, channel="orders.42", data="not for you")
        publish(gateway, pub, client_id=f"{alice.pk}", data="direct")
        assert next_message(ws) == {"type": "message", "channel": None, "data": "direct"}


def test_a_subscription_without_a_matching_rule_or_role_is_refused(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    channel("orders.*", roles="orders:read")
    channel("news")  # any authenticated caller
    bob, key = subscriber(config, "bob", roles="other")
    config.sync()

    with connect_client(gateway, f"{bob.pk}.tab-1", key) as ws:
        assert command(ws, "subscribe", "orders.42") == {"type": "error", "error": "forbidden", "channel": "orders.42"}
        assert command(ws, "subscribe", "secrets") == {"type": "error", "error": "forbidden", "channel": "secrets"}
        assert command(ws, "subscribe", "news") == {"type": "subscribed", "channel": "news"}
        assert command(ws, "dance", "news")["error"] == "bad_message"


def test_a_client_id_of_another_consumer_or_no_credentials_is_refused_before_the_handshake(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    alice, key = subscriber(config)
    bob, _ = subscriber(config, "bob")
    config.sync()

    refused(gateway, f"/ws/{bob.pk}", "client_id_not_yours", 403, additional_headers={"Authorization": f"Bearer {key}"})
    refused(
        gateway, f"/ws/{alice.pk}0", "client_id_not_yours", 403, additional_headers={"Authorization": f"Bearer {key}"}
    )
    refused(gateway, f"/ws/{alice.pk}", "missing_credentials", 401)


def test_a_browser_can_send_its_key_as_a_subprotocol(config: ConfigHelper, gateway: GatewayProcess) -> None:
    channel("news")
    alice, key = subscriber(config)
    config.sync()

    from tests.realtime.conftest import open_ws

    with open_ws(gateway, f"/ws/{alice.pk}", subprotocols=["realtime.v1", f"bearer.{key}"]) as ws:
        assert ws.subprotocol == "realtime.v1"
        assert command(ws, "subscribe", "news")["type"] == "subscribed"


def test_publishing_needs_the_publisher_role_and_a_valid_body(config: ConfigHelper, gateway: GatewayProcess) -> None:
    _, plain = subscriber(config, "carol")
    pub = publisher(config)
    config.sync()

    assert publish(gateway, plain, channel="news", data=1).status == 403
    reply = publish(gateway, pub, channel="bad channel!", data=1)
    assert reply.status == 400
    reply.problem("invalid_message")
    assert publish(gateway, pub, data=1).status == 400
    anonymous = publish(gateway, "nope", channel="news", data=1)
    assert anonymous.status == 401


def test_a_malformed_message_gets_an_error_reply_and_the_connection_stays_open(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    channel("news")
    alice, key = subscriber(config)
    config.sync()

    with connect_client(gateway, str(alice.pk), key) as ws:
        ws.send("{}")
        assert next_message(ws)["error"] == "bad_message"
        ws.send("not json")
        assert next_message(ws)["error"] == "bad_message"
        assert command(ws, "subscribe", "news")["type"] == "subscribed"
