"""A route's cache settings through every way of configuring: YAML, the admin API, the admin page, the
routing table; and the boot checks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from rest_framework.test import APIClient

from cache.checks import check_cache
from cache.compile import NAME
from cache.models import RouteCache
from cache.policies import CachePolicy
from registry.models import Route, Service
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db

YAML = """
version: 1
services:
  - name: Shop
    slug: shop
    targets:
      - host: 10.0.0.1
        port: 80
    routes:
      - name: products
        path_prefix: /products
        cache_enabled: true
        cache_ttl: 120
        cache_vary_headers: Accept-Language
        cache_ignore_query: utm_*,fbclid
        cache_statuses: 200-299
      - name: basket
        path_prefix: /basket
"""


def apply(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=io.StringIO(), no_color=True)


def test_yaml_settings_reach_the_routing_table_and_only_cached_routes_get_the_step(tmp_path: Path) -> None:
    apply(tmp_path, YAML)
    snapshot = load_snapshot()
    products, basket = sorted(snapshot.routes, key=lambda r: r.name, reverse=True)
    spec = snapshot.extensions[NAME].routes[products.id]
    assert (spec.ttl, spec.vary, spec.statuses) == (
        120.0,
        (b"accept-language",),
        frozenset(range(200, 300)) - {206},
    )  # partial: never
    assert spec.ignore_query == frozenset({b"fbclid"}) and spec.ignore_query_prefixes == (b"utm_",)
    assert spec.methods == frozenset({"GET", "HEAD"}) and spec.route_key == f"r{products.id}"
    assert CachePolicy.for_route(products, snapshot) is not None
    assert CachePolicy.for_route(basket, snapshot) is None
    out = io.StringIO()
    call_command("gateway_export", stdout=out)
    assert "cache_ttl: 120" in out.getvalue() and "cache_vary_headers: Accept-Language" in out.getvalue()


def test_yaml_refuses_methods_that_are_not_cacheable(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        apply(tmp_path, YAML.replace("cache_ttl: 120", "cache_ttl: 120\n        cache_methods: GET,POST"))
    assert not Route.objects.exists()


def test_the_admin_api_reads_and_writes_them_flat_on_the_route() -> None:
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("ops", "ops@example.com", "x"))
    service = Service.objects.create(name="Shop", slug="shop")
    plain = api.post("/admin/api/routes/", {"name": "plain", "path_prefix": "/plain", "service": "shop"}, format="json")
    assert plain.status_code == 201, plain.json()
    assert plain.json()["cache_enabled"] is False and not RouteCache.objects.exists()  # defaults: no row
    created = api.post(
        "/admin/api/routes/",
        {"name": "cached", "path_prefix": "/cached", "service": service.slug, "cache_enabled": True, "cache_ttl": 5},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["cache_ttl"] == 5 and created.json()["cache_statuses"] == ""  # empty: the defaults
    spec = load_snapshot().extensions[NAME].routes[created.json()["id"]]
    assert spec.statuses == frozenset({200, 203, 204, 300, 301, 404, 410}) and spec.max_bytes == 1024 * 1024
    bad = api.patch(f"/admin/api/routes/{created.json()['id']}/", {"cache_vary_headers": "bad header"}, format="json")
    assert bad.status_code == 422 and "cache_vary_headers" in bad.json()["errors"]


def test_the_route_admin_page_shows_the_section_and_the_purge_action() -> None:
    browser = Client()
    browser.force_login(User.objects.create_superuser("ops", "ops@example.com", "x"))
    service = Service.objects.create(name="Shop", slug="shop")
    route = Route.objects.create(service=service, name="r", path_prefix="/r")
    page = browser.get(f"/admin/registry/route/{route.pk}/change/").content.decode()
    assert "Response cache" in page and 'name="cache_ttl"' in page
    listing = browser.get("/admin/registry/route/").content.decode()
    assert "purge_cache" in listing
    assert browser.get("/admin/cache/cachepurge/add/").status_code == 200


def test_the_checks_want_the_cache_step_after_auth_and_rate_limits() -> None:
    assert check_cache() == []
    chain = ["proxy.auth.policy.AuthPolicy", "cache.policies.CachePolicy", "ratelimit.policies.RateLimitPolicy"]
    with override_settings(GATEWAY_POLICIES=chain):
        assert [m.id for m in check_cache()] == ["cache.E001"]
    with override_settings(GATEWAY_POLICIES=chain[:1], GATEWAY_CACHE_REDIS_URL="http://x"):
        assert [m.id for m in check_cache()] == ["cache.W001", "cache.E002"]
