"""Admin sessions end after GATEWAY_ADMIN_IDLE_TIMEOUT seconds without a request (15 minutes by
default); every request restarts the count. Through a real gateway process, signed in as a browser is."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from tests.support.servers import GatewayProcess

IDLE = 3


@pytest.fixture(scope="module")
def short_sessions(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_ADMIN_IDLE_TIMEOUT": str(IDLE)}).start()
    yield process
    process.stop()


def sign_in(gateway: GatewayProcess) -> httpx.Client:
    User.objects.create_superuser("idle-admin", "idle@example.com", "a-long-test-password")
    client = httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=10)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    reply = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "idle-admin", "password": "a-long-test-password", "csrfmiddlewaretoken": token[1]},
        headers={"Referer": f"{gateway.url}/admin/login/"},
    )
    assert reply.status_code == 302 and reply.headers["location"] == "/admin/", reply.text[:500]
    assert f"Max-Age={IDLE}" in reply.headers["set-cookie"]
    return client


def test_the_default_idle_timeout_is_fifteen_minutes_and_each_request_restarts_it() -> None:
    assert settings.GATEWAY_ADMIN_IDLE_TIMEOUT == 15 * 60
    assert settings.SESSION_COOKIE_AGE == settings.GATEWAY_ADMIN_IDLE_TIMEOUT
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_an_admin_at_work_stays_signed_in_past_the_idle_timeout(
    transactional_db: None, short_sessions: GatewayProcess
) -> None:
    client = sign_in(short_sessions)
    started = time.monotonic()
    while time.monotonic() - started < IDLE * 2:
        assert client.get("/admin/").status_code == 200
        time.sleep(IDLE / 3)


def test_an_idle_admin_session_ends(transactional_db: None, short_sessions: GatewayProcess) -> None:
    client = sign_in(short_sessions)
    assert client.get("/admin/").status_code == 200
    session = client.cookies["sessionid"]

    time.sleep(IDLE + 1)
    client.cookies.clear()
    client.cookies.set("sessionid", session)  # a client that kept the cookie anyway: the server decides

    reply = client.get("/admin/")
    assert reply.status_code == 302
    assert reply.headers["location"].startswith("/admin/login/")
