"""Writes invalidate what they change (RFC 9111 4.4), through the real gateway to a real backend on
127.0.0.1: its path, whatever the query, variant or consumer, and its Location and Content-Location
on the same host; never for an error answer or another host; on every process (with Redis)."""

from __future__ import annotations

from urllib.parse import quote

from tests.cache.conftest import Origin, cached_route, statuses, until_hit, warm
from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import GatewayProcess

WARM = "?cc=max-age%3D300"


def test_a_put_then_a_get_sees_the_new_body(config: ConfigHelper, gateway: GatewayProcess, origin: Origin) -> None:
    cached_route(config, origin, "/inv-put")
    path = f"/inv-put/item{WARM}"
    old = get(gateway, path)
    warm([gateway], path)
    put = call(gateway, "PUT", "/inv-put/item", {"Content-Type": "application/json"}, body=b'{"name": "new"}')
    assert put.status == 200 and put.header("x-cache-status") == "BYPASS"
    assert put.header("cache-status") == "gateway; fwd=method; detail=invalidated"
    new = get(gateway, path)
    assert new.header("x-cache-status") == "MISS" and new.header("x-version") == "2" and new.body != old.body
    again = get(gateway, path)
    assert again.header("x-cache-status") == "HIT" and again.body == new.body  # and stored again
    assert origin.count("/item") == 3


def test_an_error_answer_invalidates_nothing(config: ConfigHelper, gateway: GatewayProcess, origin: Origin) -> None:
    cached_route(config, origin, "/inv-err")
    path = f"/inv-err/item{WARM}"
    kept = get(gateway, path)
    for method, status in (("PUT", 409), ("DELETE", 404), ("POST", 500)):
        refused = call(gateway, method, f"/inv-err/item?status={status}", body=b"{}")
        assert refused.status == status and refused.header("cache-status") == "gateway; fwd=method"
    origin.fail = True  # the backend answers 503
    assert call(gateway, "PATCH", "/inv-err/item", body=b"{}").status == 503
    origin.fail = False
    still = get(gateway, path)
    assert still.header("x-cache-status") == "HIT" and still.body == kept.body


def test_a_location_on_another_host_invalidates_nothing_and_on_this_host_it_does(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/inv-loc")
    a, b, c = (f"/inv-loc/{name}{WARM}" for name in ("a", "b", "c"))
    warm([gateway], a, b, c)
    elsewhere = quote("http://elsewhere.example/inv-loc/a", safe="")
    posted = call(gateway, "POST", f"/inv-loc/new?location={elsewhere}", body=b"{}")
    assert posted.status == 200 and posted.header("location") == "http://elsewhere.example/inv-loc/a"
    assert statuses([gateway], a) == ["HIT"]
    here = quote(f"http://127.0.0.1:{gateway.port}/inv-loc/b", safe="")
    posted = call(gateway, "POST", f"/inv-loc/new?location={here}&content_location=c", body=b"{}")
    assert posted.header("cache-status") == "gateway; fwd=method; detail=invalidated"
    assert statuses([gateway], a) == ["HIT"]
    assert statuses([gateway], b) == ["MISS"] and statuses([gateway], c) == ["MISS"]


def test_every_variant_and_every_consumers_entry_of_the_path_goes(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    keys = [config.api_key(config.consumer(name))[1] for name in ("inv-alice", "inv-bob")]
    service = config.service("inv-var", targets=[origin.thread])
    config.route(service, "/inv-var", cache_enabled=True, auth_mode="api_key", cache_vary_headers="Accept-Language")
    config.sync()
    readers = [{"Authorization": f"Bearer {key}", "Accept-Language": lang} for key in keys for lang in ("en", "fr")]
    path, other = f"/inv-var/item{WARM}&vary=Accept-Language", f"/inv-var/other{WARM}&vary=Accept-Language"
    for headers in readers:
        for target in (path, other):
            get(gateway, target, headers)
            until_hit([gateway], target, headers)
    fetched = origin.count("/item")
    put = call(gateway, "PUT", "/inv-var/item", readers[0], body=b"{}")
    assert put.header("cache-status") == "gateway; fwd=method; detail=invalidated"
    for headers in readers:
        reply = get(gateway, path, headers)
        assert reply.header("x-cache-status") == "MISS" and reply.header("x-version") == "2", headers
        assert statuses([gateway], other, headers) == ["HIT"], headers
    assert origin.count("/item") == fetched + 1 + 4  # the write, then one refill per variant


def check_writes_reach_every_process(config: ConfigHelper, origin: Origin, gateways: list[GatewayProcess]) -> None:
    """A write through one process invalidates what every process serves: run by
    test_purge_e2e.test_two_processes_share_entries_and_every_purge_and_write_reaches_both (with Redis),
    which starts the second process anyway."""
    cached_route(config, origin, "/inv-two")
    item, created = f"/inv-two/orders{WARM}", f"/inv-two/orders/7{WARM}"
    warm(gateways, item, created)
    posted = call(gateways[-1], "POST", "/inv-two/orders?status=201&location=%2Finv-two%2Forders%2F7", body=b"{}")
    assert posted.status == 201 and posted.header("cache-status") == "gateway; fwd=method; detail=invalidated"
    for path in (item, created):
        first = get(gateways[0], path)  # another process: nothing of its own kept the old answer
        assert first.header("x-cache-status") == "MISS" and first.header("x-version") == str(origin.version), path
        until_hit(gateways, path)
