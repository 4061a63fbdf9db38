"""A shadow policy on live traffic: it never rejects and adds no headers, and the admin page of the
gateway process shows who it would have limited."""

from __future__ import annotations

import urllib.request

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


def admin_page(gateway: GatewayProcess, path: str) -> str:
    """A page of the gateway process's own admin (in the embedded default its counters live there)."""
    client = Client()
    client.force_login(User.objects.create_superuser("shadow-admin", password="x" * 12))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    request = urllib.request.Request(gateway.url + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(resp.read().decode())


def test_a_shadow_policy_only_counts_and_the_admin_shows_would_have_limited_per_consumer(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("trial", targets=[backend])
    route = config.route(service, "/trial", auth_mode="api_key")
    shop, blog = config.consumer("shop"), config.consumer("blog")
    _, shop_key = config.api_key(shop)
    _, blog_key = config.api_key(blog)
    policy = make_policy("trial-limit", 2, scope=RatePolicy.Scope.CONSUMER, shadow=True, routes=[route])
    config.sync()

    def as_(key: str) -> list[int]:
        replies = [get(gateway, "/trial/x", headers={"Authorization": f"Bearer {key}"}) for _ in range(5)]
        assert not any(r.has("ratelimit") or r.has("ratelimit-policy") or r.has("x-ratelimit-limit") for r in replies)
        return [r.status for r in replies]

    assert as_(shop_key) == [200] * 5
    assert as_(blog_key)[:3] == [200] * 3
    assert backend.count() == 10

    page = admin_page(gateway, f"/admin/ratelimit/ratepolicy/{policy.pk}/change/")
    assert "<td>shop</td><td>3</td>" in page
    assert "<td>blog</td><td>3</td>" in page
