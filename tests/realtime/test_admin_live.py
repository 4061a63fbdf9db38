"""Staff see live connection counts per route and channel, summed over every gateway process."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from realtime.counts import KEY_PREFIX, gather
from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


@pytest.fixture
def staff_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="s3cret-pass"))
    return client


def test_the_live_page_is_for_staff_only(db: None) -> None:
    response = Client().get("/admin/realtime/live/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_live_page_and_the_channel_list_render_the_counts(staff_client: Client) -> None:
    page = staff_client.get("/admin/realtime/live/")
    channels = staff_client.get("/admin/realtime/channel/")

    assert page.status_code == 200
    assert b"Open connections by route" in page.content
    assert channels.status_code == 200
    assert b"Live connections" in channels.content


@pytest.mark.needs_redis
def test_counts_of_every_process_are_summed_from_redis(staff_client: Client) -> None:
    import redis

    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        client.set(
            KEY_PREFIX + "test-a", json.dumps({"process": "a", "routes": {"chat": 2}, "channels": {"n": 1}}), ex=30
        )
        client.set(KEY_PREFIX + "test-b", json.dumps({"process": "b", "routes": {"chat": 3}, "channels": {}}), ex=30)
        try:
            page = staff_client.get("/admin/realtime/live/")
        finally:
            client.delete(KEY_PREFIX + "test-a", KEY_PREFIX + "test-b")

    assert page.status_code == 200
    assert b"<td>chat</td><td>5</td>" in page.content
    assert b"<td>n</td><td>1</td>" in page.content


@pytest.mark.needs_redis
def test_a_gateway_process_reports_its_open_connections(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    route = ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "a"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(p["routes"].get(route.name) == 1 for p in gather()):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no process reported the connection: {gather()}")
