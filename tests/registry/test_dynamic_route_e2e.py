"""A service's dynamic route through the real gateway: the authentication it gets, and the warning
/health/detailed shows when an admin made it weaker than a route."""

from __future__ import annotations

from datetime import datetime

from registry.models import Route
from registry.sections import save_with_sections
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


def warnings(gateway: GatewayProcess) -> list[str]:
    _, body = gateway.get_json("/health/detailed")
    config = body["checks"]["config"]
    assert datetime.fromisoformat(config["built_at"]).tzinfo is not None  # ISO 8601, as every time there
    return list(config["warnings"])


def test_an_accepted_weaker_dynamic_route_is_served_and_shown_in_health_detailed(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("shop", targets=[backend], dynamic_route=True)
    config.route(service, "/shop/admin", name="shop-admin", auth_mode="api_key", required_roles="admin")
    config.sync()
    assert get(gateway, "/api/v1/shop/x").status == 401
    assert warnings(gateway) == []

    save_with_sections(service, {"dynamic_auth_mode": "none", "dynamic_weaker_auth": True})
    config.sync()

    assert get(gateway, "/api/v1/shop/x").status == 200
    assert get(gateway, "/shop/admin/x").status == 401  # the route itself keeps its authentication
    [warning] = warnings(gateway)
    assert "'Shop' (/api/v1/shop/)" in warning and "less protected than route(s) 'shop-admin'" in warning


def test_a_route_made_stricter_after_the_fact_is_not_undercut_by_the_dynamic_route(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("shop", targets=[backend])
    route = config.route(service, "/shop/admin", name="shop-admin", auth_mode="api_key")
    save_with_sections(service, {"dynamic_route": True, "dynamic_auth_mode": "api_key"})
    _, reader = config.api_key(config.consumer("reader"))
    config.sync()
    assert get(gateway, "/api/v1/shop/x", {"Authorization": f"Bearer {reader}"}).status == 200

    route.required_roles = "admin"
    route.save()
    config.sync()

    assert get(gateway, "/api/v1/shop/x", {"Authorization": f"Bearer {reader}"}).status == 403
    assert "uses the strictest route's authentication" in warnings(gateway)[0]
    Route.objects.filter(pk=route.pk).delete()
