"""A backend's Location and Content-Location naming its own address point at the gateway instead
(on by default), through a real gateway process."""

from __future__ import annotations

from urllib.parse import quote

from edge.models import EdgeDefaults
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import BackendThread, GatewayProcess


def redirect(gateway: GatewayProcess, path: str, to: str, headers: dict[str, str] | None = None) -> Reply:
    return get(gateway, f"{path}?to={quote(to, safe='')}", headers or {})


def test_a_redirect_to_the_backends_own_address_points_at_the_gateway_and_the_route(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("app", [edge_backend])
    config.route(service, "/app")
    config.sync()
    own = f"http://127.0.0.1:{edge_backend.port}"

    reply = redirect(gateway, "/app/redirect", f"{own}/login?next=/home#top")
    bare = redirect(gateway, "/app/redirect", own)

    assert reply.status == 302
    assert reply.header("location") == f"http://127.0.0.1:{gateway.port}/app/login?next=/home#top"
    assert reply.header("content-location") == reply.header("location")
    assert bare.header("location") == f"http://127.0.0.1:{gateway.port}"


def test_the_services_base_path_maps_back_to_the_routes_prefix(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("app", [edge_backend], base_path="/base")
    config.route(service, "/shop")
    config.sync()
    own = f"http://127.0.0.1:{edge_backend.port}"

    below = redirect(gateway, "/shop/redirect", f"{own}/base/cart/1")
    outside = redirect(gateway, "/shop/redirect", f"{own}/other")

    assert below.header("location") == f"http://127.0.0.1:{gateway.port}/shop/cart/1"
    assert outside.header("location") == f"http://127.0.0.1:{gateway.port}/other"


def test_the_public_url_comes_from_a_trusted_proxys_forwarded_headers(
    both: ConfigHelper, trusting_gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = both.service("app", [edge_backend])
    both.route(service, "/app")
    both.sync()
    own = f"http://127.0.0.1:{edge_backend.port}"

    reply = redirect(
        trusting_gateway,
        "/app/redirect",
        f"{own}/login",
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
    )

    assert reply.header("location") == "https://api.example.com/app/login"


def test_other_hosts_and_relative_locations_are_left_alone(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("app", [edge_backend])
    config.route(service, "/app")
    config.sync()

    for location in ("https://idp.example/authorize", "/login", f"http://127.0.0.2:{edge_backend.port}/x"):
        assert redirect(gateway, "/app/redirect", location).header("location") == location


def test_it_can_be_turned_off_per_route_and_for_all_routes(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("app", [edge_backend])
    config.route(service, "/off", rewrite_location="off")
    config.route(service, "/app")
    config.sync()
    own = f"http://127.0.0.1:{edge_backend.port}/login"

    assert redirect(gateway, "/off/redirect", own).header("location") == own
    assert redirect(gateway, "/app/redirect", own).header("location") != own

    EdgeDefaults(rewrite_location="off").save()
    config.sync()
    assert redirect(gateway, "/app/redirect", own).header("location") == own
