"""The RatePolicy admin page: validation messages, saving, the shadow "would have limited" view."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from ratelimit import fallback
from ratelimit.backends import SHADOW_PREFIX
from ratelimit.models import RatePolicy
from registry.models import ConfigVersion, Route, Service

pytestmark = pytest.mark.django_db

ADD = "/admin/ratelimit/ratepolicy/add/"


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x" * 12))
    return client


@pytest.fixture
def route() -> Route:
    service = Service.objects.create(name="Orders", slug="orders")
    return Route.objects.create(service=service, name="orders", path_prefix="/orders")


def form(**overrides: Any) -> dict[str, Any]:
    values = {
        "name": "per-ip",
        "scope": "client_ip",
        "limit": "10",
        "period": "60",
        "burst": "0",
        "algorithm": "sliding_window",
        "failure_mode": "local",
        "enabled": "on",
        "all_routes": "on",
    }
    return {k: v for k, v in (values | overrides).items() if v is not None}


def test_a_policy_saved_in_the_admin_bumps_the_config_version(admin_client: Client, route: Route) -> None:
    before = ConfigVersion.objects.get(pk=1).version
    response = admin_client.post(ADD, form(all_routes=None, routes=[str(route.pk)]))
    assert response.status_code == 302, response.content[:2000]
    policy = RatePolicy.objects.get(name="per-ip")
    assert list(policy.routes.all()) == [route]
    assert ConfigVersion.objects.get(pk=1).version == before + 1  # the row and its routes: one change


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"all_routes": None}, "Attach the policy somewhere"),
        ({"scope": "header"}, "needs a header name"),
        ({"burst": "3"}, "GCRA algorithm only"),
        ({"limit": "0"}, "greater than or equal to 1"),
    ],
)
def test_the_admin_form_explains_what_is_wrong(admin_client: Client, overrides: dict[str, Any], words: str) -> None:
    response = admin_client.post(ADD, form(**overrides))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not RatePolicy.objects.exists()


def test_the_change_page_shows_would_have_limited_counts_per_consumer(admin_client: Client) -> None:
    policy = RatePolicy.objects.create(name="trial", limit=5, shadow=True, all_routes=True)
    key = f"{SHADOW_PREFIX}{policy.pk}"
    fallback.memory.shadow[key] = {"shop": 7, "(anonymous)": 2}
    try:
        if _redis_url():
            import redis

            with redis.Redis.from_url(_redis_url()) as client:
                client.hset(key, mapping={"shop": 7, "(anonymous)": 2})
        page = admin_client.get(f"/admin/ratelimit/ratepolicy/{policy.pk}/change/").content.decode()
    finally:
        fallback.memory.shadow.pop(key, None)
    assert "<td>shop</td><td>7</td>" in page and "<td>(anonymous)</td><td>2</td>" in page
    assert page.index("shop") < page.index("(anonymous)")


def _redis_url() -> str:
    from django.conf import settings

    return str(settings.GATEWAY_RATELIMIT_REDIS_URL)


def test_the_list_shows_policies_and_the_reset_action_forgets_their_counters(admin_client: Client) -> None:
    from ratelimit.backends import KEY_PREFIX

    policy = RatePolicy.objects.create(name="resettable", limit=5, all_routes=True)
    key = f"{KEY_PREFIX}{policy.pk}:w:i192.0.2.1"
    fallback.memory.states[key] = ((0, 1, 0), 2**62)
    if _redis_url():
        import redis

        with redis.Redis.from_url(_redis_url()) as client:
            client.hset(key, mapping={"w": 0, "c": 1, "p": 0})
    listing = admin_client.get("/admin/ratelimit/ratepolicy/").content.decode()
    assert "resettable" in listing
    response = admin_client.post(
        "/admin/ratelimit/ratepolicy/", {"action": "reset_counters", "_selected_action": [str(policy.pk)]}
    )
    assert response.status_code == 302
    assert key not in fallback.memory.states
    if _redis_url():
        with redis.Redis.from_url(_redis_url()) as client:
            assert not client.exists(key)
