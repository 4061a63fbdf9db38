"""Which route (and so which backend) a request reaches, and how a service spreads its load."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from registry.models import Route, Service, Target
from tests.support.config import ConfigHelper
from tests.support.http import Reply, call, connect, get
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def backend_c() -> Iterator[BackendThread]:
    server = BackendThread("backend-c").start()
    yield server
    server.stop()


def _who(reply: Reply) -> str:
    assert reply.status == 200, (reply.status, reply.body)
    return str(reply.json()["backend"])


def _path(reply: Reply) -> str:
    assert reply.status == 200, (reply.status, reply.body)
    return str(reply.json()["path"])


def test_the_longest_prefix_wins(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/shop", priority=10)
    config.route(config.service("b", targets=[backend_b]), "/shop/cart")
    config.sync()

    assert _who(get(gateway, "/shop/cart/1")) == "backend-b"
    assert _who(get(gateway, "/shop/cart")) == "backend-b"
    assert _who(get(gateway, "/shop/cartx")) == "backend-a"
    assert _who(get(gateway, "/shop/items")) == "backend-a"
    assert _path(get(gateway, "/shop/cart/1")) == "/1"


def test_a_prefix_matches_whole_segments_only(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/api2")
    config.sync()

    assert get(gateway, "/api2/x").status == 200
    assert get(gateway, "/api2").status == 200
    assert get(gateway, "/api2x").status == 404
    assert get(gateway, "/api").status == 404


def test_priority_breaks_ties_between_equal_prefixes(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/p", name="low", priority=1)
    config.route(config.service("b", targets=[backend_b]), "/p", name="high", priority=5)
    config.sync()

    assert _who(get(gateway, "/p/x")) == "backend-b"


def test_a_host_specific_route_beats_a_hostless_one(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/h", name="any")
    config.route(config.service("b", targets=[backend_b]), "/h", name="api", host="api.example.com")
    config.sync()

    assert _who(get(gateway, "/h/x", {"Host": "api.example.com"})) == "backend-b"
    assert _who(get(gateway, "/h/x", {"Host": "API.Example.COM:8080"})) == "backend-b"
    assert _who(get(gateway, "/h/x", {"Host": "www.example.com"})) == "backend-a"
    assert _who(get(gateway, "/h/x")) == "backend-a"


def test_a_host_specific_route_does_not_serve_other_hosts(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/h", host="api.example.com")
    config.sync()

    assert get(gateway, "/h/x", {"Host": "api.example.com"}).status == 200
    assert get(gateway, "/h/x", {"Host": "other.example.com"}).status == 404


def test_a_wildcard_host_matches_subdomains_only(
    config: ConfigHelper,
    gateway: GatewayProcess,
    backend: BackendThread,
    backend_b: BackendThread,
    backend_c: BackendThread,
) -> None:
    config.route(config.service("a", targets=[backend]), "/w", name="any")
    config.route(config.service("b", targets=[backend_b]), "/w", name="wild", host="*.example.com")
    config.route(config.service("c", targets=[backend_c]), "/w", name="exact", host="api.example.com")
    config.sync()

    assert _who(get(gateway, "/w/x", {"Host": "shop.example.com"})) == "backend-b"
    assert _who(get(gateway, "/w/x", {"Host": "api.example.com"})) == "backend-c"
    assert _who(get(gateway, "/w/x", {"Host": "example.com"})) == "backend-a"
    assert _who(get(gateway, "/w/x", {"Host": "shop.example.org"})) == "backend-a"
    assert _who(get(gateway, "/w/x", {"Host": "badexample.com"})) == "backend-a"


def test_routes_split_by_method_and_the_rest_get_405(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/m", name="reads", methods="GET,HEAD")
    config.route(config.service("b", targets=[backend_b]), "/m", name="writes", methods="POST,PUT")
    config.sync()

    assert _who(get(gateway, "/m/1")) == "backend-a"
    assert _who(call(gateway, "POST", "/m/1", body=b"{}")) == "backend-b"
    assert _who(call(gateway, "PUT", "/m/1", body=b"{}")) == "backend-b"
    refused = call(gateway, "DELETE", "/m/1")
    assert refused.status == 405
    assert refused.header("allow") == "GET, HEAD, POST, PUT"


def test_the_api_version_is_read_from_the_path_segment(
    config: ConfigHelper,
    gateway: GatewayProcess,
    backend: BackendThread,
    backend_b: BackendThread,
    backend_c: BackendThread,
) -> None:
    config.route(config.service("a", targets=[backend]), "/cat", name="cat-v1", api_version="v1")
    config.route(config.service("b", targets=[backend_b]), "/cat", name="cat-v2", api_version="v2")
    config.route(config.service("c", targets=[backend_c]), "/cat", name="cat")
    config.sync()

    v1 = get(gateway, "/cat/v1/items/7")
    v2 = get(gateway, "/cat/v2/items/7")
    unversioned = get(gateway, "/cat/items/7")
    unknown = get(gateway, "/cat/v3/items/7")

    assert (_who(v1), _path(v1)) == ("backend-a", "/items/7")
    assert (_who(v2), _path(v2)) == ("backend-b", "/items/7")
    assert (_who(unversioned), _path(unversioned)) == ("backend-c", "/items/7")
    assert (_who(unknown), _path(unknown)) == ("backend-c", "/v3/items/7")
    assert _who(get(gateway, "/cat/v2")) == "backend-b"
    assert _who(get(gateway, "/cat/v2x/items")) == "backend-c"


def test_the_api_version_is_read_from_a_version_header(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/cat", name="cat-v1", api_version="v1")
    config.route(config.service("b", targets=[backend_b]), "/cat", name="cat-v2", api_version="v2")
    config.sync()

    for header in ("Accept-Version", "API-Version"):
        v1 = get(gateway, "/cat/items/7", {header: "v1"})
        v2 = get(gateway, "/cat/items/7", {header: "v2"})

        assert (_who(v1), _path(v1)) == ("backend-a", "/items/7")
        assert (_who(v2), _path(v2)) == ("backend-b", "/items/7")
        assert get(gateway, "/cat/items/7", {header: "v9"}).status == 404
    assert get(gateway, "/cat/items/7").status == 404


def test_the_version_source_limits_where_the_version_is_read(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("a", targets=[backend]), "/p", api_version="v1", version_source="path")
    config.route(config.service("b", targets=[backend_b]), "/h", api_version="v1", version_source="header")
    config.sync()

    assert _who(get(gateway, "/p/v1/x")) == "backend-a"
    assert get(gateway, "/p/x", {"Accept-Version": "v1"}).status == 404
    assert _who(get(gateway, "/h/x", {"Accept-Version": "v1"})) == "backend-b"
    assert get(gateway, "/h/v1/x").status == 404


def test_the_dynamic_service_route_reaches_the_service_by_slug(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.service("inventory", targets=[backend], dynamic_route=True)
    config.service("billing", targets=[backend_b], base_path="/internal", dynamic_route=True)
    config.sync()

    inventory = get(gateway, "/api/v1/inventory/items/1?full=1")
    billing = get(gateway, "/api/v1/billing/invoices")

    assert (_who(inventory), _path(inventory), inventory.json()["query"]) == ("backend-a", "/items/1", "full=1")
    assert (_who(billing), _path(billing)) == ("backend-b", "/internal/invoices")
    assert _path(get(gateway, "/api/v1/inventory")) == "/"
    assert get(gateway, "/api/v1/inventoryx/items").status == 404


def test_the_dynamic_route_gives_404_for_unknown_disabled_and_not_opted_in_services(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.service("inventory", targets=[backend], enabled=False, dynamic_route=True)
    config.service("quiet", targets=[backend])  # a service has no dynamic route unless it opts in
    config.sync()

    for path in ("/api/v1/inventory/items", "/api/v1/nosuchthing/items", "/api/v1/quiet/items"):
        reply = get(gateway, path)
        assert reply.status == 404, path
        reply.problem("no_route")
    assert backend.count() == 0


def test_a_configured_route_beats_the_dynamic_route(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.service("inventory", targets=[backend], dynamic_route=True)
    config.route(config.service("other", targets=[backend_b]), "/api/v1/inventory/special")
    config.sync()

    assert _who(get(gateway, "/api/v1/inventory/items")) == "backend-a"
    assert _who(get(gateway, "/api/v1/inventory/special/1")) == "backend-b"


def test_django_paths_are_never_shadowed_even_by_a_root_route(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("everything", targets=[backend])
    config.route(service, "/", name="root")  # a catch-all route is valid
    # and routes written straight to the database, past the validators, do not take them either
    Route.objects.create(service=service, name="sneaky-health", path_prefix="/health")
    Route.objects.create(service=service, name="sneaky-admin", path_prefix="/admin")
    config.sync()

    health = get(gateway, "/health")
    admin = get(gateway, "/admin/")
    services = get(gateway, "/api/v1/services")

    assert health.status == 200 and health.json() == {"status": "ok"}
    assert admin.status in (301, 302) and "/admin/login/" in (admin.header("location") or "")
    assert services.status in (200, 401, 403)
    for reply in (health, admin, services):
        assert not reply.has("via")
        assert reply.header("x-backend") is None
    assert backend.count() == 0
    assert _who(get(gateway, "/anything/else")) == "backend-a"
    assert _who(get(gateway, "/healthz")) == "backend-a"
    assert _who(get(gateway, "/api/v1/servicesx")) == "backend-a"


def _weighted_service(config: ConfigHelper, algorithm: str, *targets: tuple[BackendThread, int]) -> Service:
    service = config.service("lb", lb_algorithm=algorithm)
    for server, weight in targets:
        Target.objects.create(service=service, host="127.0.0.1", port=server.port, weight=weight)
    config.route(service, "/lb")
    return service


def test_weighted_round_robin_spreads_requests_by_weight(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    _weighted_service(config, "round_robin", (backend, 300), (backend_b, 100))
    config.sync()

    served = [_who(get(gateway, f"/lb/{i}")) for i in range(40)]

    assert served.count("backend-a") == 30
    assert served.count("backend-b") == 10
    assert (backend.count(), backend_b.count()) == (30, 10)
    # smooth: never more than three in a row on the heavy target
    assert "backend-a" * 4 not in "".join(served)


def test_a_target_with_weight_zero_gets_no_traffic(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    _weighted_service(config, "round_robin", (backend, 100), (backend_b, 0))
    config.sync()

    assert {_who(get(gateway, f"/lb/{i}")) for i in range(6)} == {"backend-a"}


def test_least_connections_prefers_the_idle_target(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    _weighted_service(config, "least_connections", (backend, 100), (backend_b, 100))
    config.sync()
    slow = threading.Thread(target=get, args=(gateway, "/lb/slow?seconds=1.5"), daemon=True)
    slow.start()
    deadline = time.monotonic() + 2
    while backend.count() + backend_b.count() == 0:
        assert time.monotonic() < deadline, "the slow request never reached a backend"
        time.sleep(0.01)
    busy = "backend-a" if backend.count() else "backend-b"

    served = [_who(get(gateway, f"/lb/{i}")) for i in range(6)]
    slow.join(5)

    assert busy not in served
    # once the slow request is done, both targets take turns again
    assert {_who(get(gateway, f"/lb/{i}")) for i in range(4)} == {"backend-a", "backend-b"}


def test_least_connections_forgets_requests_that_failed_or_were_abandoned(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    service = config.service("lb", lb_algorithm="least_connections", read_timeout=0.3)
    for server in (backend, backend_b):
        Target.objects.create(service=service, host="127.0.0.1", port=server.port)
    config.route(service, "/lb", max_body_bytes=100_000)
    config.sync()

    for _ in range(2):
        assert get(gateway, "/lb/slow?seconds=1").status == 504
        assert call(gateway, "POST", "/lb/up", body=iter([b"u" * 60_000] * 4)).status == 413
        with connect(gateway) as sock:  # leaves in the middle of a streamed response
            sock.sendall(b"GET /lb/stream?mb=50 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.recv(65536)
    time.sleep(0.3)

    served = Counter(_who(get(gateway, f"/lb/{i}")) for i in range(6))

    assert served == {"backend-a": 3, "backend-b": 3}
