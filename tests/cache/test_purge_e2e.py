"""Purges by route, by prefix and by tag, from the admin action, the admin page and the admin API, and
on their own when a cached route's configuration changes: each reaches the serving gateway (every
process, with Redis) and is recorded in the audit chain with who asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

from cache.models import CachePurge
from compliance.models import AuditEvent
from registry.models import Route
from registry.sections import save_with_sections
from registry.services import config_change
from tests.cache.conftest import Origin, cached_route, statuses, warm
from tests.cache.test_invalidation_e2e import check_writes_reach_every_process
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess

WARM = "?cc=max-age%3D300"


@pytest.fixture
def admin_user(transactional_db: None) -> User:
    return User.objects.create_superuser("cache-ops", password="s3cret-pass")


@pytest.fixture
def api(admin_user: User) -> APIClient:
    client = APIClient()
    client.force_login(admin_user)
    return client


def purge_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="gateway.cachepurge.created").order_by("seq"))


def check_purges(config: ConfigHelper, origin: Origin, api: APIClient, gateways: list[GatewayProcess]) -> None:
    route = cached_route(config, origin, "/pg")
    other = cached_route(config, origin, "/pg-other")
    shelf, book, elsewhere = f"/pg/shelf/1{WARM}", f"/pg/books/1{WARM}", f"/pg-other/shelf/1{WARM}"
    tagged = f"/pg/tagged{WARM}&tag=sale+book-1"
    warm(gateways, shelf, book, elsewhere, tagged)

    reply = api.post("/admin/api/cache-purges/", {"kind": "prefix", "route": route.name, "prefix": "/pg/shelf"})
    assert reply.status_code == 201, reply.content
    config.sync()  # the in-memory store learns of it with the table rebuild; Redis had it at once
    assert statuses(gateways[-1:], shelf) == ["MISS"]  # the first to ask refills it
    assert statuses(gateways, book) == ["HIT"] * len(gateways)
    assert statuses(gateways, elsewhere) == ["HIT"] * len(gateways)  # another route: not under this one

    reply = api.post("/admin/api/cache-purges/", {"kind": "tag", "tag": "book-1"})
    assert reply.status_code == 201, reply.content
    config.sync()
    assert statuses(gateways[-1:], tagged) == ["MISS"]  # the first to ask refills it
    assert statuses(gateways, book) == ["HIT"] * len(gateways)

    reply = api.post("/admin/api/cache-purges/", {"kind": "route", "route": route.name})
    assert reply.status_code == 201, reply.content
    config.sync()
    assert statuses(gateways[-1:], book) == ["MISS"]  # the first to ask refills it
    assert statuses(gateways, elsewhere) == ["HIT"] * len(gateways)
    assert other.pk != route.pk

    listed = api.get("/admin/api/cache-purges/").json()["results"]
    assert [p["kind"] for p in listed] == ["route", "tag", "prefix"]
    events = purge_events()
    assert len(events) == 3 and {e.actor for e in events} == {"cache-ops"} and {e.source for e in events} == {"api"}
    assert events[0].data["after"]["prefix"] == "/pg/shelf"


def test_purges_from_the_admin_api_reach_the_gateway_and_are_audited(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin, api: APIClient
) -> None:
    check_purges(config, origin, api, [gateway])


@pytest.fixture
def second_gateway(gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess().start()
    yield process
    process.stop()


@pytest.mark.needs_redis
def test_two_processes_share_entries_and_every_purge_and_write_reaches_both(
    config: ConfigHelper, gateway: GatewayProcess, second_gateway: GatewayProcess, origin: Origin, api: APIClient
) -> None:
    config.gateways.append(second_gateway)
    cached_route(config, origin, "/shared")
    first = get(gateway, f"/shared/x{WARM}")
    shared = get(second_gateway, f"/shared/x{WARM}")
    assert (first.header("x-cache-status"), shared.header("x-cache-status")) == ("MISS", "HIT")
    assert shared.body == first.body and origin.count("/x") == 1
    check_purges(config, origin, api, [gateway, second_gateway])
    assert all(p.removed is not None and p.removed >= 1 for p in CachePurge.objects.all())
    check_writes_reach_every_process(config, origin, [gateway, second_gateway])


def test_the_admin_action_and_the_admin_page_purge_and_name_the_admin(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin, admin_user: User
) -> None:
    route = cached_route(config, origin, "/pga")
    warm([gateway], f"/pga/a{WARM}", f"/pga/b{WARM}&tag=t-1")
    browser = Client()
    browser.force_login(admin_user)
    page = browser.post(
        "/admin/registry/route/", {"action": "purge_cache", "_selected_action": [route.pk]}, follow=True
    )
    assert page.status_code == 200 and "Purged the cache of 1 routes" in page.content.decode()
    config.sync()
    assert statuses([gateway], f"/pga/a{WARM}") == ["MISS"]
    get(gateway, f"/pga/b{WARM}&tag=t-1")
    assert statuses([gateway], f"/pga/b{WARM}&tag=t-1") == ["HIT"]
    page = browser.post("/admin/cache/cachepurge/add/", {"kind": "tag", "tag": "t-1"}, follow=True)
    assert page.status_code == 200
    config.sync()
    assert statuses([gateway], f"/pga/b{WARM}&tag=t-1") == ["MISS"]
    events = purge_events()
    assert [(e.actor, e.source) for e in events] == [("cache-ops", "admin")] * 2
    assert [e.data["after"]["kind"] for e in events] == ["route", "tag"]


def test_a_change_of_a_cached_routes_configuration_purges_it(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    route = cached_route(config, origin, "/pgc")
    warm([gateway], f"/pgc/a{WARM}")
    with config_change():  # as an admin page or API write: the route and its cache row, one change
        save_with_sections(Route.objects.get(pk=route.pk), {"cache_ttl": 30, "priority": 3})
    config.sync()
    assert statuses([gateway], f"/pgc/a{WARM}") == ["MISS"]
    purges = list(CachePurge.objects.filter(reason=CachePurge.Reason.ROUTE_CHANGED, route_key=f"r{route.pk}"))
    assert [(p.kind, p.route_key, p.route_name) for p in purges] == [("route", f"r{route.pk}", route.name)]
    assert purge_events()[-1].data["after"]["reason"] == "route_changed"


@pytest.mark.needs_redis
def test_a_purge_the_caches_redis_cannot_carry_out_answers_503_and_records_nothing(api: APIClient) -> None:
    with override_settings(GATEWAY_CACHE_REDIS_URL="redis://127.0.0.1:1/0"):
        reply = api.post("/admin/api/cache-purges/", {"kind": "tag", "tag": "x"})
    assert reply.status_code == 503 and reply["X-Gateway-Error"] == "cache_unavailable"
    assert reply.json()["request_id"] and not CachePurge.objects.exists()
    invalid = api.post("/admin/api/cache-purges/", {"kind": "prefix"})
    assert invalid.status_code == 422 and "prefix" in invalid.json()["errors"]
