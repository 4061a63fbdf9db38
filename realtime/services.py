"""Publishing to fan-out subscribers: to a named channel, or to one client id.

    await publish("orders.42", {"status": "shipped"})            # every subscriber of orders.42
    await publish_to_client("42.tab-1", {"hello": "you"})        # one connection's client id
    publish_sync("orders.42", {...})                              # from sync code (Celery, views)

Delivery goes through the Channels layer: every gateway process sharing ``REDIS_URL`` delivers to
its own subscribers. Delivery is at most once and not stored: subscribers connected later miss it.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from realtime.compile import CHANNEL_RE
from realtime.fanout import CLIENT_ID_RE, MESSAGE_TYPE, channel_group, client_group


class PublishRefused(ValueError):
    """A malformed channel or client id, or data that is not JSON or too large."""


def _checked(data: Any) -> Any:
    try:
        size = len(json.dumps(data, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        raise PublishRefused("The data must be JSON.") from None
    if size > settings.GATEWAY_REALTIME_MAX_PUBLISH_BYTES:
        raise PublishRefused(f"The data is over {settings.GATEWAY_REALTIME_MAX_PUBLISH_BYTES} bytes as JSON.")
    return data


async def publish(channel: str, data: Any) -> None:
    if not CHANNEL_RE.match(channel):
        raise PublishRefused("A channel name is 1-80 of A-Z a-z 0-9 . _ -.")
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(channel_group(channel), {"type": MESSAGE_TYPE, "channel": channel, "data": _checked(data)})


async def publish_to_client(client_id: str, data: Any) -> None:
    if not CLIENT_ID_RE.match(client_id):
        raise PublishRefused("A client id is 1-128 of A-Z a-z 0-9 . _ : @ -.")
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(client_group(client_id), {"type": MESSAGE_TYPE, "channel": None, "data": _checked(data)})


def publish_sync(channel: str, data: Any) -> None:
    async_to_sync(publish)(channel, data)


def publish_to_client_sync(client_id: str, data: Any) -> None:
    async_to_sync(publish_to_client)(client_id, data)
